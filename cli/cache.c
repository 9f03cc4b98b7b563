/* cache.c - the TLS session cache of icbu-reflow (--session-cache FILE, for
 * send and flush): the TLS session of one run kept in FILE, so that the next
 * run's first handshake can resume it instead of a full one. The bytes are
 * icbu_net_session_save()'s (transports/icbu_net.h has the format: a header
 * naming the format, the TLS library and version, the host, the port, the CA
 * file's digest and when the session was made, then the session).
 *
 * WHAT IT HOLDS. The TLS session's secret (TLS 1.2: the master secret of that
 * session; TLS 1.3: a resumption key and its ticket), none of ours: not the
 * app secret, nothing that signs an order. Whoever can read FILE can resume
 * that session as this client (and, with TLS 1.2, decrypt what its connections
 * carried if they recorded them); whoever can write it, and also intercepts
 * the connection, can pass for the server (a resumed handshake checks no
 * certificate). Hence:
 *   - An existing FILE must be a regular file owned by the user who runs the
 *     command (the effective uid), with no permission for its group or others
 *     (chmod 600); a symbolic link is never followed. Otherwise the command
 *     exits 74 before it sends anything, and says what is wrong.
 *   - A missing FILE is made at the end, with mode 0600.
 *   - A FILE that cannot be read, or whose content does not fit (not the
 *     format, another TLS library or version, another host or port, expired,
 *     refused by the TLS library), is ignored with a warning on stderr: the
 *     first handshake is a full one, and nothing else changes.
 *   - It is written at the end of send and flush when a TLS handshake took
 *     place and the connection left a session: into a temporary file in
 *     FILE's directory (.NAME.PID.tmp, O_CREAT|O_EXCL|O_NOFOLLOW, 0600),
 *     fsynced, then renamed over FILE (atomic: a reader sees the old file or
 *     the new one). A failure is a warning; the exit status does not change. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define CACHE_READ_MAX ((size_t)ICBU_NET_SESSION_MAX + 1024)   /* the header and the session */

/* "icbu-reflow: warning: session cache FILE: what; ..." on stderr. */
static void cache_warn(const char *path, const char *what, const char *then)
{
    fputs("icbu-reflow: warning: session cache ", stderr);
    put_clean(path);
    fputs(": ", stderr);
    put_clean(what);
    fprintf(stderr, "%s\n", then);
}

/* "icbu-reflow: unsafe session cache: FILE: what" on stderr. */
static void cache_unsafe_say(const char *path, const char *what)
{
    fputs("icbu-reflow: unsafe session cache: ", stderr);
    put_clean(path);
    fprintf(stderr, ": %s\n", what);
}

/* NULL when sb (lstat or fstat of FILE) may be a session cache: a regular
 * file of the user running the command that no one else may read or write.
 * Else what is wrong, in why. */
static const char *cache_unsafe(const struct stat *sb, char *why, size_t cap)
{
    if (S_ISLNK(sb->st_mode))
        return "a symbolic link (never followed)";
    if (!S_ISREG(sb->st_mode))
        return "not a regular file";
    if (sb->st_uid != geteuid()) {
        say(why, cap, "owned by uid %lu, not by uid %lu, who runs this command",
            (unsigned long)sb->st_uid, (unsigned long)geteuid());
        return why;
    }
    if ((sb->st_mode & 077) != 0) {
        say(why, cap, "open to %s (mode %03lo): it holds a TLS session secret; it must be "
            "readable and writable by its owner alone (chmod 600)",
            (sb->st_mode & 070) == 0 ? "others" : (sb->st_mode & 007) == 0 ? "its group" :
            "its group and others", (unsigned long)(sb->st_mode & 07777));
        return why;
    }
    return NULL;
}

/* FILE opened for reading, never through a link, and checked again once
 * open: the descriptor; -1 when it is missing or cannot be opened (a warning
 * said so, unless missing); -2 after a message when it is unsafe. */
static int cache_open(const char *path)
{
    struct stat sb;
    char why[200];
    const char *bad;
    int fd;
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT)
            cache_warn(path, strerror(errno), "; a full TLS handshake");
        return -1;                /* missing: made at the end */
    }
    if ((bad = cache_unsafe(&sb, why, sizeof why)) != NULL) {
        cache_unsafe_say(path, bad);
        return -2;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP || errno == EMLINK) {  /* swapped for a link meanwhile */
            cache_unsafe_say(path, "a symbolic link (never followed)");
            return -2;
        }
        if (errno != ENOENT)
            cache_warn(path, strerror(errno), "; a full TLS handshake");
        return -1;
    }
    if (fstat(fd, &sb) != 0 || (bad = cache_unsafe(&sb, why, sizeof why)) != NULL) {
        cache_unsafe_say(path, bad != NULL ? bad : strerror(errno));
        close(fd);
        return -2;
    }
    return fd;
}

/* Up to cap bytes of fd into buf: the count, or -1 (errno) on a read error
 * or when the file holds more. */
static long cache_read(int fd, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k == 0)
            return (long)n;
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        n += (size_t)k;
        if (n == cap) {
            errno = EFBIG;
            return -1;
        }
    }
}

int cache_load(const char *path, icbu_net *net, const icbu_url *url)
{
    unsigned char *buf;
    long n;
    int fd = cache_open(path);
    if (fd == -2)
        return EXIT_SPOOL_IO;
    if (fd < 0)
        return 0;
    if (!url->https) {            /* no TLS: checked, not read */
        close(fd);
        return 0;
    }
    if ((buf = (unsigned char *)malloc(CACHE_READ_MAX)) == NULL)
        out_of_memory();
    n = cache_read(fd, buf, CACHE_READ_MAX);
    close(fd);
    if (n < 0)
        cache_warn(path, errno == EFBIG ? "larger than a saved session can be" : strerror(errno),
                   "; a full TLS handshake");
    else if (icbu_net_session_load(net, url, buf, (size_t)n) != 0)
        cache_warn(path, net->why, "; ignored: a full TLS handshake");
    icbu_wipe(buf, CACHE_READ_MAX);
    free(buf);
    net->why[0] = '\0';
    return 0;
}

/* The temporary file's path for FILE: DIR/.NAME.PID.tmp (0, or -1 when too long). */
static int cache_temp_path(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int n;
    if (slash == NULL)
        n = snprintf(tmp, cap, ".%s.%ld.tmp", path, (long)getpid());
    else
        n = snprintf(tmp, cap, "%.*s/.%s.%ld.tmp", (int)(slash - path), path, slash + 1,
                     (long)getpid());
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* n bytes to a new file tmp (0600), fsynced: 0, or an errno value (nothing left). */
static int cache_write_temp(const char *tmp, const unsigned char *p, size_t n)
{
    int err, fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    err = write_all(fd, p, n);
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err != 0)
        unlink(tmp);
    return err;
}

/* tmp renamed over FILE, unless FILE became unsafe meanwhile. 0, or -1 after a warning. */
static int cache_replace(const char *path, const char *tmp)
{
    struct stat sb;
    char why[200];
    const char *bad;
    if (lstat(path, &sb) == 0 && (bad = cache_unsafe(&sb, why, sizeof why)) != NULL) {
        cache_warn(path, bad, "; not replaced");
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        cache_warn(path, strerror(errno), "; not written");
        unlink(tmp);
        return -1;
    }
    return 0;
}

void cache_save(const char *path, const icbu_net *net)
{
    char tmp[PATH_CAP];
    unsigned char *buf;
    size_t n = icbu_net_session_save(net, NULL, 0);
    int err;
    if (n == 0)
        return;                   /* no session to keep */
    if (cache_temp_path(path, tmp, sizeof tmp) != 0) {
        cache_warn(path, strerror(ENAMETOOLONG), "; not written");
        return;
    }
    if ((buf = (unsigned char *)malloc(n)) == NULL)
        out_of_memory();
    if (icbu_net_session_save(net, buf, n) != n)
        err = EINVAL;
    else
        err = cache_write_temp(tmp, buf, n);
    icbu_wipe(buf, n);
    free(buf);
    if (err != 0) {
        cache_warn(path, strerror(err), "; not written");
        return;
    }
    (void)cache_replace(path, tmp);
}
