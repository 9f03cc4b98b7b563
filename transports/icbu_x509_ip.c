/* icbu_x509_ip.c - for the TLS files of the icbu_net transport (see icbu_net.h):
 * does a certificate name an IP address? BearSSL 0.6 and mbedTLS 2.28 match
 * DNS names only, so for https://127.0.0.1/ the TLS file checks the leaf
 * certificate's subjectAltName iPAddress entries here, with a small DER walk
 * (single-byte tags, definite lengths). And may it serve TLS? BearSSL's
 * minimal engine ignores extendedKeyUsage, so its TLS file checks the leaf's
 * here (mbedTLS checks it itself). Plain C99, no library. */
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
 * the extnValue (its OCTET STRING element) of the extension oid in (*v, *vn): 0;
 * 1 when there is no such extension, -1 when the list is not DER this walk reads. */
static int find_ext(const unsigned char *p, size_t n, const unsigned char *oid_want, size_t oid_len,
                    const unsigned char **v, size_t *vn)
{
    if (der_enter(&p, &n, 0x30) != 0)
        return -1;
    while (n > 0) {
        const unsigned char *x, *oid, *flag;
        size_t xn, oidn, flagn;
        unsigned tag;
        if (der_take(&p, &n, &tag, &x, &xn) != 0 || tag != 0x30 ||
            der_take(&x, &xn, &tag, &oid, &oidn) != 0 || tag != 0x06)
            return -1;
        if (oidn != oid_len || memcmp(oid, oid_want, oid_len) != 0)
            continue;
        *v = x;
        *vn = xn;
        if (der_take(&x, &xn, &tag, &flag, &flagn) == 0 && tag == 0x01) {
            *v = x;               /* past the critical flag */
            *vn = xn;
        }
        return 0;
    }
    return 1;
}

/* The certificate's extensions ([3]'s contents) in (*p, *n): 0; 1 when it
 * has none, -1 when it is not DER this walk reads. */
static int find_exts(const unsigned char *der, size_t len, const unsigned char **p, size_t *n)
{
    const unsigned char *c;
    size_t cn;
    unsigned tag;
    *p = der;
    *n = len;
    /* Certificate SEQUENCE { tbsCertificate SEQUENCE { ..., [3] { Extensions } } } */
    if (der == NULL || der_enter(p, n, 0x30) != 0 || der_enter(p, n, 0x30) != 0)
        return -1;
    while (*n > 0) {
        if (der_take(p, n, &tag, &c, &cn) != 0)
            return -1;
        if (tag == 0xA3) {
            *p = c;
            *n = cn;
            return 0;
        }
    }
    return 1;
}

int icbu_net_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen)
{
    static const unsigned char oid_san[] = { 0x55, 0x1D, 0x11 };   /* 2.5.29.17 */
    const unsigned char *p, *san;
    size_t n, sann;
    if (iplen != 4 && iplen != 16)
        return 0;
    return find_exts(der, len, &p, &n) == 0 &&
           find_ext(p, n, oid_san, sizeof oid_san, &san, &sann) == 0 &&
           san_has_ip(san, sann, ip, iplen);
}

/* extnValue OCTET STRING { ExtKeyUsageSyntax SEQUENCE { KeyPurposeId OID ... } }:
 * serverAuth (1.3.6.1.5.5.7.3.1) or anyExtendedKeyUsage (2.5.29.37.0) in it? */
static int eku_serves(const unsigned char *p, size_t n)
{
    static const unsigned char server_auth[] = { 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
    static const unsigned char any_eku[] = { 0x55, 0x1D, 0x25, 0x00 };
    unsigned tag;
    const unsigned char *c;
    size_t cn;
    if (der_enter(&p, &n, 0x04) != 0 || der_enter(&p, &n, 0x30) != 0)
        return 0;
    while (n > 0) {
        if (der_take(&p, &n, &tag, &c, &cn) != 0 || tag != 0x06)
            return 0;
        if ((cn == sizeof server_auth && memcmp(c, server_auth, cn) == 0) ||
            (cn == sizeof any_eku && memcmp(c, any_eku, cn) == 0))
            return 1;
    }
    return 0;
}

int icbu_net_cert_serves_tls(const unsigned char *der, size_t len)
{
    static const unsigned char oid_eku[] = { 0x55, 0x1D, 0x25 };   /* 2.5.29.37 */
    const unsigned char *p, *eku;
    size_t n, ekun;
    int rc = find_exts(der, len, &p, &n);
    if (rc == 0)
        rc = find_ext(p, n, oid_eku, sizeof oid_eku, &eku, &ekun);
    if (rc != 0)
        return rc > 0;            /* no extendedKeyUsage: any use; a walk that failed: none */
    return eku_serves(eku, ekun);
}
