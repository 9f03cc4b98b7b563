/* tls_bearssl.c - TLS transport for icbu_reflow over BearSSL 0.6.
 *
 * Trust anchors: every CERTIFICATE of the PEM CA file, decoded here with
 * br_pem_decoder and br_x509_decoder. Validation: the "minimal" X.509 engine
 * (chain to an anchor, validity dates, key usage, and the DNS name given to
 * br_ssl_client_reset), wrapped by a small engine of ours. For an IP-literal
 * host BearSSL cannot match the name (it knows dNSName only), so no name is
 * given to it (and no SNI is sent) and the wrapper instead requires the
 * leaf's subjectAltName to hold that address as an iPAddress entry: the
 * chain is refused, with BR_ERR_X509_BAD_SERVER_NAME, before the handshake
 * completes. */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

const char tls_backend_name[] = "BearSSL 0.6";

#define LEAF_MAX (64u * 1024u)    /* larger leaf certificates are refused */

/* The X.509 engine we give BearSSL: the minimal engine plus the IP check. */
struct x509_ip_engine {
    const br_x509_class *vtable;  /* first: BearSSL passes &vtable */
    const br_x509_class **inner;  /* the minimal engine */
    unsigned ncert;               /* certificates started in this chain */
    unsigned char *leaf;          /* DER of the first certificate */
    size_t leaf_len, leaf_cap;
    int leaf_bad;
    const unsigned char *ip;      /* NULL: no IP check */
    size_t iplen;
};

struct tls_state {
    br_ssl_client_context   cc;
    br_x509_minimal_context xc;
    struct x509_ip_engine   xe;
    br_x509_trust_anchor   *ta;
    size_t                  nta;
    struct conn            *c;
    unsigned char           ip[16];
    unsigned char           iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* --------------------------------------------------------- X.509 wrapper */
static struct x509_ip_engine *xe_of(const br_x509_class **ctx)
{
    return (struct x509_ip_engine *)(void *)ctx;
}

static void xe_start_chain(const br_x509_class **ctx, const char *server_name)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    xe->ncert = 0;
    xe->leaf_len = 0;
    xe->leaf_bad = 0;
    (*xe->inner)->start_chain(xe->inner, server_name);
}

static void xe_start_cert(const br_x509_class **ctx, uint32_t length)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    if (xe->ncert == 0 && xe->ip != NULL) {
        if (length > LEAF_MAX) {
            xe->leaf_bad = 1;
        } else if (length > xe->leaf_cap) {
            unsigned char *p = (unsigned char *)realloc(xe->leaf, length);
            if (p == NULL) {
                xe->leaf_bad = 1;
            } else {
                xe->leaf = p;
                xe->leaf_cap = length;
            }
        }
    }
    (*xe->inner)->start_cert(xe->inner, length);
}

static void xe_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    if (xe->ncert == 0 && xe->ip != NULL && !xe->leaf_bad) {
        if (len > xe->leaf_cap - xe->leaf_len) {
            xe->leaf_bad = 1;
        } else {
            memcpy(xe->leaf + xe->leaf_len, buf, len);
            xe->leaf_len += len;
        }
    }
    (*xe->inner)->append(xe->inner, buf, len);
}

static void xe_end_cert(const br_x509_class **ctx)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    xe->ncert++;
    (*xe->inner)->end_cert(xe->inner);
}

static unsigned xe_end_chain(const br_x509_class **ctx)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    unsigned err = (*xe->inner)->end_chain(xe->inner);
    if (err == 0 && xe->ip != NULL &&
        (xe->ncert == 0 || xe->leaf_bad ||
         !x509_ip_san_match(xe->leaf, xe->leaf_len, xe->ip, xe->iplen)))
        err = BR_ERR_X509_BAD_SERVER_NAME;
    return err;
}

static const br_x509_pkey *xe_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    const struct x509_ip_engine *xe = (const struct x509_ip_engine *)(const void *)ctx;
    return (*xe->inner)->get_pkey(xe->inner, usages);
}

static const br_x509_class x509_ip_vtable = {
    sizeof(struct x509_ip_engine),
    xe_start_chain, xe_start_cert, xe_append, xe_end_cert, xe_end_chain, xe_get_pkey
};

/* ---------------------------------------------------------- trust anchors */
struct bytes {
    unsigned char *p;
    size_t n, cap;
    int oom;
};

static void bytes_add(void *ctx, const void *src, size_t len)
{
    struct bytes *b = (struct bytes *)ctx;
    if (b->oom)
        return;
    if (len > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 1024;
        unsigned char *p;
        while (cap - b->n < len)
            cap *= 2;
        p = (unsigned char *)realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, len);
    b->n += len;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *q = (unsigned char *)malloc(n ? n : 1);
    if (q != NULL && n != 0)
        memcpy(q, p, n);
    return q;
}

static void anchors_free(br_x509_trust_anchor *ta, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(ta[i].dn.data);
        if (ta[i].pkey.key_type == BR_KEYTYPE_RSA) {
            free(ta[i].pkey.key.rsa.n);
            free(ta[i].pkey.key.rsa.e);
        } else {
            free(ta[i].pkey.key.ec.q);
        }
    }
    free(ta);
}

/* Decodes one DER certificate into a trust anchor. 1 added, 0 skipped
 * (unsupported or undecodable), -1 out of memory. */
static int anchor_add(struct tls_state *st, size_t *cap, const unsigned char *der, size_t len)
{
    br_x509_decoder_context dc;
    struct bytes dn;
    const br_x509_pkey *pk;
    br_x509_trust_anchor *ta;

    memset(&dn, 0, sizeof dn);
    br_x509_decoder_init(&dc, bytes_add, &dn);
    br_x509_decoder_push(&dc, der, len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL || dn.oom || (pk->key_type != BR_KEYTYPE_RSA && pk->key_type != BR_KEYTYPE_EC)) {
        free(dn.p);
        return dn.oom ? -1 : 0;
    }
    if (st->nta == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        br_x509_trust_anchor *p =
            (br_x509_trust_anchor *)realloc(st->ta, ncap * sizeof *p);
        if (p == NULL) {
            free(dn.p);
            return -1;
        }
        st->ta = p;
        *cap = ncap;
    }
    ta = &st->ta[st->nta];
    memset(ta, 0, sizeof *ta);
    ta->dn.data = dn.p != NULL ? dn.p : dup_bytes(NULL, 0);
    ta->dn.len = dn.n;
    /* A CA certificate anchors chains; any other one is trusted directly. */
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta->pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
        st->nta++;
        if (ta->dn.data == NULL || ta->pkey.key.rsa.n == NULL || ta->pkey.key.rsa.e == NULL)
            return -1;
    } else {
        ta->pkey.key.ec.curve = pk->key.ec.curve;
        ta->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.qlen = pk->key.ec.qlen;
        st->nta++;
        if (ta->dn.data == NULL || ta->pkey.key.ec.q == NULL)
            return -1;
    }
    return 1;
}

/* Reads every certificate of a PEM file into st->ta. 0, or -1 with why. */
static int anchors_load(struct tls_state *st, const char *path, char *why, size_t whylen)
{
    br_pem_decoder_context pc;
    struct bytes file, der;
    size_t cap = 0, off = 0;
    int in_cert = 0, rc = 0, pass;

    memset(&file, 0, sizeof file);
    memset(&der, 0, sizeof der);
    /* Checked before it is opened (no FIFO or device), read whole. */
    if (net_ca_read(path, &file.p, &file.n, why, whylen) != 0)
        return -1;

    br_pem_decoder_init(&pc);
    /* pass 0: the file; pass 1: a final newline, so that a file without one
     * still ends its last object. */
    for (pass = 0; pass < 2 && rc == 0; pass++) {
        const unsigned char *src = pass == 0 ? file.p : (const unsigned char *)"\n";
        size_t len = pass == 0 ? file.n : 1;
        off = 0;
        while (off < len && rc == 0) {
            off += br_pem_decoder_push(&pc, src + off, len - off);
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                in_cert = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0 ||
                          strcmp(br_pem_decoder_name(&pc), "X509 CERTIFICATE") == 0;
                der.n = 0;
                br_pem_decoder_setdest(&pc, in_cert ? bytes_add : NULL, &der);
                break;
            case BR_PEM_END_OBJ:
                if (in_cert && !der.oom && anchor_add(st, &cap, der.p, der.n) < 0)
                    der.oom = 1;
                if (der.oom) {
                    net_say(why, whylen, "cannot load CA file %s: out of memory", path);
                    rc = -1;
                }
                in_cert = 0;
                break;
            case BR_PEM_ERROR:
                net_say(why, whylen, "cannot load CA file %s: malformed PEM", path);
                rc = -1;
                break;
            default:
                break;
            }
        }
    }
    free(file.p);
    free(der.p);
    if (rc == 0 && st->nta == 0) {
        net_say(why, whylen, "cannot load CA file %s: no usable certificate", path);
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------------- messages */
static const char *bear_error(int err)
{
    switch (err) {
    case BR_ERR_X509_NOT_TRUSTED:     return "not signed by a trusted CA";
    case BR_ERR_X509_BAD_SERVER_NAME: return "the certificate does not name this host";
    case BR_ERR_X509_EXPIRED:         return "certificate expired or not yet valid";
    case BR_ERR_X509_TIME_UNKNOWN:    return "current time unknown";
    case BR_ERR_X509_NOT_CA:          return "issuer is not a CA";
    case BR_ERR_X509_BAD_SIGNATURE:   return "bad certificate signature";
    case BR_ERR_X509_WEAK_PUBLIC_KEY: return "public key too weak";
    case BR_ERR_X509_EMPTY_CHAIN:     return "server sent no certificate";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "key usage forbids TLS";
    case BR_ERR_X509_CRITICAL_EXTENSION:  return "unsupported critical extension";
    case BR_ERR_X509_DN_MISMATCH:     return "issuer/subject name mismatch";
    case BR_ERR_X509_UNSUPPORTED:     return "unsupported certificate feature";
    case BR_ERR_X509_WRONG_KEY_TYPE:  return "wrong key type";
    case BR_ERR_UNSUPPORTED_VERSION:  return "no common protocol version";
    case BR_ERR_BAD_CIPHER_SUITE:     return "no acceptable cipher suite";
    case BR_ERR_BAD_MAC:              return "bad record MAC";
    case BR_ERR_BAD_SIGNATURE:        return "bad handshake signature";
    case BR_ERR_BAD_HANDSHAKE:        return "bad handshake message";
    case BR_ERR_BAD_FINISHED:         return "bad Finished message";
    case BR_ERR_UNEXPECTED:           return "unexpected message";
    case BR_ERR_NO_RANDOM:            return "no random source";
    case BR_ERR_WRONG_KEY_USAGE:      return "server key usage does not fit the cipher suite";
    default:                          return NULL;
    }
}

static void describe_bear(char *out, size_t cap, const char *what, int err)
{
    const char *text = bear_error(err);
    if (err >= BR_ERR_X509_OK && err < BR_ERR_X509_OK + 32)
        net_say(out, cap, "certificate verification failed: %s (BearSSL error %d)",
                 text != NULL ? text : "invalid certificate", err);
    else if (err & BR_ERR_RECV_FATAL_ALERT)
        net_say(out, cap, "%s: the server sent fatal alert %d", what, err & 0xFF);
    else if (err & BR_ERR_SEND_FATAL_ALERT)
        net_say(out, cap, "%s: fatal alert %d sent", what, err & 0xFF);
    else if (text != NULL)
        net_say(out, cap, "%s: %s (BearSSL error %d)", what, text, err);
    else
        net_say(out, cap, "%s: BearSSL error %d", what, err);
}

/* ---------------------------------------------------------- engine pump */
#define PUMP_OK      0
#define PUMP_EOF     1            /* the socket closed */
#define PUMP_CLOSED  2            /* the engine closed (see last error) */

/* Moves records until one of the `want` states is reached, the engine or
 * the socket closes, or a socket error (returned, negative: c->why set). */
static long pump(struct tls_state *st, unsigned want, uint32_t deadline)
{
    br_ssl_engine_context *eng = &st->cc.eng;
    for (;;) {
        unsigned s = br_ssl_engine_current_state(eng);
        unsigned char *buf;
        size_t len;
        long r;
        if (s & BR_SSL_CLOSED)
            return PUMP_CLOSED;
        if (s & BR_SSL_SENDREC) {
            buf = br_ssl_engine_sendrec_buf(eng, &len);
            r = net_send(st->c, buf, len, net_remaining(deadline));
            if (r == 0) {
                r = -EPIPE;
                net_describe(st->c->why, sizeof st->c->why, r);
            }
            if (r < 0)
                return r;
            br_ssl_engine_sendrec_ack(eng, (size_t)r);
            continue;
        }
        if (s & want)
            return PUMP_OK;
        if (s & BR_SSL_RECVREC) {
            buf = br_ssl_engine_recvrec_buf(eng, &len);
            r = net_recv(st->c, buf, len, net_remaining(deadline));
            if (r == 0)
                return PUMP_EOF;
            if (r < 0)
                return r;
            br_ssl_engine_recvrec_ack(eng, (size_t)r);
            continue;
        }
        if ((want & BR_SSL_SENDAPP) && (s & BR_SSL_RECVAPP)) {
            net_say(st->c->why, sizeof st->c->why,
                     "TLS: unexpected data from the server");
            return -EPROTO;
        }
        br_ssl_engine_flush(eng, 0);   /* nothing to move: push buffered data */
    }
}

static void state_free(struct tls_state *st)
{
    free(st->xe.leaf);
    anchors_free(st->ta, st->nta);
    memset(st, 0, sizeof *st);      /* session keys live in the context */
    free(st);
}

static void tls_end(struct conn *c)
{
    struct tls_state *st = c->tls;
    if (st == NULL)
        return;
    /* Best effort close_notify: send it (briefly), do not wait for the reply. */
    if ((br_ssl_engine_current_state(&st->cc.eng) & BR_SSL_CLOSED) == 0) {
        uint32_t deadline = net_now_ms(NULL) + 100;
        char keep[sizeof c->why];
        memcpy(keep, c->why, sizeof keep);
        br_ssl_engine_close(&st->cc.eng);
        while (br_ssl_engine_current_state(&st->cc.eng) & BR_SSL_SENDREC) {
            size_t len;
            unsigned char *rec = br_ssl_engine_sendrec_buf(&st->cc.eng, &len);
            long r = net_send(c, rec, len, net_remaining(deadline));
            if (r <= 0)
                break;
            br_ssl_engine_sendrec_ack(&st->cc.eng, (size_t)r);
        }
        memcpy(c->why, keep, sizeof keep);
    }
    state_free(st);
    c->tls = NULL;
}

int tls_open(struct conn *c, const icbu_url *u, const char *ca_file, uint32_t deadline_ms)
{
    struct tls_state *st;
    char host[256];
    size_t iplen;
    long r;
    int begin_err = 0;

    st = (struct tls_state *)tls_begin(c, u, &ca_file, host, sizeof host, sizeof *st, &begin_err);
    if (st == NULL)
        return begin_err;
    st->c = c;
    if (anchors_load(st, ca_file, c->why, sizeof c->why) != 0) {
        state_free(st);
        c->fault = NET_FAULT_CA_FILE;
        return ICBU_IO_NO_RETRY;                  /* configuration: another try cannot help */
    }
    iplen = host_ip_literal(host, st->ip);

    br_ssl_client_init_full(&st->cc, &st->xc, st->ta, st->nta);
    br_ssl_engine_set_versions(&st->cc.eng, BR_TLS12, BR_TLS12);
    st->xe.vtable = &x509_ip_vtable;
    st->xe.inner = &st->xc.vtable;
    st->xe.ip = iplen != 0 ? st->ip : NULL;
    st->xe.iplen = iplen;
    br_ssl_engine_set_x509(&st->cc.eng, &st->xe.vtable);
    br_ssl_engine_set_buffer(&st->cc.eng, st->iobuf, sizeof st->iobuf, 1);
    /* A DNS name: SNI, and the minimal engine matches it. An address: neither
     * (the wrapper checks the iPAddress SAN instead). */
    if (!br_ssl_client_reset(&st->cc, iplen != 0 ? NULL : host, 0)) {
        describe_bear(c->why, sizeof c->why, "TLS setup failed",
                      br_ssl_engine_last_error(&st->cc.eng));
        state_free(st);
        return -EPROTO;
    }

    r = pump(st, BR_SSL_SENDAPP | BR_SSL_RECVAPP, deadline_ms);
    if (r != PUMP_OK) {
        int err = br_ssl_engine_last_error(&st->cc.eng);
        if (r == ICBU_IO_TIMEOUT) {
            net_say(c->why, sizeof c->why, "TLS handshake timed out");
        } else if (r < 0) {
            char sock[200];
            net_describe(sock, sizeof sock, r);
            net_say(c->why, sizeof c->why, "TLS handshake failed: %s", sock);
        } else if (err == BR_ERR_X509_BAD_SERVER_NAME) {
            net_say(c->why, sizeof c->why, "certificate verification failed: "
                    "the certificate does not name this host (host %s)", host);
            r = ICBU_IO_NO_RETRY;                 /* the same certificate next time */
            c->fault = NET_FAULT_CERTIFICATE;
        } else if (err != BR_ERR_OK) {
            describe_bear(c->why, sizeof c->why, "TLS handshake failed", err);
            r = err >= BR_ERR_X509_OK && err < BR_ERR_X509_OK + 32 ? ICBU_IO_NO_RETRY : -EPROTO;
            if (r == ICBU_IO_NO_RETRY)
                c->fault = NET_FAULT_CERTIFICATE;
        } else {
            net_say(c->why, sizeof c->why,
                     "TLS handshake failed: connection closed by the server");
            r = -ECONNRESET;
        }
        state_free(st);
        return (int)r;
    }
    c->tls = st;
    c->send = tls_send;
    c->recv = tls_recv;
    c->tls_end = tls_end;
    return 0;
}

/* After a failed pump in send or receive: the value to return, c->why set. */
static long io_failure(struct tls_state *st, long r, const char *what)
{
    int err = br_ssl_engine_last_error(&st->cc.eng);
    if (r < 0)
        return r;                 /* socket failure: net_* wrote c->why */
    if (r == PUMP_EOF) {
        net_say(st->c->why, sizeof st->c->why, "%s: connection closed by the server", what);
        return -ECONNRESET;
    }
    describe_bear(st->c->why, sizeof st->c->why, what, err);
    return -EPROTO;
}

long tls_send(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    struct tls_state *st = c->tls;
    br_ssl_engine_context *eng = &st->cc.eng;
    uint32_t deadline = net_now_ms(NULL) + timeout_ms;
    unsigned char *buf;
    size_t len;
    long r;

    r = pump(st, BR_SSL_SENDAPP, deadline);
    if (r != PUMP_OK)
        return io_failure(st, r, "TLS send failed");
    buf = br_ssl_engine_sendapp_buf(eng, &len);
    if (len > n)
        len = n;
    memcpy(buf, p, len);
    br_ssl_engine_sendapp_ack(eng, len);
    br_ssl_engine_flush(eng, 0);
    /* Put the record on the wire now, so a slow peer shows as a send timeout. */
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
        size_t reclen;
        unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &reclen);
        r = net_send(c, rec, reclen, net_remaining(deadline));
        if (r == 0) {
            r = -EPIPE;
            net_describe(c->why, sizeof c->why, r);
        }
        if (r < 0)
            return r;
        br_ssl_engine_sendrec_ack(eng, (size_t)r);
    }
    return (long)len;
}

long tls_recv(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    struct tls_state *st = c->tls;
    br_ssl_engine_context *eng = &st->cc.eng;
    unsigned char *buf;
    size_t len;
    long r;

    r = pump(st, BR_SSL_RECVAPP, net_now_ms(NULL) + timeout_ms);
    if (r == PUMP_EOF)
        return 0;                 /* bare TCP close: HTTP framing decides */
    if (r == PUMP_CLOSED && br_ssl_engine_last_error(eng) == BR_ERR_OK)
        return 0;                 /* close_notify */
    if (r != PUMP_OK)
        return io_failure(st, r, "TLS receive failed");
    buf = br_ssl_engine_recvapp_buf(eng, &len);
    if (len > n)
        len = n;
    memcpy(p, buf, len);
    br_ssl_engine_recvapp_ack(eng, len);
    return (long)len;
}
