/* icbu_tls_mbedtls.c - the TLS half of the icbu_net transport (see icbu_net.h)
 * over mbedTLS 2.28, 3.6 or 4.x. Link it with icbu_net_posix.c, icbu_x509_ip.c
 * and -lmbedtls -lmbedx509 -lmbedcrypto (4.x: -lmbedtls -lmbedx509 -ltfpsacrypto).
 *
 * Certificate verification is required (TLS 1.2 at least). `make test` runs it
 * against Debian's 2.28 (TLS 1.2), and `make test-compat` against 3.6 (default
 * configuration and MBEDTLS_DEPRECATED_REMOVED) and 4.0 (TLS 1.2 and 1.3 each).
 * Only non-deprecated calls of each version are used.
 *   2.28: randomness from CTR_DRBG over the entropy module.
 *   3.x:  the same; psa_crypto_init() before the handshake when TLS 1.3 or
 *         PSA is configured, as MBEDTLS_SSL_PROTO_TLS1_3's documentation
 *         requires (3.6.0 fails the handshake without it).
 *   4.x:  no CTR_DRBG, entropy or mbedtls_ssl_conf_rng in the public API:
 *         the TLS stack draws from PSA's generator, after psa_crypto_init().
 * psa_crypto_init() is called for every connection where it is needed (again
 * is a no-op); the connection lives on the heap while it is open.
 *
 * Resumption: the session is exported (mbedtls_ssl_get_session, then
 * mbedtls_ssl_session_save's bytes kept in the icbu_net) after a TLS 1.2
 * handshake, and for TLS 1.3 whenever a NewSessionTicket arrived (3.6 signals
 * them once asked to, 4.x always: MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
 * from mbedtls_ssl_read). The next handshake loads those bytes and offers them
 * (mbedtls_ssl_set_session). TLS 1.3 resumes in the PSK-with-(EC)DHE mode
 * only. A handshake resumed when the session was offered and no certificate
 * reached the verify callback (a full handshake verifies the server's). */
#include "icbu_net.h"

#include <errno.h>
#include <limits.h>
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
 * NewSessionTicket arrived (see ticket_arrived). */
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#define TLS_TICKET(rc) ((rc) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#define TLS_TICKET(rc) 0
#endif
#define TLS_AGAIN(rc) ((rc) == MBEDTLS_ERR_SSL_WANT_READ || (rc) == MBEDTLS_ERR_SSL_WANT_WRITE || \
                       TLS_TICKET(rc))
/* A certificate refused after its chain verified: its key usage or extended
 * key usage does not allow a TLS server (mbedTLS sets verify flags, and
 * returns this rather than MBEDTLS_ERR_X509_CERT_VERIFY_FAILED). */
#ifdef MBEDTLS_ERR_SSL_BAD_CERTIFICATE
#define TLS_BAD_CERT MBEDTLS_ERR_SSL_BAD_CERTIFICATE                   /* 3.x, 4.x */
#else
#define TLS_BAD_CERT MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE                /* 2.28 */
#endif
/* 3.6 tells of TLS 1.3 tickets only when asked to (4.x always does). */
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED) && \
    defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS)
#define TLS_ASK_TICKETS 1
#endif

struct icbu_net_tls {
#ifndef TLS_PSA_RNG
    mbedtls_entropy_context  entropy;
    mbedtls_ctr_drbg_context drbg;
#endif
    mbedtls_ssl_config       conf;
    mbedtls_ssl_context      ssl;
    icbu_net     *net;
    uint32_t      deadline;       /* of the operation in progress */
    long          io_err;         /* socket failure seen by the bio callbacks */
    int           io_eof;         /* socket closed by the peer */
    int           ended;          /* a send or receive failed, or the peer closed */
    int           broken;         /* a TLS error: the session is not to be resumed */
    int           offered;        /* a saved session was offered */
    unsigned      verified;       /* certificates the verify callback saw */
    unsigned char ip[16];         /* the host, when it is an IP literal */
    size_t        iplen;
};

const char *icbu_net_tls_name(void)
{
    return "mbedTLS " MBEDTLS_VERSION_STRING;
}

/* ------------------------------------------------------------ socket bio */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct icbu_net_tls *st = (struct icbu_net_tls *)ctx;
    long r = icbu_net_tcp_send(st->net, buf, len > (size_t)INT_MAX ? (size_t)INT_MAX : len,
                               st->deadline);
    if (r > 0)
        return (int)r;
    st->io_err = r < 0 ? r : -EPIPE;
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct icbu_net_tls *st = (struct icbu_net_tls *)ctx;
    long r = icbu_net_tcp_recv(st->net, buf, len > (size_t)INT_MAX ? (size_t)INT_MAX : len,
                               st->deadline);
    if (r > 0)
        return (int)r;
    if (r == 0) {
        st->io_eof = 1;
        return 0;                 /* mbedTLS: MBEDTLS_ERR_SSL_CONN_EOF */
    }
    st->io_err = r;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* Every certificate of the chain, after mbedTLS's own checks: counted (none
 * in a resumed handshake), and for IP-literal hosts the leaf must carry the
 * address as an iPAddress SAN. */
static int verify_cert(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct icbu_net_tls *st = (struct icbu_net_tls *)ctx;
    st->verified++;
    if (st->iplen != 0 && depth == 0 &&
        !icbu_net_cert_has_ip(crt->raw.p, crt->raw.len, st->ip, st->iplen))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

/* ------------------------------------------------------------- messages */
/* "what: mbedTLS's text (-0xNNNN)" in why; returns -EPROTO. */
static int describe_mbed(icbu_net *net, const char *what, int rc)
{
    char text[160];
    mbedtls_strerror(rc, text, sizeof text);
    icbu_net_say(net, "%s: %s (-0x%04X)", what, text, (unsigned)-rc);
    return -EPROTO;
}

/* The reason an operation failed, in why; the value to return. */
static long failure(struct icbu_net_tls *st, const char *what, int rc)
{
    icbu_net *net = st->net;
    if (st->io_err != 0) {
        char sock[160];
        icbu_net_describe(sock, sizeof sock, st->io_err);
        icbu_net_say(net, "%s: %s", what, sock);
        return st->io_err;
    }
    if (st->io_eof || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        icbu_net_say(net, "%s: connection closed by the server", what);
        return -ECONNRESET;
    }
    st->broken = 1;
    return describe_mbed(net, what, rc);
}

/* mbedTLS's verification report on one line ("a; b"), in info (cap > 0),
 * cut to fit. The report is written into a buffer of its own: "; " is longer
 * than the '\n' it replaces, so joining in place would write ahead of what
 * is still to be read (two or more faults: past info's end). */
static void verify_info(uint32_t flags, char *info, size_t cap)
{
    char lines[512];
    size_t i, k;
    lines[0] = '\0';
    (void)mbedtls_x509_crt_verify_info(lines, sizeof lines, "", flags);
    lines[sizeof lines - 1] = '\0';
    for (i = 0, k = 0; lines[i] != '\0' && k + 2 < cap; i++) {
        if (lines[i] != '\n')
            info[k++] = lines[i];
        else if (lines[i + 1] != '\0') {
            info[k++] = ';';
            info[k++] = ' ';
        }
    }
    info[k] = '\0';
}

/* --------------------------------------------------------------- session */
static void state_free(struct icbu_net_tls *st)
{
    mbedtls_ssl_free(&st->ssl);
    mbedtls_ssl_config_free(&st->conf);
#ifndef TLS_PSA_RNG
    mbedtls_ctr_drbg_free(&st->drbg);
    mbedtls_entropy_free(&st->entropy);
#endif
    free(st);
}

static struct icbu_net_tls *state_new(icbu_net *net, const char *host)
{
    struct icbu_net_tls *st = (struct icbu_net_tls *)calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->net = net;
    st->iplen = icbu_net_ip_literal(host, st->ip);
#ifndef TLS_PSA_RNG
    mbedtls_entropy_init(&st->entropy);
    mbedtls_ctr_drbg_init(&st->drbg);
#endif
    mbedtls_ssl_config_init(&st->conf);
    mbedtls_ssl_init(&st->ssl);
    return st;
}

/* PSA where this version needs it, and the random generator. 0 or -EPROTO. */
static int rng_setup(struct icbu_net_tls *st)
{
#ifndef TLS_PSA_RNG
    static const char pers[] = "icbu-reflow";
    int rc;
#endif
#ifdef TLS_NEEDS_PSA
    if (psa_crypto_init() != PSA_SUCCESS) {              /* once per process; again is a no-op */
        icbu_net_say(st->net, "PSA crypto initialisation failed");
        return -EPROTO;
    }
#endif
#ifndef TLS_PSA_RNG
    rc = mbedtls_ctr_drbg_seed(&st->drbg, mbedtls_entropy_func, &st->entropy,
                               (const unsigned char *)pers, sizeof pers - 1);
    if (rc != 0)
        return describe_mbed(st->net, "random generator", rc);
#endif
    return 0;
}

/* The parsed CA file, kept in the icbu_net from one connection to the next
 * while the file's content stays the same (parsing a system bundle costs more
 * than a full handshake). */
struct icbu_net_ca {
    mbedtls_x509_crt crt;
};

void icbu_net_tls_ca_free(icbu_net *net)
{
    if (net->ca == NULL)
        return;
    mbedtls_x509_crt_free(&net->ca->crt);
    free(net->ca);
    net->ca = NULL;
}

/* The CA file, read for every connection (icbu_net_ca_fetch: checked before
 * it is opened, so no FIFO or device) and parsed from memory when its content
 * differs from the one kept: mbedtls_x509_crt_parse_file would open the path
 * again. Like that function, a PEM buffer is given with its final NUL. A
 * positive value counts certificates that failed to parse (bundles hold some
 * mbedTLS does not support); what matters is that one was loaded. 0 with
 * net->ca set, or ICBU_IO_NO_RETRY. */
static int ca_load(struct icbu_net_tls *st)
{
    icbu_net *net = st->net;
    unsigned char *pem = NULL;
    size_t pem_len = 0;
    char text[160];
    int rc = icbu_net_ca_fetch(net, &pem, &pem_len);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    net->ca = (struct icbu_net_ca *)calloc(1, sizeof *net->ca);
    if (net->ca == NULL) {
        free(pem);
        icbu_net_say(net, "out of memory");
        return -ENOMEM;
    }
    mbedtls_x509_crt_init(&net->ca->crt);
    if (strstr((const char *)pem, "-----BEGIN ") != NULL)
        pem_len++;
    rc = mbedtls_x509_crt_parse(&net->ca->crt, pem, pem_len);
    free(pem);
    if (rc >= 0 && net->ca->crt.raw.p != NULL)
        return 0;
    icbu_net_tls_ca_free(net);
    if (rc < 0) {
        mbedtls_strerror(rc, text, sizeof text);
        icbu_net_say(net, "cannot load CA file %s: %s (-0x%04X)", icbu_net_ca_path(net), text,
                     (unsigned)-rc);
    } else {
        icbu_net_say(net, "cannot load CA file %s: no usable certificate", icbu_net_ca_path(net));
    }
    net->fault = ICBU_NET_FAULT_CA_FILE;
    return ICBU_IO_NO_RETRY;
}

/* The client's configuration, the session over it, the name check and the bio. 0 or -EPROTO. */
static int session_setup(struct icbu_net_tls *st, const char *host)
{
    int rc = mbedtls_ssl_config_defaults(&st->conf, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0)
        return describe_mbed(st->net, "TLS configuration", rc);
    mbedtls_ssl_conf_authmode(&st->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&st->conf, &st->net->ca->crt, NULL);
#ifndef TLS_PSA_RNG
    mbedtls_ssl_conf_rng(&st->conf, mbedtls_ctr_drbg_random, &st->drbg);
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03010000                              /* TLS 1.2+ */
    mbedtls_ssl_conf_min_tls_version(&st->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&st->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* Resumption keeps an (EC)DHE exchange: a stolen ticket opens no traffic. */
    mbedtls_ssl_conf_tls13_key_exchange_modes(&st->conf,
                                              MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ALL);
#endif
#ifdef TLS_ASK_TICKETS
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &st->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
    if ((rc = mbedtls_ssl_setup(&st->ssl, &st->conf)) != 0)
        return describe_mbed(st->net, "TLS setup", rc);
    /* An address: no SNI; mbedTLS would match it against DNS names only, so
     * the name check is ours (verify_cert), during the handshake. */
    rc = mbedtls_ssl_set_hostname(&st->ssl, st->iplen != 0 ? NULL : host);  /* SNI, name check */
    if (rc != 0)
        return describe_mbed(st->net, "TLS host name", rc);
    mbedtls_ssl_set_verify(&st->ssl, verify_cert, st);
    mbedtls_ssl_set_bio(&st->ssl, st, bio_send, bio_recv, NULL);
    return 0;
}

/* ------------------------------------------------------------ resumption */
/* The session saved for this peer, if any, offered for the handshake (a
 * session mbedTLS cannot load is dropped). */
static void session_offer(struct icbu_net_tls *st)
{
    mbedtls_ssl_session s;
    size_t n = 0;
    const unsigned char *p = icbu_net_session_get(st->net, &n);
    if (p == NULL)
        return;
    mbedtls_ssl_session_init(&s);
    if (mbedtls_ssl_session_load(&s, p, n) == 0 && mbedtls_ssl_set_session(&st->ssl, &s) == 0)
        st->offered = 1;
    else
        icbu_net_session_drop(st->net);
    mbedtls_ssl_session_free(&s);
}

int icbu_net_tls_session_check(const unsigned char *p, size_t n)
{
    mbedtls_ssl_session s;
    int rc;
    mbedtls_ssl_session_init(&s);
    rc = mbedtls_ssl_session_load(&s, p, n);
    mbedtls_ssl_session_free(&s);
    return rc == 0 ? 0 : -1;
}

/* The connection's session, kept in the icbu_net for the next handshake
 * (nothing changes when mbedTLS has none to give). */
static void session_export(struct icbu_net_tls *st)
{
    mbedtls_ssl_session s;
    unsigned char *buf;
    size_t len = 0;
    mbedtls_ssl_session_init(&s);
    if (mbedtls_ssl_get_session(&st->ssl, &s) == 0) {
        (void)mbedtls_ssl_session_save(&s, NULL, 0, &len);
        buf = len > 0 && len <= ICBU_NET_SESSION_MAX ? (unsigned char *)malloc(len) : NULL;
        if (buf != NULL) {
            if (mbedtls_ssl_session_save(&s, buf, len, &len) == 0)
                icbu_net_session_keep(st->net, buf, len);
            icbu_net_wipe(buf, len);
            free(buf);
        }
    }
    mbedtls_ssl_session_free(&s);
}

/* After a completed handshake: resumed or full, and a TLS 1.2 session kept
 * (TLS 1.3 sessions come with the tickets, later). */
static void handshake_done(struct icbu_net_tls *st)
{
    st->net->resumed = st->offered && st->verified == 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    if (mbedtls_ssl_get_version_number(&st->ssl) != MBEDTLS_SSL_VERSION_TLS1_2)
        return;
#endif
    session_export(st);
}

/* rc, after a NewSessionTicket (TLS 1.3) was taken into the icbu_net. */
static int ticket_arrived(struct icbu_net_tls *st, int rc)
{
    if (TLS_TICKET(rc))
        session_export(st);
    return rc;
}

/* The handshake: 0, or the value to return with why (and fault). */
static long handshake(struct icbu_net_tls *st, const char *host)
{
    icbu_net *net = st->net;
    uint32_t flags;
    char info[512];
    int rc;
    do
        rc = ticket_arrived(st, mbedtls_ssl_handshake(&st->ssl));
    while (TLS_AGAIN(rc));
    if (rc == 0) {
        handshake_done(st);
        return 0;
    }
    flags = mbedtls_ssl_get_verify_result(&st->ssl);
    if ((rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || rc == TLS_BAD_CERT) && flags != 0) {
        verify_info(flags, info, sizeof info);
        if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
            icbu_net_say(net, "certificate verification failed: %s (host %s)", info, host);
        else
            icbu_net_say(net, "certificate verification failed: %s", info);
        net->fault = ICBU_NET_FAULT_CERTIFICATE;
        return ICBU_IO_NO_RETRY;                  /* the same certificate next time */
    }
    if (st->io_err == ICBU_IO_TIMEOUT) {
        icbu_net_say(net, "TLS handshake timed out");
        return ICBU_IO_TIMEOUT;
    }
    return failure(st, "TLS handshake failed", rc);
}

int icbu_net_tls_open(icbu_net *net, const char *host, uint32_t deadline)
{
    struct icbu_net_tls *st = state_new(net, host);
    long rc;
    if (st == NULL) {
        icbu_net_say(net, "out of memory");
        return -ENOMEM;
    }
    st->deadline = deadline;
    rc = rng_setup(st);
    if (rc == 0)
        rc = ca_load(st);
    net->resumed = 0;
    if (rc == 0)
        rc = session_setup(st, host);
    if (rc == 0) {
        session_offer(st);
        rc = handshake(st, host);
    }
    if (rc != 0) {
        if (st->offered)
            icbu_net_session_drop(net);       /* the next handshake: a full one */
        state_free(st);
        return (int)rc;
    }
    net->tls = st;
    return 0;
}

/* ------------------------------------------------------------- records */
/* One mbedtls_ssl_write (out) or mbedtls_ssl_read (in) before the deadline:
 * what it returned, or the socket's failure (st->io_err: why is set). */
static int tls_io(struct icbu_net_tls *st, const unsigned char *out, unsigned char *in, size_t n,
                  uint32_t deadline)
{
    int rc;
    if (n > (size_t)INT_MAX)
        n = (size_t)INT_MAX;
    st->deadline = deadline;
    st->io_err = 0;
    do
        rc = ticket_arrived(st, out != NULL ? mbedtls_ssl_write(&st->ssl, out, n)
                                            : mbedtls_ssl_read(&st->ssl, in, n));
    while (TLS_AGAIN(rc));
    return rc;
}

long icbu_net_tls_send(icbu_net *net, const unsigned char *p, size_t n, uint32_t deadline)
{
    struct icbu_net_tls *st = net->tls;
    int rc = tls_io(st, p, NULL, n, deadline);
    if (rc > 0)
        return rc;
    st->ended = 1;
    if (st->io_err != 0)          /* why already says it */
        return st->io_err;
    return failure(st, "TLS send failed", rc);
}

long icbu_net_tls_recv(icbu_net *net, unsigned char *p, size_t n, uint32_t deadline)
{
    struct icbu_net_tls *st = net->tls;
    int rc = tls_io(st, NULL, p, n, deadline);
    if (rc > 0)
        return rc;
    st->ended = 1;
    /* close_notify, or a bare TCP close (common: the HTTP layer's framing
     * tells a complete answer from a cut one). */
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
        (rc == MBEDTLS_ERR_SSL_CONN_EOF && st->io_err == 0))
        return 0;
    if (st->io_err != 0)
        return st->io_err;
    return failure(st, "TLS receive failed", rc);
}

int icbu_net_tls_idle(const icbu_net *net)
{
    const struct icbu_net_tls *st = net->tls;
    return st != NULL && !st->ended && mbedtls_ssl_get_bytes_avail(&st->ssl) == 0 &&
           !mbedtls_ssl_check_pending(&st->ssl);
}

void icbu_net_tls_close(icbu_net *net)
{
    struct icbu_net_tls *st = net->tls;
    if (st == NULL)
        return;
    st->deadline = icbu_net_now() + 100;          /* best effort close_notify */
    st->io_err = 0;
    (void)mbedtls_ssl_close_notify(&st->ssl);
    if (st->broken)
        icbu_net_session_drop(net);               /* a TLS error: no resumption */
    state_free(st);
    net->tls = NULL;
}
