/* icbu_tls_bearssl.c - the TLS half of the icbu_net transport (see icbu_net.h)
 * over BearSSL 0.6 (TLS 1.2). Link it with icbu_net_posix.c, icbu_x509_ip.c
 * and -lbearssl.
 *
 * Trust anchors: every CERTIFICATE of the PEM CA file, decoded here with
 * br_pem_decoder and br_x509_decoder (an RSA key under 2048 bits anchors
 * nothing). Validation: the "minimal" X.509 engine (chain to an anchor,
 * validity dates, key usage, and the DNS name given to br_ssl_client_reset),
 * held to what mbedTLS's default profile accepts: no SHA-1 or MD5 signature,
 * no RSA key under 2048 bits (BearSSL's defaults take both, and RSA keys down
 * to 1017 bits). It is wrapped by a small engine of ours, which refuses a leaf
 * whose extendedKeyUsage lacks serverAuth (BR_ERR_X509_FORBIDDEN_KEY_USAGE:
 * the minimal engine ignores that extension). For an IP-literal host BearSSL
 * cannot match the name (it knows dNSName only), so no name is given to it
 * (and no SNI is sent) and the wrapper instead requires the leaf's
 * subjectAltName to hold that address as an iPAddress entry: the chain is
 * refused, with BR_ERR_X509_BAD_SERVER_NAME, before the handshake
 * completes. The connection (with its 33 KiB I/O buffer) lives on the heap
 * while it is open.
 *
 * Resumption (TLS 1.2 session IDs: BearSSL has no tickets): after a handshake
 * the session parameters (version, cipher suite, session ID, master secret)
 * are kept in the icbu_net as SESSION_BYTES bytes, and set again before the
 * next handshake. It resumed when they were offered and no certificate chain
 * reached the X.509 engine (a full handshake validates the server's). */
#include "icbu_net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#define LEAF_MAX (64u * 1024u)    /* larger leaf certificates are refused */
#define RSA_MIN_BYTES 256         /* 2048 bits: mbedTLS's default profile's least */
/* br_ssl_session_parameters as kept: version (2, big-endian), cipher suite
 * (2), session ID length (1), session ID (32), master secret (48). */
#define SESSION_BYTES (2 + 2 + 1 + 32 + 48)

/* The X.509 engine we give BearSSL: the minimal engine plus the checks of the
 * leaf it lacks (extendedKeyUsage, and the IP address for an IP-literal host). */
struct x509_ip_engine {
    const br_x509_class *vtable;  /* first: BearSSL passes &vtable */
    const br_x509_class **inner;  /* the minimal engine */
    unsigned ncert;               /* certificates started in this chain */
    int chains;                   /* chains started (none in a resumed handshake) */
    unsigned char *leaf;          /* DER of the first certificate (the server's) */
    size_t leaf_len, leaf_cap;
    int leaf_bad;
    const unsigned char *ip;      /* NULL: no IP check */
    size_t iplen;
};

struct icbu_net_tls {
    br_ssl_client_context   cc;
    br_x509_minimal_context xc;
    struct x509_ip_engine   xe;
    icbu_net               *net;
    int                     ended;    /* a send or receive failed, or the peer closed */
    int                     broken;   /* a TLS error: the session is not to be resumed */
    int                     offered;  /* a saved session was offered */
    unsigned char           ip[16];
    unsigned char           iobuf[BR_SSL_BUFSIZE_BIDI];
};

const char *icbu_net_tls_name(void)
{
    return "BearSSL 0.6";
}

/* --------------------------------------------------------- X.509 wrapper */
static struct x509_ip_engine *xe_of(const br_x509_class **ctx)
{
    return (struct x509_ip_engine *)(void *)ctx;
}

static void xe_start_chain(const br_x509_class **ctx, const char *server_name)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    xe->chains++;
    xe->ncert = 0;
    xe->leaf_len = 0;
    xe->leaf_bad = 0;
    (*xe->inner)->start_chain(xe->inner, server_name);
}

static void xe_start_cert(const br_x509_class **ctx, uint32_t length)
{
    struct x509_ip_engine *xe = xe_of(ctx);
    if (xe->ncert == 0) {
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
    if (xe->ncert == 0 && !xe->leaf_bad) {
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
    if (err == 0 && (xe->ncert == 0 || xe->leaf_bad))
        err = BR_ERR_X509_UNSUPPORTED;          /* a leaf over LEAF_MAX, or out of memory */
    if (err == 0 && !icbu_net_cert_serves_tls(xe->leaf, xe->leaf_len))
        err = BR_ERR_X509_FORBIDDEN_KEY_USAGE;  /* not for TLS servers (extendedKeyUsage) */
    if (err == 0 && xe->ip != NULL && !icbu_net_cert_has_ip(xe->leaf, xe->leaf_len, xe->ip, xe->iplen))
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

/* The parsed CA file, kept in the icbu_net from one connection to the next
 * while the file's content stays the same (decoding a system bundle costs
 * about as much as a full handshake). */
struct icbu_net_ca {
    br_x509_trust_anchor *ta;
    size_t n, cap;
};

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

/* A copy of the public key pk into the anchor: 0, or -1 out of memory. */
static int anchor_key(br_x509_trust_anchor *ta, const br_x509_pkey *pk)
{
    ta->pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
        return ta->pkey.key.rsa.n != NULL && ta->pkey.key.rsa.e != NULL ? 0 : -1;
    }
    ta->pkey.key.ec.curve = pk->key.ec.curve;
    ta->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
    ta->pkey.key.ec.qlen = pk->key.ec.qlen;
    return ta->pkey.key.ec.q != NULL ? 0 : -1;
}

void icbu_net_tls_ca_free(icbu_net *net)
{
    if (net->ca == NULL)
        return;
    anchors_free(net->ca->ta, net->ca->n);
    free(net->ca);
    net->ca = NULL;
}

/* Room for one more anchor: 0, or -1 out of memory. */
static int anchors_grow(struct icbu_net_ca *ca)
{
    size_t ncap = ca->cap ? ca->cap * 2 : 64;
    br_x509_trust_anchor *p;
    if (ca->n < ca->cap)
        return 0;
    p = (br_x509_trust_anchor *)realloc(ca->ta, ncap * sizeof *p);
    if (p == NULL)
        return -1;
    ca->ta = p;
    ca->cap = ncap;
    return 0;
}

/* The length of an RSA modulus without its leading zero bytes. */
static size_t rsa_bytes(const br_rsa_public_key *k)
{
    size_t i = 0;
    while (i < k->nlen && k->n[i] == 0)
        i++;
    return k->nlen - i;
}

/* Decodes one DER certificate into a trust anchor. 1 added, 0 skipped
 * (unsupported or undecodable, or an RSA key under RSA_MIN_BYTES: the
 * minimal engine checks no anchor's key size, and mbedTLS's default profile
 * refuses a chain to such a CA), -1 out of memory. */
static int anchor_add(struct icbu_net_ca *ca, const unsigned char *der, size_t len)
{
    br_x509_decoder_context dc;
    struct bytes dn;
    const br_x509_pkey *pk;
    br_x509_trust_anchor *ta;
    int rc;

    memset(&dn, 0, sizeof dn);
    br_x509_decoder_init(&dc, bytes_add, &dn);
    br_x509_decoder_push(&dc, der, len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL || dn.oom || (pk->key_type != BR_KEYTYPE_RSA && pk->key_type != BR_KEYTYPE_EC) ||
        (pk->key_type == BR_KEYTYPE_RSA && rsa_bytes(&pk->key.rsa) < RSA_MIN_BYTES)) {
        free(dn.p);
        return dn.oom ? -1 : 0;
    }
    if (anchors_grow(ca) != 0) {
        free(dn.p);
        return -1;
    }
    ta = &ca->ta[ca->n++];        /* counted now: anchors_free frees what it holds */
    memset(ta, 0, sizeof *ta);
    ta->dn.data = dn.p != NULL ? dn.p : dup_bytes(NULL, 0);
    ta->dn.len = dn.n;
    /* A CA certificate anchors chains; any other one is trusted directly. */
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    rc = anchor_key(ta, pk);
    return rc == 0 && ta->dn.data != NULL ? 1 : -1;
}

/* "cannot load CA file PATH: what"; returns ICBU_IO_NO_RETRY. */
static int ca_bad(struct icbu_net_tls *st, const char *what)
{
    icbu_net_say(st->net, "cannot load CA file %s: %s", icbu_net_ca_path(st->net), what);
    st->net->fault = ICBU_NET_FAULT_CA_FILE;      /* configuration: another try cannot help */
    return ICBU_IO_NO_RETRY;
}

/* The PEM decoder over the CA file: the certificate being decoded. */
struct pem_load {
    br_pem_decoder_context pc;
    struct bytes der;
    int in_cert;
};

/* Pushes len bytes of PEM text; every CERTIFICATE becomes an anchor. 0, or
 * ICBU_IO_NO_RETRY with why. */
static int pem_push(struct icbu_net_tls *st, struct pem_load *pl, const unsigned char *src, size_t len)
{
    size_t off = 0;
    while (off < len) {
        const char *name;
        off += br_pem_decoder_push(&pl->pc, src + off, len - off);
        switch (br_pem_decoder_event(&pl->pc)) {
        case BR_PEM_BEGIN_OBJ:
            name = br_pem_decoder_name(&pl->pc);
            pl->in_cert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
            pl->der.n = 0;
            br_pem_decoder_setdest(&pl->pc, pl->in_cert ? bytes_add : NULL, &pl->der);
            break;
        case BR_PEM_END_OBJ:
            if (pl->in_cert && !pl->der.oom && anchor_add(st->net->ca, pl->der.p, pl->der.n) < 0)
                pl->der.oom = 1;
            if (pl->der.oom)
                return ca_bad(st, "out of memory");
            pl->in_cert = 0;
            break;
        case BR_PEM_ERROR:
            return ca_bad(st, "malformed PEM");
        default:
            break;
        }
    }
    return 0;
}

/* Every certificate of the CA file into net->ca's anchors, read for every
 * connection and decoded only when its content differs from the one kept.
 * 0 with net->ca set, or a negative value (ICBU_IO_NO_RETRY) with why. */
static int anchors_load(struct icbu_net_tls *st)
{
    icbu_net *net = st->net;
    struct pem_load pl;
    unsigned char *file;
    size_t n;
    int rc = icbu_net_ca_fetch(net, &file, &n);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    net->ca = (struct icbu_net_ca *)calloc(1, sizeof *net->ca);
    if (net->ca == NULL) {
        free(file);
        icbu_net_say(net, "out of memory");
        return -ENOMEM;
    }
    memset(&pl, 0, sizeof pl);
    br_pem_decoder_init(&pl.pc);
    rc = pem_push(st, &pl, file, n);
    if (rc == 0)                  /* a final newline ends the last object of a file without one */
        rc = pem_push(st, &pl, (const unsigned char *)"\n", 1);
    free(file);
    free(pl.der.p);
    if (rc == 0 && net->ca->n == 0)
        rc = ca_bad(st, "no usable certificate");
    if (rc != 0)
        icbu_net_tls_ca_free(net);
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
    case BR_ERR_X509_UNSUPPORTED:     return "unsupported certificate feature "
                                             "(a SHA-1 or MD5 signature, say)";
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

static int is_x509_error(int err)
{
    return err >= BR_ERR_X509_OK && err < BR_ERR_X509_OK + 32;
}

/* BearSSL's error err, after what failed, in why; returns -EPROTO. */
static long describe_bear(icbu_net *net, const char *what, int err)
{
    const char *text = bear_error(err);
    if (is_x509_error(err))
        icbu_net_say(net, "certificate verification failed: %s (BearSSL error %d)",
                     text != NULL ? text : "invalid certificate", err);
    else if (err & BR_ERR_RECV_FATAL_ALERT)
        icbu_net_say(net, "%s: the server sent fatal alert %d", what, err & 0xFF);
    else if (err & BR_ERR_SEND_FATAL_ALERT)
        icbu_net_say(net, "%s: fatal alert %d sent", what, err & 0xFF);
    else if (text != NULL)
        icbu_net_say(net, "%s: %s (BearSSL error %d)", what, text, err);
    else
        icbu_net_say(net, "%s: BearSSL error %d", what, err);
    return -EPROTO;
}

/* ---------------------------------------------------------- engine pump */
#define PUMP_OK      0
#define PUMP_EOF     1            /* the socket closed */
#define PUMP_CLOSED  2            /* the engine closed (see last error) */

/* Puts the engine's outgoing records on the wire: 0, or a negative value (why set). */
static long send_records(struct icbu_net_tls *st, uint32_t deadline)
{
    br_ssl_engine_context *eng = &st->cc.eng;
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
        long r = icbu_net_tcp_send(st->net, buf, len, deadline);
        if (r == 0) {
            r = -EPIPE;
            icbu_net_describe(st->net->why, sizeof st->net->why, r);
        }
        if (r < 0)
            return r;
        br_ssl_engine_sendrec_ack(eng, (size_t)r);
    }
    return 0;
}

/* Moves records until one of the `want` states is reached, the engine or
 * the socket closes, or a socket error (returned, negative: why set). */
static long pump(struct icbu_net_tls *st, unsigned want, uint32_t deadline)
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
            r = send_records(st, deadline);
            if (r < 0)
                return r;
            continue;
        }
        if (s & want)
            return PUMP_OK;
        if (s & BR_SSL_RECVREC) {
            buf = br_ssl_engine_recvrec_buf(eng, &len);
            r = icbu_net_tcp_recv(st->net, buf, len, deadline);
            if (r <= 0)
                return r == 0 ? PUMP_EOF : r;
            br_ssl_engine_recvrec_ack(eng, (size_t)r);
            continue;
        }
        if ((want & BR_SSL_SENDAPP) && (s & BR_SSL_RECVAPP)) {
            icbu_net_say(st->net, "TLS: unexpected data from the server");
            return -EPROTO;
        }
        br_ssl_engine_flush(eng, 0);   /* nothing to move: push buffered data */
    }
}

/* --------------------------------------------------------------- session */
static void state_free(struct icbu_net_tls *st)
{
    free(st->xe.leaf);
    icbu_net_wipe(st, sizeof *st);  /* session keys live in the context */
    free(st);
}

/* ------------------------------------------------------------ resumption */
static void session_encode(const br_ssl_session_parameters *pp, unsigned char *b)
{
    b[0] = (unsigned char)(pp->version >> 8);
    b[1] = (unsigned char)pp->version;
    b[2] = (unsigned char)(pp->cipher_suite >> 8);
    b[3] = (unsigned char)pp->cipher_suite;
    b[4] = pp->session_id_len;
    memcpy(b + 5, pp->session_id, 32);
    memcpy(b + 37, pp->master_secret, 48);
}

/* 0, or -1 when b is not a TLS 1.2 session with a session ID. */
static int session_decode(const unsigned char *b, size_t n, br_ssl_session_parameters *pp)
{
    memset(pp, 0, sizeof *pp);
    if (n != SESSION_BYTES || b[0] != 0x03 || b[1] != 0x03 || b[4] == 0 || b[4] > 32)
        return -1;
    pp->version = BR_TLS12;
    pp->cipher_suite = (uint16_t)(b[2] << 8 | b[3]);
    pp->session_id_len = b[4];
    memcpy(pp->session_id, b + 5, 32);
    memcpy(pp->master_secret, b + 37, 48);
    return 0;
}

int icbu_net_tls_session_check(const unsigned char *p, size_t n)
{
    br_ssl_session_parameters pp;
    int rc = session_decode(p, n, &pp);
    icbu_net_wipe(&pp, sizeof pp);
    return rc;
}

/* The session saved for this peer, if any, set in the engine to be offered
 * (bytes BearSSL cannot take are dropped). */
static void session_offer(struct icbu_net_tls *st)
{
    br_ssl_session_parameters pp;
    size_t n = 0;
    const unsigned char *p = icbu_net_session_get(st->net, &n);
    if (p == NULL)
        return;
    if (session_decode(p, n, &pp) == 0) {
        br_ssl_engine_set_session_parameters(&st->cc.eng, &pp);
        st->offered = 1;
    } else {
        icbu_net_session_drop(st->net);
    }
    icbu_net_wipe(&pp, sizeof pp);
}

/* After a completed handshake: resumed or full, and the session kept when
 * the server gave it an ID (else there is nothing to resume). */
static void handshake_done(struct icbu_net_tls *st)
{
    br_ssl_session_parameters pp;
    unsigned char b[SESSION_BYTES];
    st->net->resumed = st->offered && st->xe.chains == 0;
    br_ssl_engine_get_session_parameters(&st->cc.eng, &pp);
    if (pp.session_id_len > 0 && pp.session_id_len <= 32 && pp.version == BR_TLS12) {
        session_encode(&pp, b);
        icbu_net_session_keep(st->net, b, sizeof b);
        icbu_net_wipe(b, sizeof b);
    }
    icbu_net_wipe(&pp, sizeof pp);
}

/* The client over the CA file's anchors, with the IP check for an IP-literal host;
 * reset for host. 0, or -EPROTO with why. */
static long client_setup(struct icbu_net_tls *st, const char *host)
{
    size_t iplen = icbu_net_ip_literal(host, st->ip);
    br_ssl_client_init_full(&st->cc, &st->xc, st->net->ca->ta, st->net->ca->n);
    /* What mbedTLS's default profile refuses: certificates signed with SHA-1
     * or MD5 (collisions can be made), RSA keys under 2048 bits. */
    br_x509_minimal_set_hash(&st->xc, br_md5_ID, NULL);
    br_x509_minimal_set_hash(&st->xc, br_sha1_ID, NULL);
    br_x509_minimal_set_minrsa(&st->xc, RSA_MIN_BYTES);
    br_ssl_engine_set_versions(&st->cc.eng, BR_TLS12, BR_TLS12);
    st->xe.vtable = &x509_ip_vtable;
    st->xe.inner = &st->xc.vtable;
    st->xe.ip = iplen != 0 ? st->ip : NULL;
    st->xe.iplen = iplen;
    br_ssl_engine_set_x509(&st->cc.eng, &st->xe.vtable);
    br_ssl_engine_set_buffer(&st->cc.eng, st->iobuf, sizeof st->iobuf, 1);
    session_offer(st);
    /* A DNS name: SNI, and the minimal engine matches it. An address: neither
     * (the wrapper checks the iPAddress SAN instead). */
    if (!br_ssl_client_reset(&st->cc, iplen != 0 ? NULL : host, st->offered))
        return describe_bear(st->net, "TLS setup failed", br_ssl_engine_last_error(&st->cc.eng));
    return 0;
}

/* After the handshake's pump returned r (not PUMP_OK): the value to return, with why. */
static long handshake_failed(struct icbu_net_tls *st, long r, const char *host)
{
    icbu_net *net = st->net;
    int err = br_ssl_engine_last_error(&st->cc.eng);
    char sock[200];
    if (r == ICBU_IO_TIMEOUT) {
        icbu_net_say(net, "TLS handshake timed out");
        return r;
    }
    if (r < 0) {
        icbu_net_describe(sock, sizeof sock, r);
        icbu_net_say(net, "TLS handshake failed: %s", sock);
        return r;
    }
    if (err == BR_ERR_OK) {
        icbu_net_say(net, "TLS handshake failed: connection closed by the server");
        return -ECONNRESET;
    }
    if (err == BR_ERR_X509_BAD_SERVER_NAME) {
        icbu_net_say(net, "certificate verification failed: "
                     "the certificate does not name this host (host %s)", host);
    } else {
        describe_bear(net, "TLS handshake failed", err);
        if (!is_x509_error(err))
            return -EPROTO;
    }
    net->fault = ICBU_NET_FAULT_CERTIFICATE;
    return ICBU_IO_NO_RETRY;                      /* the same certificate next time */
}

int icbu_net_tls_open(icbu_net *net, const char *host, uint32_t deadline)
{
    struct icbu_net_tls *st = (struct icbu_net_tls *)calloc(1, sizeof *st);
    long rc;
    if (st == NULL) {
        icbu_net_say(net, "out of memory");
        return -ENOMEM;
    }
    st->net = net;
    net->resumed = 0;
    rc = anchors_load(st);
    if (rc == 0)
        rc = client_setup(st, host);
    if (rc == 0 && (rc = pump(st, BR_SSL_SENDAPP | BR_SSL_RECVAPP, deadline)) != PUMP_OK)
        rc = handshake_failed(st, rc, host);
    if (rc != 0) {
        if (st->offered)
            icbu_net_session_drop(net);       /* the next handshake: a full one */
        state_free(st);
        return (int)rc;
    }
    handshake_done(st);
    net->tls = st;
    return 0;
}

/* ------------------------------------------------------------- records */
/* After a failed pump in send or receive: the value to return, why set. */
static long io_failure(struct icbu_net_tls *st, long r, const char *what)
{
    if (r < 0)
        return r;                 /* socket failure: icbu_net_tcp_* wrote why */
    if (r == PUMP_EOF) {
        icbu_net_say(st->net, "%s: connection closed by the server", what);
        return -ECONNRESET;
    }
    st->broken = 1;
    return describe_bear(st->net, what, br_ssl_engine_last_error(&st->cc.eng));
}

long icbu_net_tls_send(icbu_net *net, const unsigned char *p, size_t n, uint32_t deadline)
{
    struct icbu_net_tls *st = net->tls;
    br_ssl_engine_context *eng = &st->cc.eng;
    unsigned char *buf;
    size_t len;
    long r = pump(st, BR_SSL_SENDAPP, deadline);
    if (r != PUMP_OK) {
        st->ended = 1;
        return io_failure(st, r, "TLS send failed");
    }
    buf = br_ssl_engine_sendapp_buf(eng, &len);
    if (len > n)
        len = n;
    memcpy(buf, p, len);
    br_ssl_engine_sendapp_ack(eng, len);
    br_ssl_engine_flush(eng, 0);
    /* The record on the wire now, so that a slow peer shows as a send timeout. */
    r = send_records(st, deadline);
    if (r < 0)
        st->ended = 1;
    return r < 0 ? r : (long)len;
}

long icbu_net_tls_recv(icbu_net *net, unsigned char *p, size_t n, uint32_t deadline)
{
    struct icbu_net_tls *st = net->tls;
    br_ssl_engine_context *eng = &st->cc.eng;
    unsigned char *buf;
    size_t len;
    long r = pump(st, BR_SSL_RECVAPP, deadline);
    if (r != PUMP_OK)
        st->ended = 1;
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

int icbu_net_tls_idle(const icbu_net *net)
{
    const struct icbu_net_tls *st = net->tls;
    return st != NULL && !st->ended &&
           (br_ssl_engine_current_state(&st->cc.eng) & (BR_SSL_CLOSED | BR_SSL_RECVAPP)) == 0;
}

void icbu_net_tls_close(icbu_net *net)
{
    struct icbu_net_tls *st = net->tls;
    if (st == NULL)
        return;
    /* Best effort close_notify: sent (briefly), the reply not waited for. */
    if ((br_ssl_engine_current_state(&st->cc.eng) & BR_SSL_CLOSED) == 0) {
        br_ssl_engine_close(&st->cc.eng);
        (void)send_records(st, icbu_net_now() + 100);
    }
    if (st->broken)
        icbu_net_session_drop(net);               /* a TLS error: no resumption */
    state_free(st);
    net->tls = NULL;
}
