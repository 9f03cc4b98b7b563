/* mbedTLS 2.28 configuration for the firmware images (tools/firmware.py,
 * MBEDTLS_CONFIG_FILE): MD5 and SHA-256 only, nothing that needs an
 * operating system (no time, no file system, no entropy, no threads). With
 * it the image compiles md5.c, sha256.c and platform_util.c
 * (mbedtls_platform_zeroize) and nothing else. */
#ifndef FW_MBEDTLS_CONFIG_H
#define FW_MBEDTLS_CONFIG_H
#define MBEDTLS_MD5_C
#define MBEDTLS_SHA256_C
#endif
