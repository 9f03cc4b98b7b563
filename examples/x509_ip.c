/* x509_ip.c - host helpers for the TLS examples: the common start of a TLS
 * connection, IP-literal detection and a small DER walk that finds
 * subjectAltName iPAddress entries (mbedTLS 2.28 and BearSSL 0.6 only match
 * DNS names themselves). */
#include "net.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int host_copy(const icbu_url *u, char *out, size_t cap)
{
    if (u->host.p == NULL || u->host.n == 0 || u->host.n >= cap)
        return -1;
    if (memchr(u->host.p, '\0', u->host.n) != NULL)
        return -1;
    memcpy(out, u->host.p, u->host.n);
    out[u->host.n] = '\0';
    return 0;
}

/* Shown in messages: the host, cut at 64 bytes. */
static void host_bad(char *why, size_t whylen, const icbu_url *u, const char *what)
{
    int n = u->host.n > 64 ? 64 : (int)u->host.n;
    net_say(why, whylen, "invalid host name \"%.*s%s\": %s", n, u->host.p,
            u->host.n > 64 ? "..." : "", what);
}

int host_get(const icbu_url *u, char *out, size_t cap, char *why, size_t whylen)
{
    const char *h = u->host.p;
    size_t n = u->host.n, i, label = 0;
    char what[96];
    unsigned char ip[16];
    if (h == NULL || n == 0) {
        net_say(why, whylen, "no host name");
        return ICBU_IO_NO_RETRY;
    }
    if (memchr(h, ':', n) != NULL) {        /* [IPv6] (the URL parser took the brackets) */
        if (n >= cap || n > 45 || host_copy(u, out, cap) != 0 || host_ip_literal(out, ip) != 16) {
            host_bad(why, whylen, u, "not an IPv6 address");
            return ICBU_IO_NO_RETRY;
        }
        return 0;
    }
    if (n > 254 || (n == 254 && h[253] != '.') || n >= cap) {
        net_say(what, sizeof what, "longer than 253 bytes (%lu)", (unsigned long)n);
        host_bad(why, whylen, u, what);
        return ICBU_IO_NO_RETRY;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0) {
                host_bad(why, whylen, u, "an empty label");
                return ICBU_IO_NO_RETRY;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            if (c >= 0x80)
                net_say(what, sizeof what, "byte 0x%02X cannot be in a host name "
                        "(give an international name in its xn-- form)", c);
            else if (c > 0x20 && c < 0x7F)
                net_say(what, sizeof what, "'%c' cannot be in a host name", (char)c);
            else
                net_say(what, sizeof what, "byte 0x%02X cannot be in a host name", c);
            host_bad(why, whylen, u, what);
            return ICBU_IO_NO_RETRY;
        }
        if (++label > 63) {
            host_bad(why, whylen, u, "a label longer than 63 bytes");
            return ICBU_IO_NO_RETRY;
        }
    }
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

size_t host_ip_literal(const char *host, unsigned char ip[16])
{
    if (inet_pton(AF_INET, host, ip) == 1)
        return 4;
    if (inet_pton(AF_INET6, host, ip) == 1)
        return 16;
    return 0;
}

/* One DER element at p[0..n): single-byte tag, definite length.
 * Returns 0 and sets *tag, *body (offset of the contents), *len; -1 if bad. */
static int der_next(const unsigned char *p, size_t n, unsigned *tag,
                    size_t *body, size_t *len)
{
    size_t i = 2, l;
    if (n < 2 || (p[0] & 0x1Fu) == 0x1Fu)
        return -1;
    *tag = p[0];
    l = p[1];
    if (l & 0x80u) {
        size_t k = l & 0x7Fu;
        if (k == 0 || k > 4 || n < 2 + k)
            return -1;           /* indefinite, or absurdly long */
        for (l = 0; k > 0; k--)
            l = (l << 8) | p[i++];
    }
    if (l > n - i)
        return -1;
    *body = i;
    *len = l;
    return 0;
}

/* Walks into the element at p (expected tag), giving its contents. */
static int der_enter(const unsigned char **p, size_t *n, unsigned want)
{
    unsigned tag;
    size_t body, len;
    if (der_next(*p, *n, &tag, &body, &len) != 0 || tag != want)
        return -1;
    *p += body;
    *n = len;
    return 0;
}

static int san_has_ip(const unsigned char *p, size_t n,
                      const unsigned char *ip, size_t iplen)
{
    /* extnValue OCTET STRING { GeneralNames SEQUENCE { GeneralName... } } */
    if (der_enter(&p, &n, 0x04) != 0 || der_enter(&p, &n, 0x30) != 0)
        return 0;
    while (n > 0) {
        unsigned tag;
        size_t body, len;
        if (der_next(p, n, &tag, &body, &len) != 0)
            return 0;
        if (tag == 0x87 && len == iplen && memcmp(p + body, ip, iplen) == 0)
            return 1;            /* [7] iPAddress, primitive */
        p += body + len;
        n -= body + len;
    }
    return 0;
}

int x509_ip_san_match(const unsigned char *der, size_t len,
                      const unsigned char *ip, size_t iplen)
{
    static const unsigned char oid_san[] = { 0x55, 0x1D, 0x11 };   /* 2.5.29.17 */
    const unsigned char *p = der;
    size_t n = len;

    if (der == NULL || (iplen != 4 && iplen != 16))
        return 0;
    /* Certificate SEQUENCE { tbsCertificate SEQUENCE { ..., [3] { Extensions } } } */
    if (der_enter(&p, &n, 0x30) != 0 || der_enter(&p, &n, 0x30) != 0)
        return 0;
    while (n > 0) {
        unsigned tag;
        size_t body, elen;
        if (der_next(p, n, &tag, &body, &elen) != 0)
            return 0;
        if (tag == 0xA3) {
            const unsigned char *q = p + body;
            size_t m = elen;
            if (der_enter(&q, &m, 0x30) != 0)
                return 0;
            while (m > 0) {      /* Extension SEQUENCE { OID, [BOOLEAN], OCTET STRING } */
                const unsigned char *x;
                size_t xn, b2, l2;
                unsigned t2;
                if (der_next(q, m, &t2, &b2, &l2) != 0 || t2 != 0x30)
                    return 0;
                x = q + b2;
                xn = l2;
                q += b2 + l2;
                m -= b2 + l2;
                if (der_next(x, xn, &t2, &b2, &l2) != 0 || t2 != 0x06)
                    return 0;
                if (l2 != sizeof oid_san || memcmp(x + b2, oid_san, sizeof oid_san) != 0)
                    continue;
                x += b2 + l2;
                xn -= b2 + l2;
                if (der_next(x, xn, &t2, &b2, &l2) == 0 && t2 == 0x01) {
                    x += b2 + l2;     /* critical flag */
                    xn -= b2 + l2;
                }
                return san_has_ip(x, xn, ip, iplen);
            }
            return 0;
        }
        p += body + elen;
        n -= body + elen;
    }
    return 0;
}

void *tls_begin(struct conn *c, const icbu_url *u, const char **ca_file, char *host,
                size_t host_cap, size_t state_size, int *err)
{
    void *st;
    c->why[0] = '\0';
    c->fault = NET_FAULT_NONE;
    if (host_get(u, host, host_cap, c->why, sizeof c->why) != 0) {
        c->fault = NET_FAULT_HOST;            /* the same name next time: no retry */
        *err = ICBU_IO_NO_RETRY;
        return NULL;
    }
    if (*ca_file == NULL)
        *ca_file = NET_DEFAULT_CA_FILE;
    st = calloc(1, state_size);
    if (st == NULL) {
        net_say(c->why, sizeof c->why, "out of memory");
        *err = -ENOMEM;
    }
    return st;
}
