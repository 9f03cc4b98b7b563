/* tests/fsync_shim.c - an LD_PRELOAD shim for tests/reliability.py, over
 * fsync() of a directory, as ICBU_SHIM_DIRSYNC says:
 *   fail        it fails with EIO, as on a disk that fails while a rename
 *               is made durable;
 *   log:FILE    it is done, and "DEV INO\n" of the directory appended to FILE,
 *               so that a test can tell which directories were made durable.
 * fsync() of anything else is the real one. Built by the test itself
 * (cc -shared -fPIC ... -ldl). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd)
{
    const char *how = getenv("ICBU_SHIM_DIRSYNC");
    struct stat sb;
    int (*real)(int);
    *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (how == NULL || fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return real(fd);
    if (strcmp(how, "fail") == 0) {
        errno = EIO;
        return -1;
    }
    if (strncmp(how, "log:", 4) == 0) {
        FILE *f = fopen(how + 4, "a");
        if (f != NULL) {
            fprintf(f, "%llu %llu\n", (unsigned long long)sb.st_dev,
                    (unsigned long long)sb.st_ino);
            fclose(f);
        }
    }
    return real(fd);
}
