/* icbu_reflow.c - the implementation of icbu_reflow.h, compiled once.
 *
 * This is the file the build-system integrations compile: the CMake target
 * icbu_reflow::icbu_reflow, `make install`, PlatformIO (library.json),
 * Arduino (library.properties), ESP-IDF and Zephyr. Compiling it yourself is
 * the same as defining ICBU_REFLOW_IMPLEMENTATION in one of your files.
 *
 * The hash back end comes from the build (-DICBU_REFLOW_CRYPTO_MBEDTLS, _PSA,
 * _BEARSSL or _CUSTOM). Where a build cannot pass a definition (the Arduino
 * IDE), the platform picks it:
 *   ESP8266 and RP2040 Arduino cores   BearSSL, as <bearssl/bearssl.h>
 *   ESP32 (Arduino core, ESP-IDF)      mbedTLS's MD5/SHA-256 (2.28, 3.x), or
 *                                      PSA on mbedTLS 4.x (ESP-IDF 6)
 * Anywhere else, none given is the header's "define exactly one" #error. */
#if !defined(ICBU_REFLOW_CRYPTO_MBEDTLS) && !defined(ICBU_REFLOW_CRYPTO_PSA) && \
    !defined(ICBU_REFLOW_CRYPTO_BEARSSL) && !defined(ICBU_REFLOW_CRYPTO_CUSTOM)
#if defined(ARDUINO_ARCH_ESP8266) || defined(ARDUINO_ARCH_RP2040)
#define ICBU_REFLOW_CRYPTO_BEARSSL
#ifndef ICBU_REFLOW_BEARSSL_HEADER
#define ICBU_REFLOW_BEARSSL_HEADER <bearssl/bearssl.h>
#endif
#elif defined(ARDUINO_ARCH_ESP32) || defined(ESP_PLATFORM)
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
#define ICBU_REFLOW_CRYPTO_PSA
#else
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#endif
#endif
#endif

#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
