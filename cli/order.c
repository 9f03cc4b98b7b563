/* order.c - the input of icbu-reflow: reading ORDER or RESPONSE (a file, or
 * standard input), decoding the order, and what is said when it is invalid or
 * does not sign. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_MAX ((size_t)256 * 1024 * 1024)   /* refuse larger ORDER/RESPONSE */

int read_stream(FILE *f, char **out, size_t *len)
{
    char *buf = NULL, *p;
    size_t n = 0, cap = 0, k = 1;
    int err = 0;
    while (k != 0 && err == 0) {
        if (cap - n < 4096) {
            size_t ncap = cap < 65536 ? 65536 : cap * 2;
            if (ncap > INPUT_MAX + 1) {
                err = EFBIG;
                break;
            }
            if ((p = (char *)realloc(buf, ncap)) == NULL) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap = ncap;
        }
        errno = 0;
        k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0 && ferror(f))
            err = errno != 0 ? errno : EIO;   /* why: EISDIR, EAGAIN... */
    }
    if (err != 0) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int read_input(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int err;
    if (f == NULL)
        return errno != 0 ? errno : EIO;
    err = read_stream(f, out, len);
    if (f != stdin)
        fclose(f);
    return err;
}

/* e->path with control characters shown as '?'. */
static void clean_path(const icbu_err *e, char path[ICBU_PATH_MAX + 1])
{
    size_t i = 0, m = 0, k;
    for (; i < ICBU_PATH_MAX && e->path[i] != '\0'; i += k != 0 ? k : 1)
        path[m++] = (k = control_len(e->path + i, ICBU_PATH_MAX - i)) != 0 ? '?' : e->path[i];
    path[m] = '\0';
}

void invalid_text(const icbu_err *e, char *out, size_t cap)
{
    const char *text = icbu_strerror(e->status);
    char path[ICBU_PATH_MAX + 1];
    clean_path(e, path);
    if (e->status == ICBU_E_NO_BIZ_ID)
        say(out, cap, "invalid order: external_biz_id is missing or blank, and a spooled "
            "order is retried: it needs that idempotency key");
    else if (path[0] != '\0')
        say(out, cap, "invalid order: %s at %s", text, path);
    else if (e->status != ICBU_E_NOSPACE && e->status != ICBU_E_ARG)
        say(out, cap, "invalid order: %s at offset %lu", text, (unsigned long)e->offset);
    else
        say(out, cap, "invalid order: %s", text);
}

void invalid_order(const icbu_err *e)
{
    char text[400];
    invalid_text(e, text, sizeof text);
    fprintf(stderr, "icbu-reflow: %s\n", text);
    exit(EXIT_BAD_ORDER);
}

icbu_status decode_order(const char *json, size_t len, void **arena,
                         const icbu_order **order, icbu_err *e)
{
    size_t need = 0;
    int tries;
    *arena = NULL;
    *order = NULL;
    /* Sizing call, then the real one in a malloc'd (so 8-aligned) arena. */
    memset(e, 0, sizeof *e);
    if (icbu_decode_order(json, len, NULL, 0, order, &need, e) != ICBU_OK)
        return e->status;
    for (tries = 0; tries < 2; tries++) {
        void *p = realloc(*arena, need != 0 ? need : 1);
        size_t used = 0;
        if (p == NULL)
            out_of_memory();
        *arena = p;
        memset(e, 0, sizeof *e);
        if (icbu_decode_order(json, len, *arena, need, order, &used, e) == ICBU_OK)
            return ICBU_OK;
        if (e->status != ICBU_E_NOSPACE || e->need <= need)
            break;
        need = e->need;
    }
    return e->status;
}

/* Is err, for which ORDER could not be read, the system's rather than the
 * order's (an I/O error; no descriptor, memory or data to be had now)? Then
 * another try may pass, and the order is not to be called invalid: exit 4
 * tells a caller to give it up. */
static int read_failure_passes(int err)
{
    return err == EIO || err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS ||
           err == EAGAIN || err == EINTR;
}

const icbu_order *load_order(const char *path, char **json, size_t *len, void **arena)
{
    const icbu_order *order = NULL;
    icbu_err e;
    int err = read_input(path, json, len), passes = read_failure_passes(err);
    if (err != 0) {
        fputs(passes ? "icbu-reflow: cannot read ORDER " : "icbu-reflow: invalid order: cannot read ",
              stderr);
        put_clean(path);
        fprintf(stderr, ": %s%s\n", strerror(err), passes ? "; nothing sent: try again" : "");
        exit(passes ? EXIT_SPOOL_IO : EXIT_BAD_ORDER);
    }
    if (decode_order(*json, *len, arena, &order, &e) != ICBU_OK)
        invalid_order(&e);
    return order;
}

int order_fault(const icbu_err *e)
{
    icbu_outcome nothing_sent;
    memset(&nothing_sent, 0, sizeof nothing_sent);      /* kind ICBU_NONE */
    return icbu_fault_of(&nothing_sent, e) == ICBU_FAULT_ORDER;
}

/* The order's failure exits 4; the settings' exits 64 when an option is
 * wrong (a bad argument, text or date), else 3. */
void sign_failed(const icbu_err *e)
{
    cli_secret_forget();
    if (order_fault(e))
        invalid_order(e);
    fprintf(stderr, "icbu-reflow: cannot sign: %s", icbu_strerror(e->status));
    if (e->path[0] != '\0') {
        fputs(" (", stderr);
        put_clean(e->path);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
    exit(e->status == ICBU_E_ARG || e->status == ICBU_E_UTF8 || e->status == ICBU_E_DATE
         ? EXIT_USAGE : EXIT_TRANSPORT);
}
