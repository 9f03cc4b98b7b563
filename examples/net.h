/* net.h - transports for the icbu_reflow examples: plain TCP (net_posix.c)
 * and TLS over it (tls_mbedtls.c or tls_bearssl.c: link exactly one).
 *
 *     struct conn c;
 *     uint32_t deadline = net_now_ms(NULL) + 15000;
 *     conn_init(&c);
 *     if (net_connect(&c, &url, deadline) != 0)            -> stage "connect", c.why
 *     if (url.https && tls_open(&c, &url, NULL, deadline)) -> stage "tls", c.why
 *     then c.send / c.recv (TCP, or TLS after tls_open) move the bytes;
 *     examples/icbu_reflow_cli.c wraps them as icbu_transport open/send/recv/close
 *     for icbu_report, which connects afresh for every attempt.
 *     conn_close(&c);
 *
 * Times are values of net_now_ms(), a monotonic millisecond clock that wraps
 * after 49 days; deadlines are compared by signed difference, so timeouts must
 * stay below 2^31 ms.
 *
 * Every failure leaves a human description in c->why ("connection refused
 * (-111)", "certificate verification failed: ..."). Send and receive return
 * what icbu_transport asks for: a count > 0, 0 when the peer closed, or a
 * negative value: ICBU_IO_TIMEOUT, -errno for socket errors, -EPROTO for TLS
 * protocol errors. net_connect and tls_open return ICBU_IO_NO_RETRY when
 * another try cannot help, and then c->fault says which setting is wrong.
 */
#ifndef ICBU_EXAMPLES_NET_H
#define ICBU_EXAMPLES_NET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "icbu_reflow.h"

#ifndef NET_DEFAULT_CA_FILE
#define NET_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif

struct tls_state;                 /* private to the TLS back end */

/* What a failure at or below ICBU_IO_NO_RETRY is about (c->fault): a setting
 * that must be fixed before any attempt can succeed. */
enum net_fault {
    NET_FAULT_NONE = 0,
    NET_FAULT_HOST,               /* the host name: invalid (never looked up), or no such name */
    NET_FAULT_CA_FILE,            /* the CA file: missing, not a regular file, no certificate */
    NET_FAULT_CERTIFICATE         /* the server's certificate: not trusted, or not for this host */
};

struct conn {
    int fd;                       /* -1 when not connected */
    struct tls_state *tls;        /* NULL for plain TCP */
    /* The transport callbacks: net_send/net_recv, or tls_send/tls_recv once
     * tls_open succeeded (which also sets tls_end, called by conn_close). */
    long (*send)(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms);
    long (*recv)(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms);
    void (*tls_end)(struct conn *c);
    char why[256];                /* the last failure, for people */
    enum net_fault fault;         /* set with a return at or below ICBU_IO_NO_RETRY */
};

/* ------------------------------------------------------------ net_posix.c */
void     conn_init(struct conn *c);
uint32_t net_now_ms(void *unused);               /* icbu_transport.now_ms */
uint32_t net_remaining(uint32_t deadline_ms);    /* 0 once the deadline passed */

/* Resolves u->host (getaddrinfo: not bounded by the deadline) and connects
 * to each address in turn until one answers or the deadline passes.
 * Returns 0, or ICBU_IO_TIMEOUT / -errno / -1 (name resolution) with c->why;
 * ICBU_IO_NO_RETRY (c->fault NET_FAULT_HOST) for a host name that can never
 * resolve (see host_get: refused before any lookup) or that the resolver
 * says does not exist. */
int  net_connect(struct conn *c, const icbu_url *u, uint32_t deadline_ms);
long net_send(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms);
long net_recv(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms);
/* Closes the TLS session (if any, with a best-effort close_notify) and the socket. */
void conn_close(struct conn *c);
/* snprintf that may truncate (vsnprintf: no -Wformat-truncation noise). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
void net_say(char *out, size_t cap, const char *fmt, ...);
/* The text of -errno values and ICBU_IO_TIMEOUT: "connection reset by peer (-104)". */
void net_describe(char *out, size_t cap, long rc);
/* Opens a CA file for reading: a regular file of at most NET_CA_FILE_MAX
 * bytes. The path is checked with stat() before it is opened, so a FIFO, a
 * device or a directory is refused at once (opening a FIFO would wait for a
 * writer, whatever the deadline); the open itself is non-blocking and is
 * checked again with fstat(). The open FILE, or NULL with why. */
#ifndef NET_CA_FILE_MAX
#define NET_CA_FILE_MAX (16L << 20)
#endif
FILE *net_ca_open(const char *path, char *why, size_t whylen);
/* The whole CA file (net_ca_open), NUL-terminated: *buf (malloc'd, *len bytes
 * before the NUL). 0, or -1 with why. */
int net_ca_read(const char *path, unsigned char **buf, size_t *len, char *why, size_t whylen);

/* ------------------------------------------------- tls_mbedtls.c / tls_bearssl.c
 * TLS 1.2 client over the connected socket of c, before deadline_ms.
 * The server certificate is verified against ca_file (PEM; NULL gives
 * NET_DEFAULT_CA_FILE). A DNS host name is sent as SNI and must match a
 * dNSName of the certificate (or its CN when it has no SAN). An IP-literal
 * host (127.0.0.1, ::1) sends no SNI (RFC 6066 forbids it) and must match an
 * iPAddress entry of the subjectAltName, checked by x509_ip_san_match.
 * Returns 0, or a negative value with c->why; the socket is left to conn_close. */
extern const char tls_backend_name[];
int  tls_open(struct conn *c, const icbu_url *u, const char *ca_file, uint32_t deadline_ms);
long tls_send(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms);
long tls_recv(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms);

/* ------------------------------------------------------------- x509_ip.c */
/* Copies the host of u, NUL-terminated, into out (cap bytes). 0 or -1 (too long,
 * or a NUL byte inside). */
int host_copy(const icbu_url *u, char *out, size_t cap);
/* The host of u as a C string in out (cap: at least 256), if it is a name
 * that can resolve: an IPv6 literal, or at most 253 bytes (one final '.' aside)
 * of labels of 1 to 63 letters, digits, '-' or '_'. 0, or ICBU_IO_NO_RETRY
 * with why: such a name is refused before any lookup. */
int host_get(const icbu_url *u, char *out, size_t cap, char *why, size_t whylen);
/* What both TLS back ends do first: the host as a C string (host_get), the CA
 * file (NET_DEFAULT_CA_FILE when NULL), and a zeroed state of state_size bytes.
 * NULL with *err and c->why (and c->fault) set on failure. */
void *tls_begin(struct conn *c, const icbu_url *u, const char **ca_file, char *host,
                size_t host_cap, size_t state_size, int *err);
/* 4 or 16 when host is an IPv4/IPv6 literal (the address in ip), else 0. */
size_t host_ip_literal(const char *host, unsigned char ip[16]);
/* 1 when the DER certificate has a subjectAltName iPAddress equal to ip. */
int x509_ip_san_match(const unsigned char *der, size_t len,
                      const unsigned char *ip, size_t iplen);

#endif
