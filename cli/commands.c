/* commands.c - icbu-reflow: sign, send or parse an
 * alibaba.finance.insurance.icbu.insure.order.callback call, and keep the
 * orders that cannot be delivered now in a spool directory (send --spool,
 * flush). The other jobs are in the files cli.h names. This file holds the
 * library's implementation.
 *
 * Build (from the repository root; cli/build.mk does it for `make examples`):
 *   cc -std=c99 -D_POSIX_C_SOURCE=200809L -I. -DCLI_TLS_MBEDTLS -DICBU_REFLOW_CRYPTO_MBEDTLS \
 *      cli/commands.c cli/deliver.c cli/options.c cli/order.c cli/output.c cli/spool.c \
 *      cli/cache.c transports/icbu_net_posix.c transports/icbu_x509_ip.c \
 *      transports/icbu_tls_mbedtls.c -lmbedtls -lmbedx509 -lmbedcrypto
 *   (or -DCLI_TLS_BEARSSL -DICBU_REFLOW_CRYPTO_BEARSSL with icbu_tls_bearssl.c and -lbearssl;
 *   with mbedTLS 4.x, -DICBU_REFLOW_CRYPTO_PSA and -lmbedtls -lmbedx509 -ltfpsacrypto)
 * The TLS library is whichever icbu_tls_*.c is linked; CLI_TLS_* only picks the
 * hash back end when none is given (with CLI_TLS_MBEDTLS: MBEDTLS on 2.28 and
 * 3.x, PSA on 4.x).
 *
 * WHAT send --spool KEEPS: every order that was not delivered, unless the
 * order itself is invalid (exit 4), the gateway gave a final answer about it
 * (accepted 0, a business refusal 1, a platform error about its content 2),
 * the answer cannot be read (3: the gateway may have taken it), or it has no
 * external_biz_id (a resend could report it twice). A failure that can pass
 * (icbu_retryable) is spooled with exit 5. A SETTINGS ERROR (icbu_fault_of:
 * platform codes 9, 11, 12 and 21-34, HTTP 4xx but 408 and 429, a host name
 * that cannot resolve, an unusable CA file, a server certificate the CA file
 * does not trust or that does not name the host), which no attempt can pass
 * until the settings are fixed, is spooled with exit 6, and stderr names the
 * setting. flush stops at a settings error and keeps the order (exit 2 for a
 * platform code, 3 for the others). The spool itself: spool.c. */
#if !defined(ICBU_REFLOW_CRYPTO_MBEDTLS) && !defined(ICBU_REFLOW_CRYPTO_BEARSSL) && \
    !defined(ICBU_REFLOW_CRYPTO_CUSTOM) && !defined(ICBU_REFLOW_CRYPTO_PSA)
#  ifdef CLI_TLS_BEARSSL
#    define ICBU_REFLOW_CRYPTO_BEARSSL
#  else
#    include <mbedtls/version.h>
#    if MBEDTLS_VERSION_NUMBER >= 0x04000000    /* 4.x hashes through PSA only */
#      define ICBU_REFLOW_CRYPTO_PSA
#    else
#      define ICBU_REFLOW_CRYPTO_MBEDTLS
#    endif
#  endif
#endif
#define ICBU_REFLOW_IMPLEMENTATION
#include "cli.h"
#ifdef ICBU_REFLOW_CRYPTO_PSA
#include <psa/crypto.h>          /* the library hashes through PSA: we initialise it */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#if defined(ICBU_REFLOW_CRYPTO_PSA)
const char cli_hashes[] = "PSA Crypto";
#elif defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
const char cli_hashes[] = "mbedTLS";
#elif defined(ICBU_REFLOW_CRYPTO_BEARSSL)
const char cli_hashes[] = "BearSSL";
#else
const char cli_hashes[] = "custom";
#endif

/* --------------------------------------------------------------- parse */
static int cmd_parse(const struct options *o)
{
    icbu_outcome out;
    icbu_err e;
    icbu_status st;
    char *body = NULL;
    size_t len = 0;
    int err = read_input(o->input, &body, &len), rc;
    if (err != 0) {
        fputs("icbu-reflow: cannot read ", stderr);
        put_clean(o->input);
        fprintf(stderr, ": %s\n", strerror(err));
        return EXIT_TRANSPORT;
    }
    memset(&out, 0, sizeof out);
    memset(&e, 0, sizeof e);
    st = icbu_parse_response(body, len, &out, &e);
    if (st != ICBU_OK) {          /* not a TOP answer: a failure of the parse stage */
        memset(&out, 0, sizeof out);
        out.kind = ICBU_TRANSPORT_ERROR;
        out.stage = ICBU_STAGE_PARSE;
        out.status = st;
    }
    rc = outcome_json(stdout, &out, &e, NULL, 0);
    fputs("}\n", stdout);
    free(body);
    return finish(rc);
}

/* ---------------------------------------------------------------- sign */
static int cmd_sign(const struct options *o)
{
    icbu_config cfg;
    icbu_err e;
    char *json = NULL, *body;
    void *arena = NULL;
    size_t need = 0, len = 0, json_len = 0;
    const icbu_order *order = load_order(o->input, &json, &json_len, &arena);

    make_config(o, &cfg);
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(&cfg, order, NULL, 0, &need, &e) != ICBU_OK)
        sign_failed(&e);
    if ((body = (char *)malloc(need + 1)) == NULL)
        out_of_memory();
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(&cfg, order, body, need, &len, &e) != ICBU_OK)
        sign_failed(&e);
    cli_secret_forget();
    fwrite(body, 1, len, stdout);
    fputc('\n', stdout);
    free(body);
    free(arena);
    free(json);
    return finish(EXIT_ACCEPTED);
}

/* ---------------------------------------------------------------- send */
/* send --spool: the order not delivered (r) written into the spool, if it
 * may be; the exit status (rc as it was when not spooled). dfd: the spool,
 * or SPOOL_ABSENT (made now). */
static int spool_after_send(const struct options *o, const struct result *r, int *dfd,
                            const char *json, size_t json_len, int rc)
{
    char name[64];
    int err = 0, written = 0;
    if (!r->retryable && r->setting == NULL)
        return rc;                /* a final answer, or one that cannot be read */
    if (r->without_key) {
        fputs("icbu-reflow: not delivered, and not spooled: without external_biz_id a later "
              "resend could report it twice\n", stderr);
        return rc;
    }
    if (*dfd == SPOOL_ABSENT)
        *dfd = spool_open(o->spool, 1);
    if (*dfd < 0) {
        fputs("icbu-reflow: not delivered, and NOT spooled\n", stderr);
        return rc;
    }
    if ((err = spool_add(*dfd, json, json_len, name, sizeof name, &written)) != 0 && written) {
        /* In the spool, but maybe not on disk: counted as not spooled, so
         * that the caller keeps the order; a flush may deliver it as well,
         * which the gateway takes once (external_biz_id). */
        fputs("icbu-reflow: not delivered, and NOT spooled for certain: ", stderr);
        put_clean(o->spool);
        fprintf(stderr, "/%s was written, but syncing the directory failed (%s), so a crash "
                "may lose it; a later flush may still deliver it, once\n", name, strerror(err));
        return rc;
    }
    if (err != 0) {
        fputs("icbu-reflow: not delivered, and NOT spooled: cannot write to ", stderr);
        put_clean(o->spool);
        fprintf(stderr, ": %s\n", strerror(err));
        return rc;
    }
    fputs(r->setting != NULL ? "icbu-reflow: not delivered; spooled as "
                             : "icbu-reflow: not delivered now; spooled as ", stderr);
    put_clean(o->spool);
    fprintf(stderr, "/%s%s\n", name, r->setting != NULL ?
            ", but flush cannot deliver it until the settings are fixed" : "");
    return r->setting != NULL ? EXIT_SETTINGS : EXIT_SPOOLED;
}

static int cmd_send(const struct options *o)
{
    icbu_url url;
    struct result r;
    char *json = NULL;
    void *order_arena = NULL;
    const icbu_order *order;
    struct link link;
    size_t json_len = 0;
    int rc, dfd = SPOOL_ABSENT;

    if (icbu_url_parse(o->url, &url) != ICBU_OK)
        usage_error("bad --url (want http://host[:port][/path] or https://...)");
    order = load_order(o->input, &json, &json_len, &order_arena);
    /* An unsafe spool is found before anything is sent (one that is not
     * there yet is made when an order goes into it). */
    if (o->spool != NULL && (dfd = spool_open(o->spool, 0)) == -1) {
        fputs("icbu-reflow: nothing sent: the spool must be fixed first\n", stderr);
        free(order_arena);
        free(json);
        return EXIT_SPOOL_IO;
    }
    /* One order: Connection: close. An unsafe --session-cache stops it here. */
    if ((rc = link_open(&link, o, &url, 0)) != 0) {
        fputs("icbu-reflow: nothing sent: the session cache must be fixed first\n", stderr);
        if (dfd >= 0)
            close(dfd);
        free(order_arena);
        free(json);
        return rc;
    }
    if (deliver(o, &url, order, 1, &link, &r) == ORDER_FAULT)
        invalid_order(&r.e);      /* exits 4 */
    link_close(&link, o);
    cli_secret_forget();
    if (r.attempts > 1)
        fprintf(stderr, "icbu-reflow: %u attempts\n", r.attempts);
    if (r.setting != NULL)
        fprintf(stderr, "icbu-reflow: settings error: %s\n", r.setting);
    rc = o->spool != NULL ? spool_after_send(o, &r, &dfd, json, json_len, r.rc) : r.rc;
    if (dfd >= 0)
        close(dfd);
    fwrite(r.line.p, 1, r.line.n, stdout);
    fputs("}\n", stdout);
    free(r.line.p);
    free(order_arena);
    free(json);
    return finish(rc);
}

/* --------------------------------------------------------------- flush */
enum fate { F_REMOVED, F_REFUSED, F_KEPT };

/* The order file name, read and sent: its outcome in r (an invalid order as
 * an "invalid_order" line, r->rc 4). 0, or the exit status when flush must
 * stop before sending it (*gone: it was taken out meanwhile). */
static int flush_send(const struct options *o, const icbu_url *url, const struct spool *sp,
                      struct link *l, const char *name, struct result *r, int *gone)
{
    char path[PATH_CAP], text[400];
    char *json = NULL;
    void *arena = NULL;
    const icbu_order *order = NULL;
    const char *what = NULL;
    size_t len = 0;
    int err;
    memset(r, 0, sizeof *r);
    if ((err = path_join(path, sp->dir, name)) == 0)
        err = spool_read(sp, name, &json, &len, &what);
    *gone = err == ENOENT;    /* taken out by hand meanwhile */
    if (err != 0 && (*gone || what != NULL || err != EFBIG)) {
        if (what != NULL)
            spool_unsafe(sp->dir, name, what);
        else if (!*gone)
            spool_failed("read", path, err);
        return EXIT_SPOOL_IO;
    }
    if (err != 0 || decode_order(json, len, &arena, &order, &r->e) != ICBU_OK ||
        deliver(o, url, order, 0, l, r) == ORDER_FAULT) {
        icbu_err e = r->e;
        if (err != 0)
            say(text, sizeof text, "invalid order: cannot read it: %s", strerror(err));
        else
            invalid_text(&e, text, sizeof text);
        memset(r, 0, sizeof *r);
        fputs("{\"outcome\":\"invalid_order\",\"error\":", line_open(&r->line));
        json_string(r->line.f, text, strlen(text));
        line_close(&r->line);
        r->rc = EXIT_BAD_ORDER;
    }
    free(arena);
    free(json);
    return 0;
}

/* The order's fate after its outcome r; *stop_rc gets the exit status when
 * it is kept (F_KEPT): flush stops there, unless it is 5 (flush_one). */
static enum fate flush_fate(struct spool *sp, const char *name, const struct result *r,
                            int *stop_rc)
{
    char path[PATH_CAP];
    int err, moved = 0;
    if (path_join(path, sp->dir, name) != 0)
        say(path, sizeof path, "%s", name);
    if (r->rc == EXIT_ACCEPTED) {
        /* The answer is in: only now does the order leave the spool. */
        if ((err = spool_remove(sp, name)) == 0)
            return F_REMOVED;
        spool_failed("remove", path, err);
    } else if (r->rc == EXIT_REFUSED || r->rc == EXIT_BAD_ORDER ||
               (r->rc == EXIT_PLATFORM && !r->retryable && !r->config_error)) {
        if ((err = spool_refuse(sp, name, &r->line, &moved)) == 0)
            return F_REFUSED;
        if (moved) {
            /* Its line must say where it is: in refused/. A crash may still
             * bring it back, to be sent and refused again; flush stops, as
             * the disk is failing. */
            fputs("icbu-reflow: moved to refused/: ", stderr);
            put_clean(path);
            fprintf(stderr, ", but syncing the directories failed (%s), so a crash may bring "
                    "it back into the spool\n", strerror(err));
            *stop_rc = EXIT_SPOOL_IO;
            return F_REFUSED;
        }
        if (err > 0)
            spool_failed("move to refused/", path, err);
    } else {
        /* It may pass later (5), needs the settings fixed (2: a platform
         * code about them, 3: host, CA file, certificate, HTTP 4xx), or needs
         * a look (3: an answer we cannot read; the gateway may have taken it):
         * kept either way. */
        if (r->setting != NULL)
            fprintf(stderr, "icbu-reflow: settings error: %s; the order is kept: fix the "
                    "settings, then flush again\n", r->setting);
        *stop_rc = r->config_error ? EXIT_PLATFORM : r->retryable ? EXIT_SPOOLED : EXIT_TRANSPORT;
        return F_KEPT;
    }
    *stop_rc = EXIT_SPOOL_IO;
    return F_KEPT;
}

/* flush goes on past an order kept for a failure that can pass: that failure
 * may be the order's own (a gateway that fails on its content every time),
 * and stopping there would hold back every order after it for good. But
 * FAILING_MAX such orders in a row stop it: the way to the gateway is then
 * most likely down, and each order more would only spend its --timeout. */
#define FAILING_MAX 2u

/* Sends the order file name and settles it; its line on stdout. *failing
 * counts the orders in a row kept for a failure that can pass. *stop_rc is
 * set when flush must stop here (then F_KEPT). */
static enum fate flush_one(const struct options *o, const icbu_url *url, struct spool *sp,
                           struct link *l, const char *name, unsigned *failing, int *stop_rc)
{
    static const char *const fate_name[] = { "removed", "refused", "kept" };
    struct result r;
    enum fate fate;
    int gone = 0, stop = EXIT_ACCEPTED, rc = flush_send(o, url, sp, l, name, &r, &gone);
    if (gone)
        return F_REMOVED;
    if (rc != 0) {
        *stop_rc = rc;
        return F_KEPT;
    }
    fate = flush_fate(sp, name, &r, &stop);
    flush_line(name, &r.line, r.attempts, fate_name[fate]);
    free(r.line.p);
    /* A rate limit (429, code 7) asks to wait: the next order would add to
     * the load, so it stops flush at once. Any other failure that can pass
     * may be the order's own: it is set aside, so that the next flush sends
     * it after the others (settings errors and rate limits are no order's). */
    if (stop == EXIT_SPOOLED && !r.throttled) {
        spool_set_aside(sp, name);
        if (++*failing < FAILING_MAX)
            return F_KEPT;
    }
    if (stop != EXIT_ACCEPTED)
        *stop_rc = stop;
    else if (r.rc != EXIT_BAD_ORDER)
        *failing = 0;             /* the gateway answered (an invalid order was not sent) */
    return fate;
}

/* The orders go over one connection (link), kept open from one to the next
 * while the server allows it (unless --no-keep-alive); when the server closes
 * it, the next order connects again (icbu_report reconnects at most once per
 * order when it finds a kept connection dead before any answer). */
static int cmd_flush(const struct options *o)
{
    icbu_url url;
    struct spool sp;
    struct link link;
    unsigned failing = 0;
    int rc, first = 1, kept = 0;

    if (icbu_url_parse(o->url, &url) != ICBU_OK)
        usage_error("bad --url (want http://host[:port][/path] or https://...)");
    if ((rc = link_open(&link, o, &url, !o->no_keep_alive)) != 0) {
        fputs("icbu-reflow: nothing sent: the session cache must be fixed first\n", stderr);
        return rc;
    }
    if ((rc = spool_take(&sp, o->spool)) != 0) {
        link_close(&link, o);
        return rc;
    }
    for (;;) {                    /* again while sends add orders meanwhile */
        char **names = NULL;
        long n = spool_list(&sp, &names, first), i;
        first = 0;
        if (n < 0) {
            spool_failed("read the spool", o->spool, errno);
            rc = EXIT_SPOOL_IO;
            break;
        }
        for (i = 0; i < n && rc == EXIT_ACCEPTED; i++)
            if (flush_one(o, &url, &sp, &link, names[i], &failing, &rc) == F_KEPT)
                kept = 1;
        spool_names_free(names, n);
        /* Not again after keeping one: it would be listed and sent again. The
         * next flush sends it after the others (set aside). */
        if (n == 0 || rc != EXIT_ACCEPTED || kept)
            break;
    }
    if (rc == EXIT_ACCEPTED && kept)
        rc = EXIT_SPOOLED;        /* orders left for a later flush */
    link_close(&link, o);
    cli_secret_forget();
    spool_release(&sp);
    return finish(rc);
}

/* ---------------------------------------------------------------- main */
/* Descriptors 0, 1 and 2 taken, on /dev/null where the caller closed them:
 * else the first files opened here get their numbers, and what is printed
 * goes there (flush's lines into DIR/.lock, messages into a socket). Each is
 * opened the other way round (input write-only, outputs read-only), so that
 * using it fails as on a closed one (EBADF: "cannot read -", exit 3 when the
 * output cannot be written). open() gives the lowest number free: fd. */
static void stdio_keep(void)
{
    int fd;
    for (fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            (void)open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
}

int main(int argc, char **argv)
{
    struct options o;
    struct rlimit no_core;
    int rc;
    /* The secret is in memory for as long as orders go (and in the
     * environment when given there): no core file of it, and on Linux no
     * ptrace or /proc/PID/mem of this process by the user's other programs. */
    no_core.rlim_cur = no_core.rlim_max = 0;
    (void)setrlimit(RLIMIT_CORE, &no_core);
#ifdef __linux__
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
#ifdef SIGXFSZ
    /* A file size limit (ulimit -f) fails the write with EFBIG, as a full
     * disk does: send then says "NOT spooled", flush keeps the order. By
     * default SIGXFSZ would end the process in the middle of writing an
     * order, its answer or the session cache, without a word. */
    (void)signal(SIGXFSZ, SIG_IGN);
#endif
    atexit(cli_secret_forget);
    stdio_keep();
    parse_args(argc, argv, &o);
#ifdef ICBU_REFLOW_CRYPTO_PSA
    {
        psa_status_t ps = psa_crypto_init();     /* once, before anything hashes */
        if (ps != PSA_SUCCESS) {
            fprintf(stderr, "icbu-reflow: PSA crypto initialisation failed (status %ld)\n", (long)ps);
            return EXIT_TRANSPORT;
        }
    }
#endif
    if (strcmp(o.cmd, "parse") == 0)
        rc = cmd_parse(&o);
    else if (strcmp(o.cmd, "sign") == 0)
        rc = cmd_sign(&o);
    else if (strcmp(o.cmd, "flush") == 0)
        rc = cmd_flush(&o);
    else
        rc = cmd_send(&o);
    cli_secret_forget();
    return rc;
}
