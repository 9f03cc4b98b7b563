/* icbu_net_posix.c - the TCP half of the icbu_net transport (see icbu_net.h):
 * POSIX sockets, non-blocking, poll() for every deadline; the host name check;
 * reading the CA file for the TLS file; the TLS session kept for resumption;
 * icbu_net_transport() and its callbacks.
 * Needs: POSIX 2008 (-D_POSIX_C_SOURCE=200809L), icbu_reflow.h, and one TLS
 * file linked (icbu_tls_mbedtls.c or icbu_tls_bearssl.c). */
#include "icbu_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0      /* then SO_NOSIGPIPE (connect_one), or ignore SIGPIPE */
#endif

/* ---------------------------------------------------------------- basics */
uint32_t icbu_net_now(void)
{
    struct timespec ts;
    uint64_t ms;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;          /* wraps; compared by signed difference */
}

uint32_t icbu_net_left(uint32_t deadline)
{
    int32_t left = (int32_t)(deadline - icbu_net_now());
    return left > 0 ? (uint32_t)left : 0;
}

/* vsnprintf: a sentence cut to fit, without -Wformat-truncation noise. */
static void say_v(char *out, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(out, cap, fmt, ap);
}

void icbu_net_say(icbu_net *net, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_v(net->why, sizeof net->why, fmt, ap);
    va_end(ap);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static void say_to(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_v(out, cap, fmt, ap);
    va_end(ap);
}

void icbu_net_describe(char *out, size_t cap, long rc)
{
    char text[160];
    if (rc == ICBU_IO_TIMEOUT) {
        say_to(out, cap, "timed out");
        return;
    }
    if (rc >= 0 || rc < -(long)INT_MAX) {
        say_to(out, cap, "transport error (%ld)", rc);
        return;
    }
    say_to(text, sizeof text, "%s", strerror((int)-rc));
    if (text[0] >= 'A' && text[0] <= 'Z')          /* "Connection reset..." */
        text[0] = (char)(text[0] - 'A' + 'a');
    say_to(out, cap, "%s (%ld)", text, rc);
}

/* ----------------------------------------------------------- host names */
size_t icbu_net_ip_literal(const char *host, unsigned char ip[16])
{
    if (inet_pton(AF_INET, host, ip) == 1)
        return 4;
    if (inet_pton(AF_INET6, host, ip) == 1)
        return 16;
    return 0;
}

/* "invalid host name "HOST": what" in why (the host cut at 64 bytes). */
static int host_bad(icbu_net *net, const icbu_url *u, const char *what)
{
    int n = u->host.n > 64 ? 64 : (int)u->host.n;
    icbu_net_say(net, "invalid host name \"%.*s%s\": %s", n, u->host.p,
                 u->host.n > 64 ? "..." : "", what);
    net->fault = ICBU_NET_FAULT_HOST;             /* the same name next time: no retry */
    return ICBU_IO_NO_RETRY;
}

/* An IPv6 literal (the URL parser took the brackets) into out (cap >= 46). */
static int host_ipv6(icbu_net *net, const icbu_url *u, char *out)
{
    unsigned char ip[16];
    if (u->host.n > 45 || memchr(u->host.p, '\0', u->host.n) != NULL)
        return host_bad(net, u, "not an IPv6 address");
    memcpy(out, u->host.p, u->host.n);
    out[u->host.n] = '\0';
    if (icbu_net_ip_literal(out, ip) != 16)
        return host_bad(net, u, "not an IPv6 address");
    return 0;
}

/* NULL, or why byte c cannot be in a host name (in what). */
static const char *host_byte_bad(unsigned char c, char *what, size_t cap)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '_')
        return NULL;
    if (c >= 0x80)
        say_to(what, cap, "byte 0x%02X cannot be in a host name "
               "(give an international name in its xn-- form)", c);
    else if (c > 0x20 && c < 0x7F)
        say_to(what, cap, "'%c' cannot be in a host name", (char)c);
    else
        say_to(what, cap, "byte 0x%02X cannot be in a host name", c);
    return what;
}

/* The host of u as a C string in out (cap >= 256), if it is a name that can
 * resolve: an IPv6 literal, or at most 253 bytes (a final '.' aside) of labels
 * of 1 to 63 letters, digits, '-' or '_'. 0, or ICBU_IO_NO_RETRY (fault HOST)
 * with why: such a name is refused before any lookup. */
static int host_get(icbu_net *net, const icbu_url *u, char *out, size_t cap)
{
    const char *h = u->host.p;
    size_t n = u->host.n, i, label = 0;
    char what[96];
    if (h == NULL || n == 0) {
        icbu_net_say(net, "no host name");
        net->fault = ICBU_NET_FAULT_HOST;
        return ICBU_IO_NO_RETRY;
    }
    if (memchr(h, ':', n) != NULL)
        return host_ipv6(net, u, out);
    if (n > 254 || (n == 254 && h[253] != '.') || n >= cap) {
        say_to(what, sizeof what, "longer than 253 bytes (%lu)", (unsigned long)n);
        return host_bad(net, u, what);
    }
    for (i = 0; i < n; i++) {
        if (h[i] == '.' && label == 0)
            return host_bad(net, u, "an empty label");
        if (h[i] == '.') {
            label = 0;
            continue;
        }
        if (host_byte_bad((unsigned char)h[i], what, sizeof what) != NULL)
            return host_bad(net, u, what);
        if (++label > 63)
            return host_bad(net, u, "a label longer than 63 bytes");
    }
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ TCP */
/* Waits until fd is ready for events or the deadline passes.
 * 1 ready (or in error: the next call reports it), 0 timeout, -errno. */
static int wait_fd(int fd, short events, uint32_t deadline)
{
    for (;;) {
        struct pollfd pfd;
        uint32_t left = icbu_net_left(deadline);
        int r;
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        r = poll(&pfd, 1, left > (uint32_t)INT_MAX ? INT_MAX : (int)left);
        if (r > 0)
            return 1;
        if (r == 0 && icbu_net_left(deadline) == 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }                             /* woke early, or a signal: wait the rest */
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

/* A non-blocking connect of fd to ai, finished by the deadline: 0, ICBU_IO_TIMEOUT or -errno. */
static int connect_fd(int fd, const struct addrinfo *ai, uint32_t deadline)
{
    int err = 0, rc;
    socklen_t len = (socklen_t)sizeof err;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    rc = wait_fd(fd, POLLOUT, deadline);
    if (rc <= 0)
        return rc == 0 ? ICBU_IO_TIMEOUT : rc;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    return -err;
}

/* One address: 0 connected (the socket in *out), or ICBU_IO_TIMEOUT / -errno. */
static int connect_one(const struct addrinfo *ai, uint32_t deadline, int *out)
{
    int fd, rc, one = 1;
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    rc = set_nonblocking(fd);
    if (rc == 0)
        rc = connect_fd(fd, ai, deadline);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof one);
#if defined(SO_NOSIGPIPE)
    /* Where send has no MSG_NOSIGNAL (macOS), a peer's reset must not kill
     * the program either: the socket itself then raises no SIGPIPE. */
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, (socklen_t)sizeof one);
#endif
    *out = fd;
    return 0;
}

/* Resolves host (getaddrinfo: not bounded by the deadline) and connects to
 * each address in turn until one answers or the deadline passes. 0, or
 * ICBU_IO_TIMEOUT / -errno / -1 (resolution) with why; ICBU_IO_NO_RETRY
 * (fault HOST) when the resolver says there is no such name. */
static int tcp_connect(icbu_net *net, const char *host, uint16_t port_number, uint32_t deadline)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8], what[160];
    int rc;
    say_to(port, sizeof port, "%u", (unsigned)port_number);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        icbu_net_say(net, "cannot resolve %s: %s", host,
                     rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        if (rc != EAI_NONAME)
            return -1;
        net->fault = ICBU_NET_FAULT_HOST;
        return ICBU_IO_NO_RETRY;              /* no such name: a typo, not an outage */
    }
    rc = -1;
    for (ai = res; ai != NULL && rc != 0 && rc != ICBU_IO_TIMEOUT; ai = ai->ai_next)
        rc = connect_one(ai, deadline, &net->fd);
    freeaddrinfo(res);
    if (rc == 0)
        return 0;
    icbu_net_describe(what, sizeof what, rc);
    icbu_net_say(net, "cannot connect to %s port %s: %s", host, port, what);
    return rc;
}

/* One send() (out) or recv() (in) on the socket, waiting for it until the
 * deadline: a count, 0 (recv: the peer closed), or a negative value with why.
 * The deadline is checked before each call too, not only when one would
 * block: a TLS library reads on and on through records it drops (warning
 * alerts, tickets), and a peer that keeps them coming would hold it past any
 * deadline checked only while waiting. */
static long tcp_io(icbu_net *net, const unsigned char *out, unsigned char *in, size_t n,
                   uint32_t deadline)
{
    if (n > (size_t)LONG_MAX)
        n = (size_t)LONG_MAX;
    for (;;) {
        ssize_t r;
        long rc = 0;
        if (icbu_net_left(deadline) > 0) {
            r = out != NULL ? send(net->fd, out, n, MSG_NOSIGNAL) : recv(net->fd, in, n, 0);
            if (r >= 0)
                return (long)r;
            if (errno == EINTR)
                continue;
            rc = -(long)errno;                    /* ECONNRESET included: an error */
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                rc = wait_fd(net->fd, out != NULL ? POLLOUT : POLLIN, deadline);
        }
        if (rc == 0) {
            icbu_net_say(net, out != NULL ? "timed out sending" : "timed out waiting for the answer");
            return ICBU_IO_TIMEOUT;
        }
        if (rc < 0) {
            icbu_net_describe(net->why, sizeof net->why, rc);
            return rc;
        }
    }
}

long icbu_net_tcp_send(icbu_net *net, const unsigned char *p, size_t n, uint32_t deadline)
{
    return tcp_io(net, p, NULL, n, deadline);
}

long icbu_net_tcp_recv(icbu_net *net, unsigned char *p, size_t n, uint32_t deadline)
{
    return tcp_io(net, NULL, p, n, deadline);
}

/* -------------------------------------------------------------- CA file */
const char *icbu_net_ca_path(const icbu_net *net)
{
    return net->opt.ca_file != NULL ? net->opt.ca_file : ICBU_NET_DEFAULT_CA_FILE;
}

/* "cannot load CA file PATH: what"; returns ICBU_IO_NO_RETRY. */
static int ca_fail(icbu_net *net, const char *what)
{
    icbu_net_say(net, "cannot load CA file %s: %s", icbu_net_ca_path(net), what);
    net->fault = ICBU_NET_FAULT_CA_FILE;         /* configuration: another try cannot help */
    return ICBU_IO_NO_RETRY;
}

/* "cannot load CA file PATH: strerror(err)". When the process ran short of
 * descriptors or memory (ulimit -n, a full file table), the file is not at
 * fault and another attempt may pass: -err, with no fault. Else as ca_fail. */
static int ca_error(icbu_net *net, int err)
{
    if (err != EMFILE && err != ENFILE && err != ENOMEM)
        return ca_fail(net, strerror(err));
    icbu_net_say(net, "cannot load CA file %s: %s", icbu_net_ca_path(net), strerror(err));
    return -err;
}

/* NULL, or what is wrong with a CA file of this type and size. */
static const char *ca_unfit(const struct stat *sb)
{
    if (!S_ISREG(sb->st_mode))
        return "not a regular file";
    if (sb->st_size > ICBU_NET_CA_FILE_MAX)
        return "larger than ICBU_NET_CA_FILE_MAX";
    return NULL;
}

/* The CA file open for reading (a descriptor), or as ca_error with why. */
static int ca_open(icbu_net *net)
{
    const char *path = icbu_net_ca_path(net), *bad;
    struct stat sb;
    int fd;
    /* stat before open: opening a FIFO waits for a writer (forever, past any
     * deadline), and opening a device may have effects of its own. */
    if (stat(path, &sb) != 0)
        return ca_error(net, errno);
    if ((bad = ca_unfit(&sb)) != NULL)
        return ca_fail(net, bad);
    /* Non-blocking, and checked again: the path may have changed meanwhile. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return ca_error(net, errno);
    if (fstat(fd, &sb) != 0 || (bad = ca_unfit(&sb)) != NULL) {
        int err = errno;
        close(fd);
        return ca_fail(net, bad != NULL ? bad : strerror(err));
    }
    return fd;
}

/* Reads fd to its end into *pem, NUL-terminated: NULL, or what went wrong
 * (*err: its errno, 0 for the size). A file that grows past
 * ICBU_NET_CA_FILE_MAX while it is read is refused. */
static const char *ca_slurp(int fd, unsigned char **pem, size_t *len, int *err)
{
    unsigned char *p = NULL, *q;
    size_t n = 0, cap = 0;
    const char *bad = NULL;
    *err = 0;
    for (;;) {
        ssize_t k;
        if (n > (size_t)ICBU_NET_CA_FILE_MAX) {
            bad = "larger than ICBU_NET_CA_FILE_MAX";
            break;
        }
        if (cap - n < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            if ((q = (unsigned char *)realloc(p, ncap)) == NULL) {
                *err = ENOMEM;
                bad = "out of memory";
                break;
            }
            p = q;
            cap = ncap;
        }
        k = read(fd, p + n, cap - n - 1);
        if (k == 0)
            break;
        if (k > 0)
            n += (size_t)k;
        else if (errno != EINTR) {
            *err = errno;
            bad = strerror(errno);
            break;
        }
    }
    if (bad != NULL) {
        free(p);
        return bad;
    }
    p[n] = 0;
    *pem = p;
    *len = n;
    return NULL;
}

/* FNV-1a, 64 bits: tells one CA file's content from another's (the file is
 * trusted: this is no defence against someone choosing a collision). */
static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    while (n--)
        h = (h ^ *p++) * 0x100000001b3u;
    return h;
}

int icbu_net_ca_read(icbu_net *net, unsigned char **pem, size_t *len)
{
    const char *bad;
    int fd = ca_open(net), err;
    *pem = NULL;
    *len = 0;
    if (fd < 0)
        return fd;
    bad = ca_slurp(fd, pem, len, &err);
    close(fd);
    if (bad != NULL)
        return err != 0 ? ca_error(net, err) : ca_fail(net, bad);
    net->ca_digest = fnv1a64(*pem, *len);
    return 0;
}

int icbu_net_ca_fetch(icbu_net *net, unsigned char **pem, size_t *len)
{
    int rc = icbu_net_ca_read(net, pem, len);
    if (rc != 0)
        return rc;
    if (net->ca != NULL && net->ca_parsed == net->ca_digest) {
        free(*pem);
        *pem = NULL;
        return 1;
    }
    icbu_net_tls_ca_free(net);
    net->ca_parsed = net->ca_digest;
    net->ca_loads++;
    return 0;
}

/* --------------------------------------------------------- TLS sessions */
/* The session kept for resumption: the TLS library's bytes, and what it may
 * be offered to. */
struct icbu_net_session {
    char host[256];               /* the host name or address it was made with */
    uint16_t port;
    uint64_t ca_digest;           /* of the CA file's content then */
    int64_t saved;                /* when its full handshake was made (Unix seconds) */
    size_t len;
    unsigned char data[];         /* len bytes */
};

void icbu_net_wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--)
        *v++ = 0;
}

void icbu_net_session_drop(icbu_net *net)
{
    struct icbu_net_session *s = net->session;
    if (s == NULL)
        return;
    icbu_net_wipe(s, sizeof *s + s->len);
    free(s);
    net->session = NULL;
}

/* A new session record (NULL: out of memory, or sizes out of bounds). */
static struct icbu_net_session *session_new(const char *host, uint16_t port, uint64_t ca_digest,
                                            int64_t saved, const unsigned char *p, size_t n)
{
    struct icbu_net_session *s;
    size_t hl = strlen(host);
    if (n == 0 || n > ICBU_NET_SESSION_MAX || hl >= sizeof s->host)
        return NULL;
    if ((s = (struct icbu_net_session *)malloc(sizeof *s + n)) == NULL)
        return NULL;
    memset(s, 0, sizeof *s);
    memcpy(s->host, host, hl + 1);
    s->port = port;
    s->ca_digest = ca_digest;
    s->saved = saved;
    s->len = n;
    memcpy(s->data, p, n);
    return s;
}

/* Was a session saved at this time young enough to offer? (a few minutes
 * ahead of the clock pass: clocks step) */
static int session_fresh(int64_t saved)
{
    int64_t now = (int64_t)time(NULL);
    return now - saved <= ICBU_NET_SESSION_MAX_AGE && saved - now <= 300;
}

void icbu_net_session_keep(icbu_net *net, const unsigned char *p, size_t n)
{
    /* A resumed handshake checks no certificate: the session it gives (the
     * same, or a TLS 1.3 ticket) is as old as the full handshake that did. */
    int64_t saved = net->resumed && net->session != NULL ? net->session->saved
                                                         : (int64_t)time(NULL);
    struct icbu_net_session *s = session_new(net->peer, net->peer_port, net->ca_digest,
                                             saved, p, n);
    if (s == NULL)
        return;
    icbu_net_session_drop(net);
    net->session = s;
}

const unsigned char *icbu_net_session_get(icbu_net *net, size_t *len)
{
    const struct icbu_net_session *s = net->session;
    *len = 0;
    if (s == NULL || !net->peer_https || s->port != net->peer_port ||
        strcmp(s->host, net->peer) != 0)
        return NULL;              /* another peer's (replaced after this handshake) */
    if (s->ca_digest != net->ca_digest || !session_fresh(s->saved)) {
        icbu_net_session_drop(net);
        return NULL;
    }
    *len = s->len;
    return s->data;
}

/* The saved session as bytes for another process (icbu_net.h has the format). */
size_t icbu_net_session_save(const icbu_net *net, unsigned char *buf, size_t cap)
{
    const struct icbu_net_session *s = net->session;
    char head[512];
    int n;
    if (s == NULL)
        return 0;
    n = snprintf(head, sizeof head, "icbu-tls-session 1\ntls %s\nhost %s\nport %u\nca %016llx\n"
                 "saved %lld\nbytes %lu\n\n", icbu_net_tls_name(), s->host, (unsigned)s->port,
                 (unsigned long long)s->ca_digest, (long long)s->saved, (unsigned long)s->len);
    if (n <= 0 || (size_t)n >= sizeof head)
        return 0;
    if (buf != NULL && cap >= (size_t)n + s->len) {
        memcpy(buf, head, (size_t)n);
        memcpy(buf + n, s->data, s->len);
    }
    return (size_t)n + s->len;
}

/* The line "KEY VALUE\n" at *p (before end): VALUE in val (printable ASCII,
 * shorter than cap), *p past the line. 0, or -1 when the line is not that. */
static int line_field(const unsigned char **p, const unsigned char *end, const char *key,
                      char *val, size_t cap)
{
    const unsigned char *q = *p;
    size_t kl = strlen(key), i = 0;
    if ((size_t)(end - q) <= kl || memcmp(q, key, kl) != 0 || q[kl] != ' ')
        return -1;
    for (q += kl + 1; q < end && *q != '\n'; q++) {
        if (i + 1 >= cap || *q < 0x20 || *q > 0x7E)
            return -1;
        val[i++] = (char)*q;
    }
    if (q == end)
        return -1;
    val[i] = '\0';
    *p = q + 1;
    return 0;
}

/* The number in s (base 10 or 16, digits only): 0, or -1 when it is not one
 * or exceeds max. */
static int parse_u64(const char *s, unsigned base, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else
            return -1;
        if (v > (max - d) / base)
            return -1;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* The numbers of the saved header (port, ca, saved, bytes) at *q: NULL, or what is wrong. */
static const char *load_numbers(const unsigned char **q, const unsigned char *end, uint64_t v[4])
{
    static const char *const key[4] = { "port", "ca", "saved", "bytes" };
    static const uint64_t max[4] = { 65535, UINT64_MAX, (uint64_t)1 << 62, ICBU_NET_SESSION_MAX };
    char val[32];
    int i;
    for (i = 0; i < 4; i++)
        if (line_field(q, end, key[i], val, sizeof val) != 0 ||
            parse_u64(val, i == 1 ? 16 : 10, max[i], &v[i]) != 0)
            return "not a saved TLS session (a line is missing or wrong)";
    if (*q >= end || **q != '\n' || (uint64_t)(end - *q - 1) != v[3])
        return "not a saved TLS session (its length is wrong)";
    ++*q;
    return NULL;
}

/* What is wrong with the saved bytes p (n) for host and port, or NULL; the
 * numbers of the header in v, *data at the session's bytes. */
static const char *load_check(const unsigned char *p, size_t n, const char *host, uint16_t port,
                              uint64_t v[4], const unsigned char **data)
{
    const unsigned char *q = p, *end = p + n;
    char val[300];
    const char *bad;
    if (line_field(&q, end, "icbu-tls-session", val, sizeof val) != 0 || strcmp(val, "1") != 0)
        return "not a saved TLS session (format icbu-tls-session 1)";
    if (line_field(&q, end, "tls", val, sizeof val) != 0 || strcmp(val, icbu_net_tls_name()) != 0)
        return "saved by another TLS library or version";
    if (line_field(&q, end, "host", val, sizeof val) != 0 || strcmp(val, host) != 0)
        return "saved for another host";
    if ((bad = load_numbers(&q, end, v)) != NULL)
        return bad;
    if (v[0] != port)
        return "saved for another port";
    if (!session_fresh((int64_t)v[2]) && (int64_t)v[2] > (int64_t)time(NULL))
        return "saved in the future (the clock?)";
    if (!session_fresh((int64_t)v[2]))
        return "expired (older than ICBU_NET_SESSION_MAX_AGE)";
    if (icbu_net_tls_session_check(q, (size_t)v[3]) != 0)
        return "the TLS library cannot use it";
    *data = q;
    return NULL;
}

int icbu_net_session_load(icbu_net *net, const icbu_url *u, const unsigned char *p, size_t n)
{
    struct icbu_net_session *s = NULL;
    const unsigned char *data = NULL;
    const char *bad = NULL;
    char host[256];
    uint64_t v[4];
    net->fault = ICBU_NET_FAULT_NONE;
    if (!u->https) {
        icbu_net_say(net, "no TLS session for an http:// URL");
        return -1;
    }
    if (host_get(net, u, host, sizeof host) != 0) {
        net->fault = ICBU_NET_FAULT_NONE;         /* said again by the open */
        return -1;
    }
    if ((bad = load_check(p, n, host, u->port, v, &data)) == NULL &&
        (s = session_new(host, u->port, v[1], (int64_t)v[2], data, (size_t)v[3])) == NULL)
        bad = "out of memory";
    if (bad != NULL) {
        icbu_net_say(net, "%s", bad);
        return -1;
    }
    icbu_net_session_drop(net);
    net->session = s;
    return 0;
}

/* ------------------------------------------------ the transport callbacks */
/* Closes what is open (TLS, then the socket); why is kept. */
static void net_close(void *ctx)
{
    icbu_net *net = (icbu_net *)ctx;
    char keep[sizeof net->why];
    memcpy(keep, net->why, sizeof keep);          /* the close_notify's failure is no news */
    if (net->tls != NULL)
        icbu_net_tls_close(net);
    net->tls = NULL;
    if (net->fd >= 0)
        close(net->fd);
    net->fd = -1;
    net->peer[0] = '\0';
    memcpy(net->why, keep, sizeof keep);
}

/* Is the open connection still good for a request? Nothing buffered in TLS,
 * and poll (no wait) sees nothing to read and no hang-up: a server that closed
 * it (FIN, RST, close_notify) or sent stray bytes makes the socket readable. A
 * readable plain socket is peeked, so that a spurious wake-up keeps it. */
static int still_open(const icbu_net *net)
{
    struct pollfd pfd;
    unsigned char c;
    int r;
    if (net->tls != NULL && !icbu_net_tls_idle(net))
        return 0;
    pfd.fd = net->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    do
        r = poll(&pfd, 1, 0);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 1;
    if (r < 0 || (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 || net->tls != NULL)
        return 0;
    return recv(net->fd, &c, 1, MSG_PEEK) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* keep_alive: the connection kept open can carry this request (same scheme,
 * host and port, and still open). Otherwise it is closed. */
static int reusable(icbu_net *net, const icbu_url *u, const char *host)
{
    if (net->fd < 0)
        return 0;
    if (net->opt.keep_alive && net->peer_https == u->https && net->peer_port == u->port &&
        strcmp(net->peer, host) == 0 && still_open(net))
        return 1;
    net_close(net);
    return 0;
}

static int net_open(void *ctx, const icbu_url *u, uint32_t timeout_ms, icbu_stage *stage)
{
    icbu_net *net = (icbu_net *)ctx;
    uint32_t deadline = icbu_net_now() + timeout_ms;
    char host[256];
    int rc;
    net->why[0] = '\0';
    net->fault = ICBU_NET_FAULT_NONE;
    *stage = ICBU_STAGE_CONNECT;
    rc = host_get(net, u, host, sizeof host);
    if (rc == 0 && reusable(net, u, host)) {
        net->reuses++;
        return 1;
    }
    if (rc == 0)
        rc = tcp_connect(net, host, u->port, deadline);
    if (rc == 0) {
        net->connects++;
        memcpy(net->peer, host, strlen(host) + 1);
        net->peer_port = u->port;
        net->peer_https = u->https;
    }
    if (rc == 0 && u->https) {
        *stage = ICBU_STAGE_TLS;
        rc = icbu_net_tls_open(net, host, deadline);
    }
    if (rc != 0) {
        net_close(net);           /* icbu_report does not close after a failed open */
        return rc < 0 ? rc : -1;
    }
    if (u->https) {
        net->handshakes++;
        net->resumptions += net->resumed != 0;
    }
    net->why[0] = '\0';
    return 0;
}

static long net_send(void *ctx, const unsigned char *p, size_t n, uint32_t timeout_ms)
{
    icbu_net *net = (icbu_net *)ctx;
    uint32_t deadline = icbu_net_now() + timeout_ms;
    return net->tls != NULL ? icbu_net_tls_send(net, p, n, deadline)
                            : icbu_net_tcp_send(net, p, n, deadline);
}

static long net_recv(void *ctx, unsigned char *p, size_t n, uint32_t timeout_ms)
{
    icbu_net *net = (icbu_net *)ctx;
    uint32_t deadline = icbu_net_now() + timeout_ms;
    return net->tls != NULL ? icbu_net_tls_recv(net, p, n, deadline)
                            : icbu_net_tcp_recv(net, p, n, deadline);
}

static uint32_t net_now(void *ctx)
{
    (void)ctx;
    return icbu_net_now();
}

icbu_transport icbu_net_transport(icbu_net *net, const icbu_net_options *opt)
{
    icbu_transport t;
    memset(net, 0, sizeof *net);
    net->fd = -1;
    if (opt != NULL)
        net->opt = *opt;
    memset(&t, 0, sizeof t);
    t.ctx = net;
    t.send = net_send;
    t.recv = net_recv;
    t.now_ms = net_now;
    t.open = net_open;
    t.close = net_close;
    t.keep_alive = net->opt.keep_alive != 0;
    return t;
}

void icbu_net_free(icbu_net *net)
{
    net_close(net);
    icbu_net_session_drop(net);
    icbu_net_tls_ca_free(net);
}
