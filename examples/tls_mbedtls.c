/* tls_mbedtls.c - TLS transport for icbu_reflow over mbedTLS 2.28, 3.6 or 4.x.
 * Certificate verification is required; see net.h for the host name rules.
 * `make test` runs it against Debian's 2.28 (TLS 1.2), and `make test-compat`
 * against 3.6 (default configuration and MBEDTLS_DEPRECATED_REMOVED) and 4.0
 * (TLS 1.2 and 1.3 each). Only non-deprecated calls of each version are used.
 *   2.28: randomness from CTR_DRBG over the entropy module.
 *   3.x:  the same; psa_crypto_init() before the handshake when TLS 1.3 or
 *         PSA is configured, as MBEDTLS_SSL_PROTO_TLS1_3's documentation
 *         requires (3.6.0 fails the handshake without it).
 *   4.x:  no CTR_DRBG, entropy or mbedtls_ssl_conf_rng in the public API:
 *         the TLS stack draws from PSA's generator, after psa_crypto_init(). */
#include "net.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>   /* only for MBEDTLS_ERR_NET_* */
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
#define TLS_PSA_RNG 1              /* 4.x: PSA is the only random generator */
#define TLS_NEEDS_PSA 1
#else
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && \
    (defined(MBEDTLS_SSL_PROTO_TLS1_3) || defined(MBEDTLS_USE_PSA_CRYPTO))
#define TLS_NEEDS_PSA 1
#endif
#endif
#ifdef TLS_NEEDS_PSA
#include <psa/crypto.h>
#endif

/* Calls to make again: the I/O would block, or (TLS 1.3, 3.6 and 4.x) a
 * NewSessionTicket arrived, which 4.0 signals by default from ssl_read. */
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#define TLS_AGAIN(rc) ((rc) == MBEDTLS_ERR_SSL_WANT_READ || (rc) == MBEDTLS_ERR_SSL_WANT_WRITE || \
                       (rc) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#define TLS_AGAIN(rc) ((rc) == MBEDTLS_ERR_SSL_WANT_READ || (rc) == MBEDTLS_ERR_SSL_WANT_WRITE)
#endif

const char tls_backend_name[] = "mbedTLS " MBEDTLS_VERSION_STRING;

struct tls_state {
#ifndef TLS_PSA_RNG
    mbedtls_entropy_context  entropy;
    mbedtls_ctr_drbg_context drbg;
#endif
    mbedtls_x509_crt         ca;
    mbedtls_ssl_config       conf;
    mbedtls_ssl_context      ssl;
    struct conn  *c;
    uint32_t      deadline;       /* of the operation in progress */
    long          io_err;         /* socket failure seen by the bio callbacks */
    int           io_eof;         /* socket closed by the peer */
    unsigned char ip[16];         /* the host, when it is an IP literal */
    size_t        iplen;
};

/* ------------------------------------------------------------ socket bio */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls_state *st = (struct tls_state *)ctx;
    long r;
    if (len > (size_t)INT_MAX)
        len = (size_t)INT_MAX;
    r = net_send(st->c, buf, len, net_remaining(st->deadline));
    if (r > 0)
        return (int)r;
    st->io_err = r < 0 ? r : -EPIPE;
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_state *st = (struct tls_state *)ctx;
    long r;
    if (len > (size_t)INT_MAX)
        len = (size_t)INT_MAX;
    r = net_recv(st->c, buf, len, net_remaining(st->deadline));
    if (r > 0)
        return (int)r;
    if (r == 0) {
        st->io_eof = 1;
        return 0;                 /* mbedTLS: MBEDTLS_ERR_SSL_CONN_EOF */
    }
    st->io_err = r;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* For IP-literal hosts: the leaf must carry the address as an iPAddress SAN. */
static int verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct tls_state *st = (struct tls_state *)ctx;
    if (depth == 0 && !x509_ip_san_match(crt->raw.p, crt->raw.len, st->ip, st->iplen))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static void describe_mbed(char *out, size_t cap, const char *what, int rc)
{
    char text[160];
    mbedtls_strerror(rc, text, sizeof text);
    net_say(out, cap, "%s: %s (-0x%04X)", what, text, (unsigned)-rc);
}

/* The reason an operation failed, in c->why; the value to return. */
static long failure(struct tls_state *st, const char *what, int rc)
{
    struct conn *c = st->c;
    if (st->io_err != 0) {
        char sock[160];
        net_describe(sock, sizeof sock, st->io_err);
        net_say(c->why, sizeof c->why, "%s: %s", what, sock);
        return st->io_err;
    }
    if (st->io_eof || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        net_say(c->why, sizeof c->why, "%s: connection closed by the server", what);
        return -ECONNRESET;
    }
    describe_mbed(c->why, sizeof c->why, what, rc);
    return -EPROTO;
}

static void state_free(struct tls_state *st)
{
    mbedtls_ssl_free(&st->ssl);
    mbedtls_ssl_config_free(&st->conf);
    mbedtls_x509_crt_free(&st->ca);
#ifndef TLS_PSA_RNG
    mbedtls_ctr_drbg_free(&st->drbg);
    mbedtls_entropy_free(&st->entropy);
#endif
    free(st);
}

static void tls_end(struct conn *c)
{
    struct tls_state *st = c->tls;
    if (st == NULL)
        return;
    st->deadline = net_now_ms(NULL) + 100;   /* best effort close_notify */
    st->io_err = 0;
    (void)mbedtls_ssl_close_notify(&st->ssl);
    state_free(st);
    c->tls = NULL;
}

int tls_open(struct conn *c, const icbu_url *u, const char *ca_file, uint32_t deadline_ms)
{
#ifndef TLS_PSA_RNG
    static const char pers[] = "icbu-reflow";
#endif
    struct tls_state *st;
    char host[256];
    int rc, begin_err = 0;
    long ret;

    st = (struct tls_state *)tls_begin(c, u, &ca_file, host, sizeof host, sizeof *st, &begin_err);
    if (st == NULL)
        return begin_err;
    st->c = c;
    st->deadline = deadline_ms;
    st->iplen = host_ip_literal(host, st->ip);
#ifndef TLS_PSA_RNG
    mbedtls_entropy_init(&st->entropy);
    mbedtls_ctr_drbg_init(&st->drbg);
#endif
    mbedtls_x509_crt_init(&st->ca);
    mbedtls_ssl_config_init(&st->conf);
    mbedtls_ssl_init(&st->ssl);

#ifdef TLS_NEEDS_PSA
    if (psa_crypto_init() != PSA_SUCCESS) {              /* once per process; again is a no-op */
        net_say(c->why, sizeof c->why, "PSA crypto initialisation failed");
        goto fail;
    }
#endif
#ifndef TLS_PSA_RNG
    rc = mbedtls_ctr_drbg_seed(&st->drbg, mbedtls_entropy_func, &st->entropy,
                               (const unsigned char *)pers, sizeof pers - 1);
    if (rc != 0) {
        describe_mbed(c->why, sizeof c->why, "random generator", rc);
        goto fail;
    }
#endif
    /* The file is read once, by net_ca_read (checked before it is opened:
     * no FIFO or device), and parsed from memory: mbedtls_x509_crt_parse_file
     * would open the path again. Like that function, a PEM buffer is given
     * with its final NUL. A positive value counts certificates that failed to
     * parse (bundles hold some mbedTLS does not support); what matters is
     * that one was loaded. */
    {
        unsigned char *pem = NULL;
        size_t pem_len = 0;
        if (net_ca_read(ca_file, &pem, &pem_len, c->why, sizeof c->why) != 0) {
            state_free(st);
            c->fault = NET_FAULT_CA_FILE;
            return ICBU_IO_NO_RETRY;              /* configuration: another try cannot help */
        }
        if (strstr((const char *)pem, "-----BEGIN ") != NULL)
            pem_len++;
        rc = mbedtls_x509_crt_parse(&st->ca, pem, pem_len);
        free(pem);
    }
    if (rc < 0 || st->ca.raw.p == NULL) {
        char what[300];
        net_say(what, sizeof what, "cannot load CA file %s", ca_file);
        if (rc < 0)
            describe_mbed(c->why, sizeof c->why, what, rc);
        else
            net_say(c->why, sizeof c->why, "%s: no usable certificate", what);
        state_free(st);
        c->fault = NET_FAULT_CA_FILE;
        return ICBU_IO_NO_RETRY;
    }
    rc = mbedtls_ssl_config_defaults(&st->conf, MBEDTLS_SSL_IS_CLIENT,
                                     MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        describe_mbed(c->why, sizeof c->why, "TLS configuration", rc);
        goto fail;
    }
    mbedtls_ssl_conf_authmode(&st->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&st->conf, &st->ca, NULL);
#ifndef TLS_PSA_RNG
    mbedtls_ssl_conf_rng(&st->conf, mbedtls_ctr_drbg_random, &st->drbg);
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03010000                              /* TLS 1.2+ */
    mbedtls_ssl_conf_min_tls_version(&st->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&st->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    rc = mbedtls_ssl_setup(&st->ssl, &st->conf);
    if (rc != 0) {
        describe_mbed(c->why, sizeof c->why, "TLS setup", rc);
        goto fail;
    }
    if (st->iplen != 0) {
        /* No SNI for an address; mbedTLS would match it against DNS names
         * only, so the name check is ours (verify_ip), during the handshake. */
        rc = mbedtls_ssl_set_hostname(&st->ssl, NULL);
        mbedtls_ssl_set_verify(&st->ssl, verify_ip, st);
    } else {
        rc = mbedtls_ssl_set_hostname(&st->ssl, host);   /* SNI and name check */
    }
    if (rc != 0) {
        describe_mbed(c->why, sizeof c->why, "TLS host name", rc);
        goto fail;
    }
    mbedtls_ssl_set_bio(&st->ssl, st, bio_send, bio_recv, NULL);

    do
        rc = mbedtls_ssl_handshake(&st->ssl);
    while (TLS_AGAIN(rc));
    if (rc != 0) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&st->ssl);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0) {
            char info[512];
            size_t i, k;
            mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
            for (i = 0, k = 0; info[i] != '\0'; i++) {      /* one line: "a; b" */
                if (info[i] == '\n') {
                    if (info[i + 1] != '\0') {
                        info[k++] = ';';
                        info[k++] = ' ';
                    }
                } else {
                    info[k++] = info[i];
                }
            }
            info[k] = '\0';
            if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
                net_say(c->why, sizeof c->why,
                        "certificate verification failed: %s (host %s)", info, host);
            else
                net_say(c->why, sizeof c->why, "certificate verification failed: %s", info);
            ret = ICBU_IO_NO_RETRY;               /* the same certificate next time */
            c->fault = NET_FAULT_CERTIFICATE;
        } else if (st->io_err == ICBU_IO_TIMEOUT) {
            net_say(c->why, sizeof c->why, "TLS handshake timed out");
            ret = ICBU_IO_TIMEOUT;
        } else {
            ret = failure(st, "TLS handshake failed", rc);
        }
        state_free(st);
        return (int)ret;
    }
    c->tls = st;
    c->send = tls_send;
    c->recv = tls_recv;
    c->tls_end = tls_end;
    return 0;

fail:
    state_free(st);
    return -EPROTO;
}

long tls_send(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    struct tls_state *st = c->tls;
    int rc;
    if (n > (size_t)INT_MAX)
        n = (size_t)INT_MAX;
    st->deadline = net_now_ms(NULL) + timeout_ms;
    st->io_err = 0;
    do
        rc = mbedtls_ssl_write(&st->ssl, p, n);
    while (TLS_AGAIN(rc));
    if (rc > 0)
        return rc;
    if (st->io_err != 0)          /* c->why already says it */
        return st->io_err;
    return failure(st, "TLS send failed", rc);
}

long tls_recv(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    struct tls_state *st = c->tls;
    int rc;
    if (n > (size_t)INT_MAX)
        n = (size_t)INT_MAX;
    st->deadline = net_now_ms(NULL) + timeout_ms;
    st->io_err = 0;
    do
        rc = mbedtls_ssl_read(&st->ssl, p, n);
    while (TLS_AGAIN(rc));
    if (rc > 0)
        return rc;
    /* close_notify, or a bare TCP close (common: the HTTP layer's framing
     * tells a complete answer from a cut one). */
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
        (rc == MBEDTLS_ERR_SSL_CONN_EOF && st->io_err == 0))
        return 0;
    if (st->io_err != 0)
        return st->io_err;
    return failure(st, "TLS receive failed", rc);
}
