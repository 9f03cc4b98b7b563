/* net_posix.c - plain TCP transport for icbu_reflow (POSIX sockets, poll). */
#include "net.h"

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
#define MSG_NOSIGNAL 0            /* then the caller must ignore SIGPIPE */
#endif

void conn_init(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->send = net_send;
    c->recv = net_recv;
}

uint32_t net_now_ms(void *unused)
{
    struct timespec ts;
    uint64_t ms;
    (void)unused;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;          /* wraps; compared by signed difference */
}

uint32_t net_remaining(uint32_t deadline_ms)
{
    int32_t left = (int32_t)(deadline_ms - net_now_ms(NULL));
    return left > 0 ? (uint32_t)left : 0;
}

void net_say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

void net_describe(char *out, size_t cap, long rc)
{
    char text[160];
    if (rc == ICBU_IO_TIMEOUT) {
        net_say(out, cap, "timed out");
        return;
    }
    if (rc >= 0 || rc < -(long)INT_MAX) {
        net_say(out, cap, "transport error (%ld)", rc);
        return;
    }
    net_say(text, sizeof text, "%s", strerror((int)-rc));
    if (text[0] >= 'A' && text[0] <= 'Z')          /* "Connection reset..." */
        text[0] = (char)(text[0] - 'A' + 'a');
    net_say(out, cap, "%s (%ld)", text, rc);
}

/* Waits until fd is ready for events or the deadline passes.
 * 1 ready (or in error: the next call reports it), 0 timeout, -errno. */
static int wait_fd(int fd, short events, uint32_t deadline_ms)
{
    for (;;) {
        struct pollfd pfd;
        uint32_t left = net_remaining(deadline_ms);
        int r;
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        r = poll(&pfd, 1, left > (uint32_t)INT_MAX ? INT_MAX : (int)left);
        if (r > 0)
            return 1;
        if (r == 0) {
            if (net_remaining(deadline_ms) == 0)
                return 0;
            continue;             /* woke early: wait the rest */
        }
        if (errno != EINTR)
            return -errno;
    }
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

/* One address: 0 connected (fd in *out), or ICBU_IO_TIMEOUT / -errno. */
static int connect_one(const struct addrinfo *ai, uint32_t deadline_ms, int *out)
{
    int fd, rc, err = 0, one = 1;
    socklen_t len = (socklen_t)sizeof err;

    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    rc = set_nonblocking(fd);
    if (rc != 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            rc = -errno;
            goto fail;
        }
        rc = wait_fd(fd, POLLOUT, deadline_ms);
        if (rc == 0) {
            rc = ICBU_IO_TIMEOUT;
            goto fail;
        }
        if (rc < 0)
            goto fail;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            rc = -errno;
            goto fail;
        }
        if (err != 0) {
            rc = -err;
            goto fail;
        }
    }
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof one);
    *out = fd;
    return 0;
fail:
    close(fd);
    return rc;
}

int net_connect(struct conn *c, const icbu_url *u, uint32_t deadline_ms)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[256], port[8], what[160];
    int rc = -1, fd = -1;

    c->why[0] = '\0';
    c->fault = NET_FAULT_NONE;
    if (host_get(u, host, sizeof host, c->why, sizeof c->why) != 0) {
        c->fault = NET_FAULT_HOST;            /* never looked up: no try can resolve it */
        return ICBU_IO_NO_RETRY;
    }
    net_say(port, sizeof port, "%u", (unsigned)u->port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        net_say(c->why, sizeof c->why, "cannot resolve %s: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        if (rc != EAI_NONAME)
            return -1;
        c->fault = NET_FAULT_HOST;
        return ICBU_IO_NO_RETRY;              /* no such name: a typo, not an outage */
    }
    rc = -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, deadline_ms, &fd);
        if (rc == 0 || rc == ICBU_IO_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    if (rc == 0) {
        c->fd = fd;
        return 0;
    }
    net_describe(what, sizeof what, rc);
    net_say(c->why, sizeof c->why, "cannot connect to %s port %s: %s", host, port, what);
    return rc;
}

long net_send(void *conn, const unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    uint32_t deadline = net_now_ms(NULL) + timeout_ms;
    if (n > (size_t)LONG_MAX)
        n = (size_t)LONG_MAX;
    for (;;) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        int w;
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            long rc = -(long)errno;
            net_describe(c->why, sizeof c->why, rc);
            return rc;
        }
        w = wait_fd(c->fd, POLLOUT, deadline);
        if (w == 0) {
            net_say(c->why, sizeof c->why, "timed out sending");
            return ICBU_IO_TIMEOUT;
        }
        if (w < 0) {
            net_describe(c->why, sizeof c->why, w);
            return w;
        }
    }
}

long net_recv(void *conn, unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct conn *c = (struct conn *)conn;
    uint32_t deadline = net_now_ms(NULL) + timeout_ms;
    if (n > (size_t)LONG_MAX)
        n = (size_t)LONG_MAX;
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        int w;
        if (r >= 0)
            return (long)r;       /* 0: orderly close */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            long rc = -(long)errno;   /* ECONNRESET included: an error */
            net_describe(c->why, sizeof c->why, rc);
            return rc;
        }
        w = wait_fd(c->fd, POLLIN, deadline);
        if (w == 0) {
            net_say(c->why, sizeof c->why, "timed out waiting for the answer");
            return ICBU_IO_TIMEOUT;
        }
        if (w < 0) {
            net_describe(c->why, sizeof c->why, w);
            return w;
        }
    }
}

void conn_close(struct conn *c)
{
    if (c->tls_end != NULL)
        c->tls_end(c);
    c->tls_end = NULL;
    c->tls = NULL;
    c->send = net_send;
    c->recv = net_recv;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* "cannot load CA file PATH: what" in why. */
static void ca_fail(char *why, size_t whylen, const char *path, const char *what)
{
    net_say(why, whylen, "cannot load CA file %s: %s", path, what);
}

/* NULL, or what is wrong with a CA file of this type and size. */
static const char *ca_unfit(const struct stat *sb)
{
    if (!S_ISREG(sb->st_mode))
        return "not a regular file";
    if (sb->st_size > NET_CA_FILE_MAX)
        return "larger than NET_CA_FILE_MAX";
    return NULL;
}

FILE *net_ca_open(const char *path, char *why, size_t whylen)
{
    struct stat sb;
    const char *bad;
    FILE *f;
    int fd;
    /* stat before open: opening a FIFO waits for a writer (forever, past any
     * deadline), and opening a device may have effects of its own. */
    if (stat(path, &sb) != 0) {
        ca_fail(why, whylen, path, strerror(errno));
        return NULL;
    }
    if ((bad = ca_unfit(&sb)) != NULL) {
        ca_fail(why, whylen, path, bad);
        return NULL;
    }
    /* Non-blocking, and checked again: the path may have changed meanwhile. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        ca_fail(why, whylen, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || (bad = ca_unfit(&sb)) != NULL) {
        ca_fail(why, whylen, path, bad != NULL ? bad : strerror(errno));
        close(fd);
        return NULL;
    }
    f = fdopen(fd, "rb");
    if (f == NULL) {
        ca_fail(why, whylen, path, strerror(errno));
        close(fd);
    }
    return f;
}

int net_ca_read(const char *path, unsigned char **buf, size_t *len, char *why, size_t whylen)
{
    FILE *f = net_ca_open(path, why, whylen);
    unsigned char *p = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    *buf = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    for (;;) {                    /* a file that grows while read is cut at the limit */
        size_t k;
        if (cap - n < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *q;
            if (cap > (size_t)NET_CA_FILE_MAX + 1) {
                bad = 1;
                break;
            }
            q = (unsigned char *)realloc(p, ncap);
            if (q == NULL) {
                bad = 1;
                break;
            }
            p = q;
            cap = ncap;
        }
        k = fread(p + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    if (bad || ferror(f) || n > (size_t)NET_CA_FILE_MAX) {
        ca_fail(why, whylen, path, bad && n <= (size_t)NET_CA_FILE_MAX ? "out of memory"
                                                                      : "read error");
        fclose(f);
        free(p);
        return -1;
    }
    fclose(f);
    p[n] = 0;
    *buf = p;
    *len = n;
    return 0;
}
