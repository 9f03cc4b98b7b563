/* tests/fail_dirsync.c - an LD_PRELOAD shim for tests/reliability.py: fsync()
 * of a directory fails with EIO, as on a disk that fails while a rename is
 * made durable; fsync() of anything else is the real one. Built by the test
 * itself (cc -shared -fPIC ... -ldl). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd)
{
    struct stat sb;
    int (*real)(int);
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        errno = EIO;
        return -1;
    }
    *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    return real != NULL ? real(fd) : (errno = ENOSYS, -1);
}
