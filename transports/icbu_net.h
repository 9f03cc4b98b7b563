/* icbu_net.h - an icbu_transport over TCP (POSIX sockets), with TLS for https://
 * URLs, for icbu_report() and icbu_exchange(). Copy these files into your program:
 *
 *   icbu_net.h, icbu_net_posix.c   TCP: POSIX sockets, poll(), getaddrinfo()
 *   icbu_x509_ip.c                 the IP-address check of certificates, for the TLS file
 *   and one TLS file:
 *   icbu_tls_mbedtls.c   mbedTLS 2.28, 3.6 or 4.x  (-lmbedtls -lmbedx509 -lmbedcrypto;
 *                                                   4.x: -ltfpsacrypto for -lmbedcrypto)
 *   icbu_tls_bearssl.c   BearSSL 0.6               (-lbearssl)
 *
 * and compile them with icbu_reflow.h on the include path (C99, plus POSIX 2008:
 * -D_POSIX_C_SOURCE=200809L). Use:
 *
 *     icbu_net net;                                  yours: one per exchange in flight
 *     icbu_net_options opt = { NULL };               ca_file NULL: the system bundle
 *     icbu_transport t = icbu_net_transport(&net, &opt);
 *     st = icbu_report(&cfg, &order, &url, &t, &retry, 15000, arena, sizeof arena, &out, &err);
 *     if (out.kind == ICBU_TRANSPORT_ERROR) fprintf(stderr, "%s\n", net.why);
 *     ...                                            more icbu_report calls on t
 *     icbu_net_free(&net);                           closes; wipes the saved TLS session, frees the CA
 *
 * icbu_report opens (TCP, then TLS for https) for every attempt and closes after
 * it, unless keep_alive keeps the connection (below). With icbu_exchange, which
 * does neither, call t.open(t.ctx, &url, timeout_ms, &stage) before it and
 * t.close(t.ctx) after a successful open.
 *
 * KEEP-ALIVE. With opt.keep_alive nonzero, t.keep_alive is 1: requests say
 * Connection: keep-alive, and icbu_report leaves open a connection whose answer
 * allows another request. The next open to the same scheme, host and port
 * reuses it (returns 1) when it is still open: nothing to read on the socket
 * and no hang-up (poll with no wait), and for TLS nothing buffered in the TLS
 * library either. Anything else (the server closed it, sent a close_notify or
 * stray bytes, or the URL names another host or port) closes it and connects
 * afresh (returns 0). A server that closes just after that check is icbu_report's
 * business: it reopens and sends the request once more. t.close always closes
 * the connection; call it (or icbu_net_free) when you are done. Without
 * keep_alive, every open connects afresh (an open connection is closed first).
 *
 * TLS SESSIONS. After a handshake the net keeps the TLS session (on the heap)
 * to resume it: the next handshake to the same host name or address and port,
 * with a CA file of the same content, offers it, and the server may resume it
 * (an abbreviated handshake: no certificate, no key exchange with TLS 1.2;
 * TLS 1.3 resumes with a new (EC)DHE exchange: the PSK-with-(EC)DHE mode only).
 * TLS 1.2 keeps the session of the handshake (session ID, or ticket with
 * mbedTLS); TLS 1.3 (mbedTLS 3.6, 4.x) keeps the last NewSessionTicket, which
 * arrives after the handshake, while the answer is read (a TLS 1.3 connection
 * closed before it read anything leaves no session). BearSSL resumes TLS
 * 1.2 session IDs only. A session is never offered to another host name, port
 * or CA file content, nor after ICBU_NET_SESSION_MAX_AGE seconds: verification
 * is what it was for the handshake that made it. A resumption that fails, and
 * a TLS error on the connection, drop the session: the next handshake is full.
 * icbu_net_session_save() writes the session as bytes to keep in a file, for
 * another process's icbu_net_session_load(); see there for the format.
 *
 * The CA file is read for every TLS connection, and parsed only when its
 * content differs from the one parsed before: the parsed certificates stay in
 * the icbu_net until icbu_net_free (parsing a system bundle of 140 roots costs
 * more than a full handshake).
 *
 * Counters (since icbu_net_transport): net.connects (TCP connections made),
 * net.reuses (opens that reused the kept connection), net.handshakes (TLS
 * handshakes completed), net.resumptions (of which resumed a session),
 * net.resumed (1 when the last handshake resumed one), and net.ca_loads (CA
 * files parsed).
 *
 * Nothing global: every byte of state is in the icbu_net you pass (the TLS
 * connection, the parsed CA file and the saved session on the heap). Two threads with two icbu_net
 * never meet.
 *
 * TLS: version 1.2 at least; the server's certificate must chain to the CA file
 * (PEM). A DNS host name is sent as SNI and must match the certificate (dNSName,
 * or its CN without a subjectAltName); an IP-literal host (127.0.0.1, [::1]) sends
 * no SNI and must be an iPAddress entry of the certificate's subjectAltName
 * (icbu_x509_ip.c checks it: BearSSL and mbedTLS 2.28 match DNS names only).
 * Both TLS files hold certificates to mbedTLS's default profile: no SHA-1 or MD5
 * signature, no RSA key under 2048 bits (the CA's included), and a leaf with an
 * extendedKeyUsage must allow serverAuth (BearSSL's defaults take all three; the
 * BearSSL file refuses them itself). A CA file's block that the TLS library cannot
 * read as a certificate is skipped, since system bundles hold some, when at least
 * one certificate loads (BearSSL refuses a block that is not base64 outright).
 * A HelloRequest after the handshake: mbedTLS declines to renegotiate (the
 * server may then end the connection: a receive error); BearSSL renegotiates
 * securely (RFC 5746), checking the server's certificate again.
 *
 * What the callbacks return (icbu_transport's contract): open 0 (connected
 * afresh), 1 (the kept connection reused: keep_alive only), or a negative
 * value with *stage ICBU_STAGE_CONNECT or ICBU_STAGE_TLS; at most ICBU_IO_NO_RETRY
 * when another try cannot help, and then net.fault says which setting is wrong (a
 * host name that can never resolve or that the resolver does not know, the CA
 * file, the server's certificate). send/recv: a count, 0 when the peer closed,
 * ICBU_IO_TIMEOUT, -errno for socket errors, -EPROTO for TLS errors. Every
 * failure leaves a sentence in net.why ("cannot connect to 10.0.0.1 port 443:
 * connection refused (-111)"); it is "" after a successful open.
 * The process must not die of SIGPIPE: send uses MSG_NOSIGNAL where there is one
 * (Linux, the BSDs), and the socket is made with SO_NOSIGPIPE where there is
 * that (macOS); on a system with neither, ignore SIGPIPE.
 */
#ifndef ICBU_NET_H
#define ICBU_NET_H

#include <stddef.h>
#include <stdint.h>
#include "icbu_reflow.h"

#ifndef ICBU_NET_DEFAULT_CA_FILE
#define ICBU_NET_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif
#ifndef ICBU_NET_CA_FILE_MAX
#define ICBU_NET_CA_FILE_MAX (16L << 20)   /* larger CA files are refused */
#endif
#ifndef ICBU_NET_SESSION_MAX_AGE
#define ICBU_NET_SESSION_MAX_AGE 86400     /* seconds: an older saved session is not offered */
#endif
#ifndef ICBU_NET_SESSION_MAX
#define ICBU_NET_SESSION_MAX 65536         /* bytes: a larger session is not kept or loaded */
#endif

/* What an open at or below ICBU_IO_NO_RETRY was about: a setting to fix. */
typedef enum icbu_net_fault {
    ICBU_NET_FAULT_NONE = 0,
    ICBU_NET_FAULT_HOST,          /* the host name: invalid (never looked up), or no such name */
    ICBU_NET_FAULT_CA_FILE,       /* the CA file: missing, not a regular file, no certificate */
    ICBU_NET_FAULT_CERTIFICATE    /* the server's certificate: not trusted, or not for this host */
} icbu_net_fault;

typedef struct icbu_net_options {
    const char *ca_file;          /* PEM trust for https; NULL: ICBU_NET_DEFAULT_CA_FILE */
    int keep_alive;               /* nonzero: keep connections between exchanges (KEEP-ALIVE) */
} icbu_net_options;

struct icbu_net_tls;              /* the TLS file's connection */
struct icbu_net_session;          /* a TLS session kept for resumption */
struct icbu_net_ca;               /* the TLS file's parsed CA file */

typedef struct icbu_net {
    icbu_net_options opt;         /* a copy of the options given */
    char why[256];                /* the last failure, for people; "" after a successful open */
    icbu_net_fault fault;         /* set with an open at or below ICBU_IO_NO_RETRY */
    unsigned connects;            /* TCP connections made */
    unsigned reuses;              /* opens that reused the kept connection (returned 1) */
    unsigned handshakes;          /* TLS handshakes completed, full or resumed */
    unsigned resumptions;         /* TLS handshakes that resumed a saved session */
    int resumed;                  /* 1: the last handshake resumed a session; 0: full */
    unsigned ca_loads;            /* CA files parsed (again only when the content changed) */
    /* private */
    int fd;                       /* the socket, -1 when closed */
    struct icbu_net_tls *tls;     /* the TLS connection, NULL for http:// */
    struct icbu_net_session *session;   /* the session kept for resumption, or NULL */
    char peer[256];               /* the host fd is connected to (a C string) */
    uint16_t peer_port;
    int peer_https;
    uint64_t ca_digest;           /* of the CA file's content, as last read */
    struct icbu_net_ca *ca;       /* the CA file as last parsed, or NULL */
    uint64_t ca_parsed;           /* the digest of the content ca was parsed from */
} icbu_net;

/* Resets *net (closed, no session) with a copy of *opt (NULL: the defaults) and
 * returns the transport over it: open, close, send, recv, a monotonic now_ms, and
 * keep_alive from opt. Call icbu_net_free before resetting a net used before. */
icbu_transport icbu_net_transport(icbu_net *net, const icbu_net_options *opt);
/* Closes the connection, and wipes and frees the saved session. net stays
 * usable (as after icbu_net_transport, counters kept). */
void icbu_net_free(icbu_net *net);
/* The TLS library linked, with its version ("mbedTLS 3.6.6", "BearSSL 0.6"). */
const char *icbu_net_tls_name(void);

/* The saved TLS session, as bytes to keep for another process: its size, and
 * the bytes in buf when cap is at least that; 0 when there is no session (no
 * TLS handshake yet, or the server gave nothing to resume). The format, text
 * lines then the TLS library's own bytes:
 *     icbu-tls-session 1            the format
 *     tls mbedTLS 3.6.6             icbu_net_tls_name(): another library or version is refused
 *     host gw.example.com           the host name or address, and the port, it was made with
 *     port 443
 *     ca 0123456789abcdef           FNV-1a 64 of the CA file's content then
 *     saved 1767225600              when its full handshake was made (Unix seconds;
 *                                   a resumption keeps it)
 *     bytes 133                     the length of what follows the empty line
 *     (empty line)
 *     the session: mbedtls_ssl_session_save()'s bytes; for BearSSL, version (2
 *     bytes, big-endian), cipher suite (2), session ID length (1), session ID
 *     (32), master secret (48)
 * The bytes hold the session's secret (TLS 1.2: its master secret; TLS 1.3: a
 * resumption key and its ticket) but no secret of the caller's: keep them
 * where only this user can read and write. Whoever can read them can resume
 * the session as this client and, with TLS 1.2, decrypt what the session's
 * connections carried if they recorded it; whoever can write them, and can
 * also intercept the connection, can pass for the server (a resumed handshake
 * checks no certificate). */
size_t icbu_net_session_save(const icbu_net *net, unsigned char *buf, size_t cap);
/* A session saved by icbu_net_session_save (by this process or another), to
 * offer on the next handshake with u's host and port (https). 0, or -1 with
 * why when it is not taken (nothing changes then): not that format, another
 * TLS library or version, another host or port, older than
 * ICBU_NET_SESSION_MAX_AGE (or saved in the future), bytes the TLS library
 * refuses. Its CA digest is checked at the handshake. */
int icbu_net_session_load(icbu_net *net, const icbu_url *u, const unsigned char *p, size_t n);

/* ------------------------------------------------------------------------
 * Between icbu_net_posix.c and the TLS file; not for the caller. Times are
 * icbu_net_now() values (milliseconds, monotonic, wrapping after 49 days:
 * compared by signed difference). */

/* In icbu_net_posix.c. */
uint32_t icbu_net_now(void);
uint32_t icbu_net_left(uint32_t deadline);        /* 0 once it passed */
long icbu_net_tcp_send(icbu_net *net, const unsigned char *p, size_t n, uint32_t deadline);
long icbu_net_tcp_recv(icbu_net *net, unsigned char *p, size_t n, uint32_t deadline);
/* net->why = the formatted sentence (cut to fit). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
void icbu_net_say(icbu_net *net, const char *fmt, ...);
/* The text of a -errno value or ICBU_IO_TIMEOUT: "connection reset by peer (-104)". */
void icbu_net_describe(char *out, size_t cap, long rc);
/* The CA file's path: opt.ca_file, or ICBU_NET_DEFAULT_CA_FILE. */
const char *icbu_net_ca_path(const icbu_net *net);
/* The whole CA file, NUL-terminated, in *pem (malloc'd; *len bytes before the
 * NUL), and its digest in net->ca_digest. The path is checked with stat() before
 * it is opened, so that a FIFO, a device or a directory is refused at once
 * (opening a FIFO waits for a writer, past any deadline), and again with
 * fstat() once open (non-blocking).
 * 0, or ICBU_IO_NO_RETRY with why and fault (ICBU_NET_FAULT_CA_FILE); or, when
 * the process ran short of descriptors or memory (EMFILE, ENFILE, ENOMEM), -errno
 * with why and no fault: the file is not to blame, and another attempt may pass. */
int icbu_net_ca_read(icbu_net *net, unsigned char **pem, size_t *len);
/* n bytes at p set to zero, in a way the compiler keeps. */
void icbu_net_wipe(void *p, size_t n);
/* The saved session's bytes (the TLS library's) when it may be offered to the
 * peer net is connecting to (host, port, CA digest, age), else NULL (a session
 * that is too old, or made with another CA file, is dropped). */
const unsigned char *icbu_net_session_get(icbu_net *net, size_t *len);
/* Keeps the TLS library's bytes of the session made with the peer net is
 * connected to, in place of the one before (nothing changes when out of memory). */
void icbu_net_session_keep(icbu_net *net, const unsigned char *p, size_t n);
/* Wipes and frees the saved session. */
void icbu_net_session_drop(icbu_net *net);

/* In the TLS file: a TLS client on net's connected socket, for host (its name
 * or IP literal, as a C string), before deadline; net->resumed says whether it
 * resumed the saved session. 0 with net->tls set, or a negative value with why
 * (and fault at ICBU_IO_NO_RETRY); nothing left open. */
int  icbu_net_tls_open(icbu_net *net, const char *host, uint32_t deadline);
long icbu_net_tls_send(icbu_net *net, const unsigned char *p, size_t n, uint32_t deadline);
long icbu_net_tls_recv(icbu_net *net, unsigned char *p, size_t n, uint32_t deadline);
/* 1 when nothing is buffered in the TLS connection (no data, no closure, no
 * error seen): it may carry another request if the socket is still open. */
int  icbu_net_tls_idle(const icbu_net *net);
/* A best-effort close_notify (100 ms at most), then the connection is freed. */
void icbu_net_tls_close(icbu_net *net);
/* The CA file for a connection: 1 when net->ca was parsed from the same content
 * (nothing to do), 0 with its bytes in *pem (free() them) when it must be parsed
 * into a new net->ca (the one before is freed), or a negative value as
 * icbu_net_ca_read's. */
int icbu_net_ca_fetch(icbu_net *net, unsigned char **pem, size_t *len);
/* In the TLS file: frees the parsed CA file kept in net (none: nothing happens). */
void icbu_net_tls_ca_free(icbu_net *net);
/* 0 when p (n bytes) is a session this TLS library can offer. */
int  icbu_net_tls_session_check(const unsigned char *p, size_t n);

/* 4 or 16 when host is an IPv4/IPv6 literal (the address in ip), else 0
 * (icbu_net_posix.c); 1 when the DER certificate's subjectAltName has an
 * iPAddress equal to ip (icbu_x509_ip.c); 1 when the DER certificate may
 * serve TLS: it has no extendedKeyUsage, or one with serverAuth or
 * anyExtendedKeyUsage (icbu_x509_ip.c). */
size_t icbu_net_ip_literal(const char *host, unsigned char ip[16]);
int icbu_net_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen);
int icbu_net_cert_serves_tls(const unsigned char *der, size_t len);

#endif
