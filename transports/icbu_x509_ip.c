/* icbu_x509_ip.c - for the TLS files of the icbu_net transport (see icbu_net.h):
 * does a certificate name an IP address? BearSSL 0.6 and mbedTLS 2.28 match
 * DNS names only, so for https://127.0.0.1/ the TLS file checks the leaf
 * certificate's subjectAltName iPAddress entries here, with a small DER walk
 * (single-byte tags, definite lengths). Plain C99, no library. */
#include "icbu_net.h"

#include <string.h>

/* The DER element at p[0..n): 0 with *tag, *body (the offset of its contents)
 * and *len; -1 when it is not one (or a multi-byte tag, or indefinite). */
static int der_next(const unsigned char *p, size_t n, unsigned *tag, size_t *body, size_t *len)
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

/* Takes the element at *p off the front of (*p, *n): its tag and contents. */
static int der_take(const unsigned char **p, size_t *n, unsigned *tag,
                    const unsigned char **c, size_t *cn)
{
    size_t body, len;
    if (der_next(*p, *n, tag, &body, &len) != 0)
        return -1;
    *c = *p + body;
    *cn = len;
    *p += body + len;
    *n -= body + len;
    return 0;
}

/* (*p, *n) becomes the contents of the element at *p, which must have tag want. */
static int der_enter(const unsigned char **p, size_t *n, unsigned want)
{
    unsigned tag;
    const unsigned char *c;
    size_t cn;
    if (der_take(p, n, &tag, &c, &cn) != 0 || tag != want)
        return -1;
    *p = c;
    *n = cn;
    return 0;
}

/* extnValue OCTET STRING { GeneralNames SEQUENCE { GeneralName ... } }: an
 * iPAddress ([7], primitive) equal to ip? */
static int san_has_ip(const unsigned char *p, size_t n, const unsigned char *ip, size_t iplen)
{
    unsigned tag;
    const unsigned char *c;
    size_t cn;
    if (der_enter(&p, &n, 0x04) != 0 || der_enter(&p, &n, 0x30) != 0)
        return 0;
    while (n > 0) {
        if (der_take(&p, &n, &tag, &c, &cn) != 0)
            return 0;
        if (tag == 0x87 && cn == iplen && memcmp(c, ip, iplen) == 0)
            return 1;
    }
    return 0;
}

/* In [3] { Extensions SEQUENCE { Extension SEQUENCE { OID, [BOOLEAN], OCTET STRING } } }:
 * the subjectAltName's extnValue (its OCTET STRING element) in (*v, *vn). */
static int find_san(const unsigned char *p, size_t n, const unsigned char **v, size_t *vn)
{
    static const unsigned char oid_san[] = { 0x55, 0x1D, 0x11 };   /* 2.5.29.17 */
    if (der_enter(&p, &n, 0x30) != 0)
        return -1;
    while (n > 0) {
        const unsigned char *x, *oid, *flag;
        size_t xn, oidn, flagn;
        unsigned tag;
        if (der_take(&p, &n, &tag, &x, &xn) != 0 || tag != 0x30 ||
            der_take(&x, &xn, &tag, &oid, &oidn) != 0 || tag != 0x06)
            return -1;
        if (oidn != sizeof oid_san || memcmp(oid, oid_san, sizeof oid_san) != 0)
            continue;
        *v = x;
        *vn = xn;
        if (der_take(&x, &xn, &tag, &flag, &flagn) == 0 && tag == 0x01) {
            *v = x;               /* past the critical flag */
            *vn = xn;
        }
        return 0;
    }
    return -1;
}

int icbu_net_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen)
{
    const unsigned char *p = der, *c, *san;
    size_t n = len, cn, sann;
    unsigned tag;
    if (der == NULL || (iplen != 4 && iplen != 16))
        return 0;
    /* Certificate SEQUENCE { tbsCertificate SEQUENCE { ..., [3] { Extensions } } } */
    if (der_enter(&p, &n, 0x30) != 0 || der_enter(&p, &n, 0x30) != 0)
        return 0;
    while (n > 0) {
        if (der_take(&p, &n, &tag, &c, &cn) != 0)
            return 0;
        if (tag == 0xA3)
            return find_san(c, cn, &san, &sann) == 0 && san_has_ip(san, sann, ip, iplen);
    }
    return 0;
}
