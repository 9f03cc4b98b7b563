/* spool.c - the spool directory of icbu-reflow (send --spool DIR, flush --spool DIR).
 *
 *   DIR/<ns>-<pid>-<n>.json   an order not delivered yet: the ORDER bytes as given.
 *                             <ns> is CLOCK_REALTIME in nanoseconds, 20 digits,
 *                             so the names sort oldest first.
 *   DIR/.<name>.<pid>.tmp     a file being written (open O_EXCL, write, fsync,
 *                             rename, fsync DIR). Never read by flush; removed
 *                             by flush once older than SPOOL_STALE_S.
 *   DIR/.lock                 flush holds flock(LOCK_EX) on it while it runs;
 *                             a second flush does not wait: it exits 75.
 *   DIR/refused/<name>        an order refused for good, and beside it
 *   DIR/refused/<name>.answer.json   the line flush printed for it (one JSON line).
 *                             Never replaced: an order whose name is taken there is
 *                             left in DIR, unsent, with a warning.
 * flush sends the orders oldest first (by modification time, then name); an
 * order it keeps after a failure is set aside (its time set to now), so that
 * the next flush sends it after the others. An accepted order is deleted only after
 * the answer arrived; a refused one is moved (answer written first, then a
 * rename), so a flush killed at any point loses nothing: at worst the order in
 * flight is sent again, and the report is idempotent by external_biz_id.
 *
 * TRUST MODEL. The spool holds orders that flush signs with the secret and
 * sends, and flush writes, renames and removes files in it: it is trusted as
 * much as the secret. So:
 *   - DIR must be a directory owned by the user who runs the command (the
 *     effective uid) and not writable by its group or by others; else send
 *     and flush exit 74 at once, before anything is sent, and say what is
 *     wrong. A missing DIR is made by send with mode 0700; flush never makes
 *     it. Run flush as the user who owns DIR (root is refused a DIR of
 *     another user: whoever can write DIR could otherwise plant orders that
 *     get signed with root's secret, or links that make root write elsewhere).
 *   - The path to DIR is trusted as given: a symbolic link in it is followed,
 *     once, when DIR is opened; from then on every file is reached through
 *     that open directory, so DIR cannot be swapped after the check.
 *   - Nothing inside DIR is followed: .lock, the order files and refused/ are
 *     opened with O_NOFOLLOW and checked with fstat (regular file, or a
 *     directory with DIR's ownership and mode for refused/); temporary files
 *     are made with O_CREAT|O_EXCL|O_NOFOLLOW. An order name that is a
 *     symbolic link or not a regular file is never read: flush says so on
 *     stderr and leaves it; a .lock or refused/ that is a symbolic link, or
 *     not what it should be, stops flush with exit 74 before it sends.
 *   - Whoever is DIR's owner (or root) is trusted: what they put in DIR is sent. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_STALE_S 600     /* a spool temp file this old was left by a killed writer */

int path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < PATH_CAP ? 0 : ENAMETOOLONG;
}

static int fsync_dir(int dfd);

/* ------------------------------------------------------------- messages */
void spool_failed(const char *what, const char *path, int err)
{
    fprintf(stderr, "icbu-reflow: cannot %s ", what);
    put_clean(path);
    fprintf(stderr, ": %s\n", strerror(err));
}

void spool_unsafe(const char *dir, const char *name, const char *what)
{
    fputs("icbu-reflow: unsafe spool: ", stderr);
    put_clean(dir);
    if (name != NULL) {
        fputc('/', stderr);
        put_clean(name);
    }
    fprintf(stderr, ": %s\n", what);
}

/* NULL when the directory open as fd may hold a spool (DIR, or its
 * refused/): a directory owned by the user running the command and not
 * writable by its group or by others, whom the spool would trust with what
 * flush sends (signed with the secret) and where it writes. Else what is
 * wrong, in why. */
static const char *dir_untrusted(int fd, char *why, size_t cap)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        say(why, cap, "not usable: %s", strerror(errno));
        return why;
    }
    if (!S_ISDIR(sb.st_mode))
        return "not a directory";
    if (sb.st_uid != geteuid()) {
        say(why, cap, "owned by uid %lu, not by uid %lu, who runs this command: a spool "
            "must belong to the user who runs icbu-reflow on it",
            (unsigned long)sb.st_uid, (unsigned long)geteuid());
        return why;
    }
    if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        say(why, cap, "writable by %s (mode %03lo): a spool must be writable by its owner "
            "alone (chmod go-w)",
            (sb.st_mode & S_IWGRP) == 0 ? "others" :
            (sb.st_mode & S_IWOTH) == 0 ? "its group" : "its group and others",
            (unsigned long)(sb.st_mode & 07777));
        return why;
    }
    return NULL;
}

/* name (in dfd) failed to open with O_NOFOLLOW (error err): says why, as
 * unsafe when it is a symbolic link or not what it should be (what: "a
 * directory" or "a regular file"). */
static void entry_failed(int dfd, const char *dir, const char *name, int err, const char *what)
{
    struct stat sb;
    char path[PATH_CAP], text[64];
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
        spool_unsafe(dir, name, "a symbolic link (never followed)");
    } else if (err == ENOTDIR || err == ELOOP || err == EISDIR) {
        say(text, sizeof text, "not %s", what);
        spool_unsafe(dir, name, text);
    } else {
        spool_failed("open", path_join(path, dir, name) == 0 ? path : name, err);
    }
}

/* fd (a directory: DIR, or refused/ as name), checked with dir_untrusted:
 * fd, or -1 (closed) after a message. */
static int dir_checked(int fd, const char *dir, const char *name)
{
    char why[200];
    const char *bad = dir_untrusted(fd, why, sizeof why);
    if (bad == NULL)
        return fd;
    spool_unsafe(dir, name, bad);
    close(fd);
    return -1;
}

/* The directory that holds path (a directory just made there) fsynced, so
 * that the new entry survives a crash with the orders then written into it:
 * 0, or the errno of the fsync that failed. A parent that cannot be opened
 * (no read permission) is left as it is: best effort, as the fsync of a
 * directory is. */
static int fsync_parent(const char *path)
{
    char parent[PATH_CAP];
    size_t n = strlen(path);
    int fd, err = 0;
    while (n > 1 && path[n - 1] == '/')       /* "a/b/" is "a/b" */
        n--;
    while (n > 0 && path[n - 1] != '/')       /* its last name left out */
        n--;
    while (n > 1 && path[n - 1] == '/')       /* "a//b": "a"; "/b": "/" */
        n--;
    if (n >= sizeof parent)
        return 0;
    memcpy(parent, n > 0 ? path : ".", n > 0 ? n : 1);
    parent[n > 0 ? n : 1] = '\0';
    if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        err = fsync_dir(fd);
        close(fd);
    }
    return err;
}

int spool_open(const char *dir, int create)
{
    int fd, err = 0;
    /* A spool made now whose entry may not be on disk would take orders
     * that a crash can lose with it: it is taken back (rmdir), so that the
     * next send makes it again, and this order is NOT spooled. */
    if (create && mkdir(dir, 0700) == 0) {
        if ((err = fsync_parent(dir)) != 0)
            (void)rmdir(dir);
    } else if (create && errno != EEXIST) {
        err = errno;
    }
    if (err != 0) {
        spool_failed("create the spool", dir, err);
        return -1;
    }
    /* A symbolic link in the path given is followed: the user named it;
     * nothing inside it ever is. */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !create)
        return SPOOL_ABSENT;
    if (fd < 0) {
        spool_failed("open the spool", dir, errno);
        return -1;
    }
    return dir_checked(fd, dir, NULL);
}

/* DIR/refused, opened without following a symbolic link and checked like
 * DIR. create: made when missing. The descriptor; SPOOL_ABSENT when it is
 * missing and !create; -1 after a message. */
static int refused_open(int dfd, const char *dir, int create)
{
    char path[PATH_CAP];
    int fd;
    if (create && mkdirat(dfd, "refused", 0700) != 0 && errno != EEXIST) {
        if (path_join(path, dir, "refused") == 0)
            spool_failed("create", path, errno);
        return -1;
    }
    fd = openat(dfd, "refused", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !create)
        return SPOOL_ABSENT;
    if (fd < 0) {
        entry_failed(dfd, dir, "refused", errno, "a directory");
        return -1;
    }
    return dir_checked(fd, dir, "refused");
}

/* ------------------------------------------------------------- writing */
/* fsync of a directory, so that a rename or unlink in it is on disk. */
static int fsync_dir(int dfd)
{
    if (fsync(dfd) != 0 && errno != EINVAL)   /* some file systems cannot */
        return errno;
    return 0;
}

int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        if (k == 0)
            return EIO;           /* took nothing and said nothing: it never will */
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* name in the directory dfd gets data, atomically: a temporary file (hidden,
 * .tmp; O_EXCL and O_NOFOLLOW: never through a link) in it, write, fsync,
 * rename, fsync of the directory. 0 or an errno value; *renamed (when not
 * NULL) says whether name is in the directory, which it is when only the
 * directory's fsync failed. */
static int write_atomic(int dfd, const char *name, const char *data, size_t len, int *renamed)
{
    char tname[PATH_CAP];
    int fd, err;
    say(tname, sizeof tname, ".%s.%ld.tmp", name, (long)getpid());
    fd = openat(dfd, tname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    err = write_all(fd, data, len);
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && renameat(dfd, tname, dfd, name) != 0)
        err = errno;
    if (err != 0) {
        (void)unlinkat(dfd, tname, 0);
        return err;
    }
    if (renamed != NULL)
        *renamed = 1;
    return fsync_dir(dfd);
}

/* A new order file name: the time in ns (20 digits), pid, a counter; the
 * names sort in the order they were made (oldest first). */
static void spool_name(char *out, size_t cap)
{
    static unsigned counter;
    struct timespec ts;
    unsigned long long ns;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        ts.tv_sec = time(NULL);
        ts.tv_nsec = 0;
    }
    ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
    say(out, cap, "%020llu-%010lu-%04u.json", ns, (unsigned long)getpid(), counter++ % 10000u);
}

int spool_add(int dfd, const char *data, size_t len, char *name, size_t cap, int *written)
{
    *written = 0;
    spool_name(name, cap);
    return write_atomic(dfd, name, data, len, written);
}

/* ------------------------------------------------------------- reading */
/* Is name an order file of the spool? (what flush sends) */
static int is_order_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int is_temp_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' && n > 4 && strcmp(name + n - 4, ".tmp") == 0;
}

/* A listing of the directory dfd (a descriptor of its own: dfd keeps its place). */
static DIR *dir_list(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    if (fd < 0)
        return NULL;
    d = fdopendir(fd);
    if (d == NULL) {
        int err = errno;
        close(fd);
        errno = err;
    }
    return d;
}

/* Removes the temporary files of the directory dfd left by killed writers:
 * those older than max_age seconds (max_age < 0: all of them). */
static void remove_stale_temps(int dfd, long max_age)
{
    DIR *d = dir_list(dfd);
    struct dirent *de;
    time_t now = time(NULL);
    int removed = 0;
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        if (!is_temp_name(de->d_name) ||
            fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
            (max_age >= 0 && (long)(now - sb.st_mtime) < max_age))
            continue;
        if (unlinkat(dfd, de->d_name, 0) == 0)
            removed = 1;
    }
    closedir(d);
    if (removed)
        (void)fsync_dir(dfd);
}

int spool_read(const struct spool *sp, const char *name, char **out, size_t *len, const char **what)
{
    struct stat sb;
    FILE *f;
    int fd, err;
    *what = NULL;
    fd = openat(sp->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        if (err == ELOOP)                 /* O_NOFOLLOW met a symbolic link */
            *what = "a symbolic link (never followed)";
        return err;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        *what = "not a regular file";
        return EINVAL;
    }
    f = fdopen(fd, "rb");
    if (f == NULL) {
        err = errno;
        close(fd);
        return err;
    }
    err = read_stream(f, out, len);
    fclose(f);
    return err;
}

/* The longest order file name flush takes: a refused order's answer goes
 * beside it as NAME.answer.json, written through ".NAME.answer.json.PID.tmp",
 * 38 bytes more (a pid of up to 20 digits), and that must be a file name
 * (255 bytes). A longer name could never be moved to refused/. */
#define ORDER_NAME_MAX (255 - 38)

/* Does refused/ hold an order of that name? A refused order moved there
 * would replace it (and its answer): the order kept before would be lost. An
 * answer alone is left by a flush killed before it moved the order: this
 * order's own, written again. */
static int refused_taken(const struct spool *sp, const char *name)
{
    struct stat sb;
    return sp->rfd >= 0 && fstatat(sp->rfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Is the entry name (an order file's name) a regular file, with a name
 * flush can move? Else warn (when asked) and skip it: symbolic links are
 * never followed. -1: gone meanwhile. */
static int order_file_ok(const struct spool *sp, const char *name, int warn, struct timespec *t)
{
    struct stat sb;
    const char *why;
    if (fstatat(sp->dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    *t = sb.st_mtim;
    if (!S_ISREG(sb.st_mode))
        why = S_ISLNK(sb.st_mode) ? "a symbolic link (never followed)" : "not a regular file";
    else if (strlen(name) > ORDER_NAME_MAX)
        why = "a name longer than 217 bytes (its answer could not be written beside it "
              "in refused/): rename it";
    else if (refused_taken(sp, name))
        why = "its name is already in refused/ (a refused order kept there, which a refusal "
              "of this one would replace): rename it";
    else if (faccessat(sp->dfd, name, R_OK, AT_EACCESS) != 0 &&
             (errno == EACCES || errno == EPERM))
        why = "not readable by the user who runs flush (permission denied): fix its owner "
              "or mode";
    else
        return 1;
    if (warn) {
        fputs("icbu-reflow: warning: not sent: ", stderr);
        put_clean(sp->dir);
        fputc('/', stderr);
        put_clean(name);
        fprintf(stderr, ": %s\n", why);
    }
    return 0;
}

/* An order file as listed: when it was last written or set aside, and its name. */
struct listed {
    struct timespec t;
    char *name;
};

/* A copy of name appended to the list *v (n entries, room for *cap). */
static void names_add(struct listed **v, size_t n, size_t *cap, const char *name, struct timespec t)
{
    if (n == *cap) {
        struct listed *p;
        *cap = *cap ? *cap * 2 : 64;
        if ((p = (struct listed *)realloc(*v, *cap * sizeof *p)) == NULL)
            out_of_memory();
        *v = p;
    }
    if (((*v)[n].name = (char *)malloc(strlen(name) + 1)) == NULL)
        out_of_memory();
    strcpy((*v)[n].name, name);
    (*v)[n].t = t;
}

static int listed_cmp_time(const struct timespec *x, const struct timespec *y)
{
    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? -1 : 1;
    return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* Oldest first; the names break ties (a file system with coarse times). */
static int listed_cmp(const void *a, const void *b)
{
    const struct listed *x = (const struct listed *)a, *y = (const struct listed *)b;
    int c = listed_cmp_time(&x->t, &y->t);
    return c != 0 ? c : strcmp(x->name, y->name);
}

void spool_names_free(char **v, long n)
{
    long i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

long spool_list(struct spool *sp, char ***names, int warn)
{
    DIR *d = dir_list(sp->dfd);
    struct dirent *de;
    struct listed *v = NULL;
    struct timespec t;
    size_t n = 0, cap = 0, i;
    int err;
    if (d == NULL)
        return -1;
    for (errno = 0; (de = readdir(d)) != NULL; errno = 0)   /* NULL, errno 0: the end */
        if (is_order_name(de->d_name) && order_file_ok(sp, de->d_name, warn, &t) == 1)
            names_add(&v, n++, &cap, de->d_name, t);
    err = errno;
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, listed_cmp);
    if (n > 0)
        sp->last = v[n - 1].t;
    if ((*names = (char **)malloc((n ? n : 1) * sizeof **names)) == NULL)
        out_of_memory();
    for (i = 0; i < n; i++)               /* the names alone, in that order */
        (*names)[i] = v[i].name;
    free(v);
    if (err != 0) {                       /* a listing cut short is no listing */
        spool_names_free(*names, (long)n);
        *names = NULL;
        errno = err;
        return -1;
    }
    return (long)n;
}

void spool_set_aside(const struct spool *sp, const char *name)
{
    struct timespec t[2];
    t[0].tv_sec = 0;
    t[0].tv_nsec = UTIME_OMIT;            /* the access time as it is */
    if (clock_gettime(CLOCK_REALTIME, &t[1]) != 0 || listed_cmp_time(&t[1], &sp->last) <= 0) {
        t[1] = sp->last;                  /* the same tick as the latest: just after it */
        if (++t[1].tv_nsec == 1000000000L) {
            t[1].tv_nsec = 0;
            t[1].tv_sec++;
        }
    }
    /* The time alone, not fsynced: lost in a crash, the order keeps its place. */
    (void)utimensat(sp->dfd, name, t, AT_SYMLINK_NOFOLLOW);
}

/* ------------------------------------------------------------- changing */
int spool_remove(const struct spool *sp, const char *name)
{
    if (unlinkat(sp->dfd, name, 0) != 0 && errno != ENOENT)
        return errno;
    (void)fsync_dir(sp->dfd);
    return 0;
}

int spool_refuse(struct spool *sp, const char *name, const struct line *l, int *moved)
{
    char aname[PATH_CAP], *answer;
    int err;
    *moved = 0;
    if (sp->rfd == SPOOL_ABSENT && (sp->rfd = refused_open(sp->dfd, sp->dir, 1)) < 0) {
        sp->rfd = SPOOL_ABSENT;
        return -1;
    }
    if (refused_taken(sp, name))          /* put there since it was listed */
        return EEXIST;
    say(aname, sizeof aname, "%s.answer.json", name);
    if ((answer = (char *)malloc(l->n + 2)) == NULL)
        out_of_memory();
    memcpy(answer, l->p, l->n);
    memcpy(answer + l->n, "}\n", 2);
    err = write_atomic(sp->rfd, aname, answer, l->n + 2, NULL);
    free(answer);
    if (err != 0)
        return err;
    if (renameat(sp->dfd, name, sp->rfd, name) != 0)
        return errno;
    *moved = 1;               /* in refused/ now, whatever the fsyncs say */
    if ((err = fsync_dir(sp->rfd)) != 0)
        return err;
    return fsync_dir(sp->dfd);
}

/* --------------------------------------------------------------- the lock */
/* DIR/.lock, opened (never through a link) and locked without waiting: the
 * descriptor, or -EXIT_LOCKED / -EXIT_SPOOL_IO after a message. */
static int lock_take(int dfd, const char *dir, const char *lock_path)
{
    struct stat sb;
    int fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0) {
        entry_failed(dfd, dir, ".lock", errno, "a regular file");
        return -EXIT_SPOOL_IO;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        spool_unsafe(dir, ".lock", "not a regular file");
        close(fd);
        return -EXIT_SPOOL_IO;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EINTR)
            continue;
        close(fd);
        if (err != EWOULDBLOCK) {
            spool_failed("lock", lock_path, err);
            return -EXIT_SPOOL_IO;
        }
        fputs("icbu-reflow: another flush is running on ", stderr);
        put_clean(dir);
        fputs(" (it holds the lock on .lock); not waiting\n", stderr);
        return -EXIT_LOCKED;
    }
    return fd;
}

int spool_take(struct spool *sp, const char *dir)
{
    char lock_path[PATH_CAP];
    int err;
    sp->dir = dir;
    sp->dfd = sp->rfd = sp->lock_fd = -1;
    sp->last.tv_sec = 0;
    sp->last.tv_nsec = 0;
    if ((err = path_join(lock_path, dir, ".lock")) != 0) {
        spool_failed("use the spool", dir, err);
        return EXIT_SPOOL_IO;
    }
    if ((sp->dfd = spool_open(dir, 0)) == SPOOL_ABSENT)
        spool_failed("open the spool", dir, ENOENT);
    if (sp->dfd < 0 || (sp->lock_fd = lock_take(sp->dfd, dir, lock_path)) < 0) {
        err = sp->dfd < 0 ? EXIT_SPOOL_IO : -sp->lock_fd;
        spool_release(sp);
        return err;
    }
    /* Ours alone now: the answers' temporary files in refused/ are leftovers
     * of a killed flush; the spool's are stale once old (a send may be
     * writing one right now). An unsafe refused/ stops flush before it sends. */
    if ((sp->rfd = refused_open(sp->dfd, dir, 0)) == -1) {
        spool_release(sp);
        return EXIT_SPOOL_IO;
    }
    if (sp->rfd >= 0)
        remove_stale_temps(sp->rfd, -1);
    remove_stale_temps(sp->dfd, SPOOL_STALE_S);
    return 0;
}

void spool_release(struct spool *sp)
{
    if (sp->rfd >= 0)
        close(sp->rfd);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd);       /* releases the lock */
    if (sp->dfd >= 0)
        close(sp->dfd);
    sp->dfd = sp->rfd = sp->lock_fd = -1;
}
