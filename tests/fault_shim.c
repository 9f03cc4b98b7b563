/* tests/fault_shim.c - an LD_PRELOAD shim for tests/reliability.py: the calls
 * with which icbu-reflow changes files fail as on a full disk. As
 * ICBU_SHIM_FAIL="N:ERR" says, the N-th of these calls (counted from 1 in
 * the process) fails with ERR (ENOSPC, EDQUOT, EFBIG, EROFS or EIO) instead
 * of being made:
 *   open, openat     with O_CREAT (a spool's order or answer, .lock, the
 *                    --session-cache file)
 *   write            to a regular file
 *   fsync            of a file or a directory
 *   rename, renameat
 *   mkdir, mkdirat
 *   unlink, unlinkat (an accepted order removed, a temporary file)
 * With ICBU_SHIM_WRITE_ZERO set, every write to a regular file returns 0
 * instead: nothing taken and no error (not counted).
 * Every call counted is appended to the file ICBU_SHIM_LOG (when set) as
 * "N NAME\n", and the one made to fail as "N NAME fail\n", so that a test
 * can tell when N is past the last call. Built by the test itself
 * (cc -shared -fPIC ... -ldl). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static unsigned long calls;

static void *real(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Counts this call: 1 when it must fail (errno set), else 0. */
static int must_fail(const char *name)
{
    const char *how = getenv("ICBU_SHIM_FAIL"), *log = getenv("ICBU_SHIM_LOG");
    unsigned long n = ++calls, at = 0;
    char err[16] = "";
    int fail = how != NULL && sscanf(how, "%lu:%15s", &at, err) == 2 && at == n;
    int saved = errno;
    if (log != NULL) {
        FILE *f = fopen(log, "a");
        if (f != NULL) {
            fprintf(f, "%lu %s%s\n", n, name, fail ? " fail" : "");
            fclose(f);
        }
    }
    errno = saved;
    if (!fail)
        return 0;
    errno = strcmp(err, "EDQUOT") == 0 ? EDQUOT : strcmp(err, "EFBIG") == 0 ? EFBIG :
            strcmp(err, "EROFS") == 0 ? EROFS : strcmp(err, "EIO") == 0 ? EIO : ENOSPC;
    return 1;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) != 0 ? (mode_t)va_arg(ap, int) : 0;
}

/* open and openat both as openat (open is openat at AT_FDCWD), counted under
 * the name the program called. */
static int open_counted(const char *name, int dfd, const char *path, int flags, mode_t mode)
{
    int (*f)(int, const char *, int, ...) = (int (*)(int, const char *, int, ...))real("openat");
    if ((flags & O_CREAT) != 0 && must_fail(name))
        return -1;
    return f(dfd, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return open_counted("open", AT_FDCWD, path, flags, mode);
}

int openat(int dfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return open_counted("openat", dfd, path, flags, mode);
}

ssize_t write(int fd, const void *p, size_t n)
{
    ssize_t (*f)(int, const void *, size_t) = (ssize_t (*)(int, const void *, size_t))real("write");
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && getenv("ICBU_SHIM_WRITE_ZERO") != NULL)
        return 0;                 /* takes nothing, and says no error (a FUSE file system may) */
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && must_fail("write"))
        return -1;
    return f(fd, p, n);
}

int fsync(int fd)
{
    int (*f)(int) = (int (*)(int))real("fsync");
    return must_fail("fsync") ? -1 : f(fd);
}

int rename(const char *from, const char *to)
{
    int (*f)(const char *, const char *) = (int (*)(const char *, const char *))real("rename");
    return must_fail("rename") ? -1 : f(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
    int (*f)(int, const char *, int, const char *) =
        (int (*)(int, const char *, int, const char *))real("renameat");
    return must_fail("renameat") ? -1 : f(fd1, from, fd2, to);
}

int mkdir(const char *path, mode_t mode)
{
    int (*f)(const char *, mode_t) = (int (*)(const char *, mode_t))real("mkdir");
    return must_fail("mkdir") ? -1 : f(path, mode);
}

int mkdirat(int dfd, const char *path, mode_t mode)
{
    int (*f)(int, const char *, mode_t) = (int (*)(int, const char *, mode_t))real("mkdirat");
    return must_fail("mkdirat") ? -1 : f(dfd, path, mode);
}

int unlink(const char *path)
{
    int (*f)(const char *) = (int (*)(const char *))real("unlink");
    return must_fail("unlink") ? -1 : f(path);
}

int unlinkat(int dfd, const char *path, int flags)
{
    int (*f)(int, const char *, int) = (int (*)(int, const char *, int))real("unlinkat");
    return must_fail("unlinkat") ? -1 : f(dfd, path, flags);
}
