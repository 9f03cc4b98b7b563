/* icbu_reflow_cli.c - the icbu-reflow command: sign, send or parse an
 * alibaba.finance.insurance.icbu.insure.order.callback call, and keep the
 * orders that cannot be delivered now in a spool directory (send --spool,
 * flush).
 *
 * Build (from the repository root; see examples/build.mk):
 *   cc -std=c99 -D_POSIX_C_SOURCE=200809L -I. -DCLI_TLS_MBEDTLS -DICBU_REFLOW_CRYPTO_MBEDTLS \
 *      examples/icbu_reflow_cli.c examples/net_posix.c examples/x509_ip.c \
 *      examples/tls_mbedtls.c -lmbedtls -lmbedx509 -lmbedcrypto
 *   (or -DCLI_TLS_BEARSSL -DICBU_REFLOW_CRYPTO_BEARSSL with tls_bearssl.c and -lbearssl;
 *   with mbedTLS 4.x, -DICBU_REFLOW_CRYPTO_PSA and -lmbedtls -lmbedx509 -ltfpsacrypto)
 * This file holds the library implementation. The TLS back end is whichever
 * tls_*.c is linked; CLI_TLS_* only picks the hash back end when none is given
 * (with CLI_TLS_MBEDTLS: MBEDTLS on 2.28 and 3.x, PSA on 4.x).
 *
 * RETRIES: send and flush go through icbu_report(): every attempt connects
 * afresh (TCP, then TLS for https) through the transport's open/close
 * callbacks, signs again with a fresh timestamp, and waits a random pause
 * (full jitter, /dev/urandom) before the next. --timeout is the budget of the
 * whole thing: every attempt and every pause.
 *
 * THE SPOOL (send --spool DIR, flush --spool DIR)
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
 * flush sends the orders oldest first. An accepted order is deleted only after
 * the answer arrived; a refused one is moved (answer written first, then a
 * rename), so a flush killed at any point loses nothing: at worst the order in
 * flight is sent again, and the report is idempotent by external_biz_id.
 *
 * WHAT send --spool KEEPS: every order that was not delivered, unless the
 * order itself is invalid (exit 4), the gateway gave a final answer about it
 * (accepted 0, a business refusal 1, a platform error about its content 2),
 * the answer cannot be read (3: the gateway may have taken it), or it has no
 * external_biz_id (a resend could report it twice). A failure that can pass
 * is spooled with exit 5. A SETTINGS ERROR, which no attempt can pass until
 * the settings are fixed, is spooled with exit 6, and stderr names the
 * setting: platform codes 11, 12 and 21-33 (permissions, method, format,
 * signature: a wrong secret is 25, session, app key, timestamp, version), a
 * host name that cannot resolve (invalid, refused by the transport before
 * any lookup, or unknown to the resolver), an unusable CA file, a server
 * certificate the CA file does not trust or that does not name the host.
 * flush stops at a settings error and keeps the order (exit 2 for a platform
 * code, 3 for the others).
 *
 * TRUST MODEL OF THE SPOOL. The spool holds orders that flush signs with the
 * secret and sends, and flush writes, renames and removes files in it: it is
 * trusted as much as the secret. So:
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
 *   - Whoever is DIR's owner (or root) is trusted: what they put in DIR is sent.
 */
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
#include "icbu_reflow.h"
#include "net.h"
#ifdef ICBU_REFLOW_CRYPTO_PSA
#include <psa/crypto.h>          /* the library hashes through PSA: we initialise it */
#endif
#if defined(ICBU_REFLOW_CRYPTO_PSA)
#define CLI_HASHES "PSA Crypto"
#elif defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
#define CLI_HASHES "mbedTLS"
#elif defined(ICBU_REFLOW_CRYPTO_BEARSSL)
#define CLI_HASHES "BearSSL"
#else
#define CLI_HASHES "custom"
#endif

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define EXIT_ACCEPTED   0
#define EXIT_REFUSED    1
#define EXIT_PLATFORM   2
#define EXIT_TRANSPORT  3
#define EXIT_BAD_ORDER  4
#define EXIT_SPOOLED    5     /* send: kept in the spool; flush: orders left for later */
#define EXIT_SETTINGS   6     /* send: spooled, but the settings must be fixed first */
#define EXIT_USAGE      64
#define EXIT_SPOOL_IO   74    /* the spool directory is unsafe, or cannot be read or changed */
#define EXIT_LOCKED     75    /* another flush holds the spool */

#define INPUT_MAX ((size_t)256 * 1024 * 1024)   /* refuse larger ORDER/RESPONSE */
#define DEFAULT_URL "https://gw.api.taobao.com/router/rest"
#define DEFAULT_RETRIES 3
#define MAX_RETRIES 100
#define SPOOL_STALE_S 600     /* a spool temp file this old was left by a killed writer */
#define PATH_CAP 4096

static const char usage_text[] =
"usage: icbu-reflow sign  [OPTIONS] ORDER     print the signed form body that would be POSTed, on one line\n"
"       icbu-reflow send  [OPTIONS] ORDER     send it; print the gateway's answer as one line of JSON\n"
"       icbu-reflow flush --spool DIR [OPTIONS]   send the orders kept in DIR, oldest first\n"
"       icbu-reflow parse RESPONSE            parse a gateway response body; print it as send does\n"
"ORDER / RESPONSE: a file path, or - for standard input. ORDER is the JSON of insured_order_reflow_request.\n"
"OPTIONS\n"
"  --app-key KEY        (or env ICBU_REFLOW_APP_KEY)\n"
"  --secret SECRET      (or env ICBU_REFLOW_APP_SECRET; the environment is preferred:\n"
"                        the command line is visible to other users)\n"
"  --sign-method md5|hmac|hmac-sha256   (default hmac-sha256)\n"
"  --timestamp 'YYYY-MM-DD HH:MM:SS'    (GMT+8; default: now, taken again for every attempt)\n"
"  --session TOKEN   --partner-id ID   --simplify\n"
"  --url URL            (default " DEFAULT_URL "; http:// and https://)\n"
"  --ca-file PEM        (trust for https; default: " NET_DEFAULT_CA_FILE ")\n"
"  --timeout MS         (the whole delivery of one order: every attempt and pause; default 15000)\n"
"  --retries N          (send, flush: tries again up to N times after a failure that can pass:\n"
"                        connect, TLS, send, receive, HTTP 429/5xx, platform codes 7, 8, 10, 15,\n"
"                        isp.*; with a random pause; default 3, 0 for one attempt. Retries need\n"
"                        the order's external_biz_id, its idempotency key: without it, send\n"
"                        tries once and says so on stderr, and flush refuses the order)\n"
"  --spool DIR          (send: an order not delivered is written to DIR, byte for byte: exit 5\n"
"                        when it failed in a way that can pass, 6 when the settings must be fixed\n"
"                        first; not an invalid order, a final answer about the order, an answer\n"
"                        that cannot be read, or an order without external_biz_id.\n"
"                        flush: the spool to send. DIR must be owned by the user running the\n"
"                        command and not writable by group or others; links in it are not followed)\n"
"Output of send and parse: one JSON object on one line; fields absent from the answer are left out.\n"
"  {\"outcome\":\"accepted\",\"insure_id\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"refused\",\"error_code\":\"...\",\"error_msg\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"platform_error\",\"code\":25,\"msg\":\"...\",\"sub_code\":\"...\",\"sub_msg\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"transport_error\",\"stage\":\"connect|tls|send|receive|http|parse\",\"detail\":\"...\"}\n"
"  send says \"icbu-reflow: N attempts\" on stderr when it tried more than once (the line\n"
"  tells the last try).\n";
/* (two strings: C99 compilers need only take 4095 bytes in one) */
static const char usage_more[] =
"Output of flush: one line per order handled: {\"file\":\"NAME\", the fields above,\n"
"  \"attempts\":N when more than one, \"spool\":\"removed|refused|kept\"}, or {\"file\":\"NAME\",\"outcome\":\"invalid_order\",\"error\":\"...\",...}.\n"
"  Accepted: deleted. Refused for good (business refusal, platform error that retries cannot\n"
"  fix, invalid order): moved to DIR/refused/, with NAME.answer.json beside it (the line\n"
"  printed for it, without \"file\" and \"spool\").\n"
"  flush stops at the first order that fails otherwise and keeps it and the rest; a\n"
"  platform error about the settings (codes 11, 12, 21-33: signature, app key, timestamp...)\n"
"  stops it with exit 2 (a host, CA file or certificate error: 3), since it would refuse\n"
"  every order alike.\n"
"  One flush at a time per DIR (flock on DIR/.lock): a second one exits 75 at once.\n"
"Settings errors (the same for every order: fix the settings): platform codes 11, 12, 21-33\n"
"  (a wrong secret is 25), a host name that cannot resolve, an unusable CA file, a server\n"
"  certificate that the CA file does not trust or that does not name the host. stderr names\n"
"  the setting.\n"
"Exit status: 0 accepted (flush: the spool is empty), 1 refused, 2 platform error,\n"
"             (flush: 2 also when it stopped at a settings error; the order is kept),\n"
"             3 transport, HTTP or response failure (flush: it stopped at one; kept),\n"
"             4 invalid ORDER (the message on stderr names the field path),\n"
"             5 spooled: send could not deliver the order now and wrote it to --spool DIR;\n"
"               flush stopped at a failure that can pass (orders kept for a later flush),\n"
"             6 spooled, but the settings must be fixed before flush can deliver it\n"
"               (send --spool after a settings error),\n"
"             64 usage, 74 the spool directory is unsafe (send: nothing sent) or cannot be\n"
"             read or written (send exits with the failure, 2 or 3, when it cannot write\n"
"             the order there), 75 another flush is running on the spool\n";

/* ------------------------------------------------------------ the secret */
static char  *g_secret;           /* our copy; wiped on every way out */
static size_t g_secret_len;

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n-- > 0)
        *v++ = 0;
}

static void secret_forget(void)
{
    if (g_secret != NULL) {
        wipe(g_secret, g_secret_len);
        free(g_secret);
    }
    g_secret = NULL;
    g_secret_len = 0;
}

static void secret_set(const char *s)
{
    size_t n = strlen(s);
    secret_forget();
    g_secret = (char *)malloc(n + 1);
    if (g_secret == NULL) {
        fputs("icbu-reflow: out of memory\n", stderr);
        exit(EXIT_TRANSPORT);
    }
    memcpy(g_secret, s, n + 1);
    g_secret_len = n;
}

/* ---------------------------------------------------------------- usage */
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("icbu-reflow: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'icbu-reflow --help'.\n", stderr);
    exit(EXIT_USAGE);
}

static void out_of_memory(void)
{
    fputs("icbu-reflow: out of memory\n", stderr);
    exit(EXIT_TRANSPORT);
}

/* Text of a status without its "(err.xxx)" note for programmers. */
static void status_text(icbu_status s, char *out, size_t cap)
{
    const char *t = icbu_strerror(s);
    const char *note = t != NULL ? strstr(t, " (err.") : NULL;
    if (t == NULL)
        t = "unknown error";
    if (note != NULL)
        net_say(out, cap, "%.*s", (int)(note - t), t);
    else
        net_say(out, cap, "%s", t);
}

/* Prints s on stderr with control characters shown as '?'. */
static void put_clean(const char *s)
{
    for (; *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7F ? '?' : *s, stderr);
}

/* ------------------------------------------------------------- options */
struct options {
    const char *cmd, *input;
    const char *app_key, *session, *partner_id, *url, *ca_file, *spool;
    icbu_sign_method method;
    icbu_date timestamp;
    int have_timestamp, simplify;
    uint32_t timeout_ms;
    unsigned retries;
};

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (max - (unsigned long)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *out = v;
    return 0;
}

/* 'YYYY-MM-DD HH:MM:SS', a real calendar time. */
static int parse_timestamp(const char *s, icbu_date *d)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    unsigned v[6] = { 0, 0, 0, 0, 0, 0 };
    char text[20];
    size_t i;
    int k = 0;
    if (strlen(s) != sizeof shape - 1)
        return -1;
    for (i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd') {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            v[k] = v[k] * 10 + (unsigned)(s[i] - '0');
        } else {
            if (s[i] != shape[i])
                return -1;
            k++;
        }
    }
    *d = icbu_d(v[0], v[1], v[2], v[3], v[4], v[5]);
    return icbu_date_format(d, text) == ICBU_OK ? 0 : -1;
}

enum opt_id { O_APP_KEY, O_SECRET, O_SIGN_METHOD, O_TIMESTAMP, O_SESSION, O_PARTNER_ID,
              O_SIMPLIFY, O_URL, O_CA_FILE, O_TIMEOUT, O_RETRIES, O_SPOOL, O_HELP, O_VERSION };
static const struct { const char *name; enum opt_id id; int has_value; } opt_table[] = {
    { "app-key", O_APP_KEY, 1 },       { "secret", O_SECRET, 1 },
    { "sign-method", O_SIGN_METHOD, 1 }, { "timestamp", O_TIMESTAMP, 1 },
    { "session", O_SESSION, 1 },       { "partner-id", O_PARTNER_ID, 1 },
    { "simplify", O_SIMPLIFY, 0 },     { "url", O_URL, 1 },
    { "ca-file", O_CA_FILE, 1 },       { "timeout", O_TIMEOUT, 1 },
    { "retries", O_RETRIES, 1 },       { "spool", O_SPOOL, 1 },
    { "help", O_HELP, 0 },             { "version", O_VERSION, 0 }
};

#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

/* Are the first m bytes of a and b the same option name? (case aside, '_' as '-') */
static int same_name(const char *a, const char *b, size_t m)
{
    size_t i;
    for (i = 0; i < m; i++) {
        int x = tolower((unsigned char)(a[i] == '_' ? '-' : a[i]));
        int y = tolower((unsigned char)(b[i] == '_' ? '-' : b[i]));
        if (x != y)
            return 0;
    }
    return 1;
}

/* "unknown option" for --NAME (namelen bytes of name: up to its '=', which is
 * never shown, nor what follows it). A NAME that begins with a known option's
 * name is most likely that option with its value glued on (--secretVALUE):
 * only the known name is shown. Other names are shown up to 40 bytes. */
static void unknown_option(const char *name, size_t namelen)
{
    size_t k, known = 0, best = 0;
    for (k = 0; k < N_OPTS; k++) {
        size_t m = strlen(opt_table[k].name);
        if (m < namelen && m > known && same_name(name, opt_table[k].name, m)) {
            known = m;
            best = k;
        }
    }
    if (known > 0 && opt_table[best].has_value)
        usage_error("unknown option '--%.*s...' (the rest is not shown: it may be a value; "
                    "--%s takes it as --%s VALUE or --%s=VALUE)", (int)known, name,
                    opt_table[best].name, opt_table[best].name, opt_table[best].name);
    if (known > 0)
        usage_error("unknown option '--%.*s...' (the rest is not shown; did you mean --%s?)",
                    (int)known, name, opt_table[best].name);
    usage_error("unknown option '--%.*s%s'", (int)(namelen > 40 ? 40 : namelen), name,
                namelen > 40 ? "..." : "");
}

static void apply_option(struct options *o, enum opt_id id, char *value)
{
    unsigned long ms = 0, n = 0;
    switch (id) {
    case O_APP_KEY:    o->app_key = value; break;
    case O_SESSION:    o->session = value; break;
    case O_PARTNER_ID: o->partner_id = value; break;
    case O_URL:        o->url = value; break;
    case O_CA_FILE:    o->ca_file = value; break;
    case O_SIMPLIFY:   o->simplify = 1; break;
    case O_SECRET:
        secret_set(value);
        wipe(value, strlen(value));   /* out of /proc/PID/cmdline, at least */
        break;
    case O_SIGN_METHOD:
        if (strcmp(value, "md5") == 0)
            o->method = ICBU_SIGN_MD5;
        else if (strcmp(value, "hmac") == 0)
            o->method = ICBU_SIGN_HMAC;
        else if (strcmp(value, "hmac-sha256") == 0)
            o->method = ICBU_SIGN_HMAC_SHA256;
        else
            usage_error("bad --sign-method (md5, hmac or hmac-sha256)");
        break;
    case O_TIMESTAMP:
        if (parse_timestamp(value, &o->timestamp) != 0)
            usage_error("bad --timestamp (want 'YYYY-MM-DD HH:MM:SS', GMT+8)");
        o->have_timestamp = 1;
        break;
    case O_TIMEOUT:
        if (parse_uint(value, 0x7FFFFFFFul, &ms) != 0 || ms == 0)
            usage_error("bad --timeout (milliseconds, 1 to 2147483647)");
        o->timeout_ms = (uint32_t)ms;
        break;
    case O_RETRIES:
        if (parse_uint(value, MAX_RETRIES, &n) != 0)
            usage_error("bad --retries (0 to %d)", MAX_RETRIES);
        o->retries = (unsigned)n;
        break;
    case O_SPOOL:
        if (value[0] == '\0')
            usage_error("bad --spool (a directory)");
        o->spool = value;
        break;
    case O_HELP:
        fputs(usage_text, stdout);
        fputs(usage_more, stdout);
        exit(0);
    case O_VERSION:
        printf("icbu-reflow %s (TLS: %s; hashes: %s)\n", ICBU_REFLOW_VERSION, tls_backend_name,
               CLI_HASHES);
        exit(0);
    }
}

static void parse_args(int argc, char **argv, struct options *o)
{
    int i, only_positional = 0, flush;
    memset(o, 0, sizeof *o);
    o->method = ICBU_SIGN_HMAC_SHA256;
    o->timeout_ms = 15000;
    o->url = DEFAULT_URL;
    o->retries = DEFAULT_RETRIES;

    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (!only_positional && a[0] == '-' && a[1] != '\0') {
            const char *name = a + 2;
            char *eq, *value = NULL;
            size_t n, k, namelen;
            if (strcmp(a, "-h") == 0)
                apply_option(o, O_HELP, NULL);
            if (a[1] != '-') {   /* never echo more than -X: the rest could be a secret */
                if (a[2] == '\0')
                    usage_error("unknown option '-%c'", a[1]);
                usage_error("unknown option '-%c...' (not shown; options are --NAME, and -h)",
                            a[1]);
            }
            eq = strchr(a + 2, '=');
            namelen = eq != NULL ? (size_t)(eq - name) : strlen(name);
            n = N_OPTS;
            for (k = 0; k < n; k++)
                if (strlen(opt_table[k].name) == namelen &&
                    memcmp(opt_table[k].name, name, namelen) == 0)
                    break;
            if (k == n)
                unknown_option(name, namelen);
            if (!opt_table[k].has_value) {
                if (eq != NULL)
                    usage_error("option '--%s' takes no value", opt_table[k].name);
            } else if (eq != NULL) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                usage_error("option '--%s' needs a value", opt_table[k].name);
            }
            apply_option(o, opt_table[k].id, value);
        } else if (o->cmd == NULL) {
            o->cmd = a;
        } else if (o->input == NULL) {
            o->input = a;
        } else {
            usage_error("too many arguments");
        }
    }
    if (o->cmd == NULL) {
        fputs(usage_text, stderr);
        fputs(usage_more, stderr);
        exit(EXIT_USAGE);
    }
    if (strcmp(o->cmd, "sign") != 0 && strcmp(o->cmd, "send") != 0 &&
        strcmp(o->cmd, "parse") != 0 && strcmp(o->cmd, "flush") != 0)
        usage_error("unknown command (sign, send, flush or parse)");
    flush = strcmp(o->cmd, "flush") == 0;
    if (flush) {
        if (o->input != NULL)
            usage_error("flush takes no ORDER: it sends the orders of --spool DIR");
        if (o->spool == NULL)
            usage_error("flush needs --spool DIR");
    } else if (o->input == NULL) {
        usage_error("missing %s (a file, or - for standard input)",
                    strcmp(o->cmd, "parse") == 0 ? "RESPONSE" : "ORDER");
    }
    if (o->spool != NULL && strcmp(o->cmd, "send") != 0 && !flush)
        usage_error("--spool is for send and flush");
    if (strcmp(o->cmd, "parse") == 0)
        return;
    if (o->app_key == NULL || o->app_key[0] == '\0')
        o->app_key = getenv("ICBU_REFLOW_APP_KEY");
    if (o->app_key == NULL || o->app_key[0] == '\0')
        usage_error("missing app key (--app-key or ICBU_REFLOW_APP_KEY)");
    if (g_secret == NULL || g_secret_len == 0) {
        const char *env = getenv("ICBU_REFLOW_APP_SECRET");
        if (env != NULL)
            secret_set(env);
    }
    if (g_secret == NULL || g_secret_len == 0)
        usage_error("missing secret (ICBU_REFLOW_APP_SECRET or --secret)");
}

/* --------------------------------------------------------------- input */
/* Reads f to its end; NUL-terminated copy. 0 or an errno value. */
static int read_stream(FILE *f, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    for (;;) {
        size_t k;
        if (cap - n < 4096) {
            char *p;
            size_t ncap = cap < 65536 ? 65536 : cap * 2;
            if (ncap > INPUT_MAX + 1) {
                err = EFBIG;
                break;
            }
            p = (char *)realloc(buf, ncap);
            if (p == NULL) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap = ncap;
        }
        k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) {
            if (ferror(f))
                err = EIO;
            break;
        }
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

/* Reads a whole file ("-": standard input); NUL-terminated copy. */
static int read_input(const char *path, char **out, size_t *len)
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

/* ---------------------------------------------------------- the order */
static int is_config_path(const char *path)
{
    static const char *const names[] = { "app_key", "app_secret", "session", "partner_id",
        "target_app_key", "timestamp", "method", "sign_method", "simplify", "format", "v" };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(path, names[i]) == 0)
            return 1;
    return 0;
}

/* "invalid order: <what> at <path>" (control characters shown as '?'). */
static void invalid_text(const icbu_err *e, char *out, size_t cap)
{
    char text[160], path[ICBU_PATH_MAX + 1];
    size_t i;
    status_text(e->status, text, sizeof text);   /* icbu_strerror without "(err.x)" */
    for (i = 0; i < ICBU_PATH_MAX && e->path[i] != '\0'; i++)
        path[i] = (unsigned char)e->path[i] < 0x20 || e->path[i] == 0x7F ? '?' : e->path[i];
    path[i] = '\0';
    if (e->status == ICBU_E_NO_BIZ_ID)
        net_say(out, cap, "invalid order: external_biz_id is missing or blank, and a spooled "
                "order is retried: it needs that idempotency key");
    else if (path[0] != '\0')
        net_say(out, cap, "invalid order: %s at %s", text, path);
    else if (e->status != ICBU_E_NOSPACE && e->status != ICBU_E_ARG)
        net_say(out, cap, "invalid order: %s at offset %lu", text, (unsigned long)e->offset);
    else
        net_say(out, cap, "invalid order: %s", text);
}

static void invalid_order(const icbu_err *e)
{
    char text[400];
    invalid_text(e, text, sizeof text);
    fprintf(stderr, "icbu-reflow: %s\n", text);
    exit(EXIT_BAD_ORDER);
}

/* Decodes json (len bytes) into a malloc'd arena. ICBU_OK, or the error in e. */
static icbu_status decode_order(const char *json, size_t len, void **arena,
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

static const icbu_order *load_order(const char *path, char **json, size_t *len, void **arena)
{
    const icbu_order *order = NULL;
    icbu_err e;
    int err = read_input(path, json, len);
    if (err != 0) {
        fputs("icbu-reflow: invalid order: cannot read ", stderr);
        put_clean(path);
        fprintf(stderr, ": %s\n", strerror(err));
        exit(EXIT_BAD_ORDER);
    }
    if (decode_order(*json, *len, arena, &order, &e) != ICBU_OK)
        invalid_order(&e);
    return order;
}

/* A failure of icbu_sign_body that is not the order's: the options (64), or else (3). */
static void sign_failed_config(const icbu_err *e)
{
    char text[160];
    status_text(e->status, text, sizeof text);
    fprintf(stderr, "icbu-reflow: cannot sign: %s", text);
    if (e->path[0] != '\0') {
        fputs(" (", stderr);
        put_clean(e->path);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
    secret_forget();
    exit(e->status == ICBU_E_ARG || e->status == ICBU_E_UTF8 || e->status == ICBU_E_DATE
         ? EXIT_USAGE : EXIT_TRANSPORT);
}

/* Is this failure of icbu_sign_body the order's? (its field path names it) */
static int order_fault(const icbu_err *e)
{
    return e->path[0] != '\0' && !is_config_path(e->path);
}

/* A failure of icbu_sign_body: the order (4), the options (64), or else (3). */
static void sign_failed(const icbu_err *e)
{
    if (order_fault(e))
        invalid_order(e);
    sign_failed_config(e);
}

static void make_config(const struct options *o, icbu_config *c)
{
    memset(c, 0, sizeof *c);
    c->app_key = o->app_key;
    c->app_secret = g_secret;
    c->sign_method = o->method;
    c->timestamp = o->have_timestamp ? o->timestamp : icbu_date_from_unix((int64_t)time(NULL));
    c->session = o->session;
    c->partner_id = o->partner_id;
    c->simplify = o->simplify;
}

/* -------------------------------------------------------------- output */
/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t k, i;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2; cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3; cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4; cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* A JSON string: quotes, backslashes and control characters escaped, UTF-8
 * written raw, invalid bytes as U+FFFD. */
static void json_string(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    fputc('"', f);
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            i++;
            continue;
        }
        if (c < 0x20) {
            switch (c) {
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:   fprintf(f, "\\u%04x", c); break;
            }
            i++;
            continue;
        }
        k = utf8_len(p + i, n - i);
        if (k == 0) {
            fputs("\\ufffd", f);
            i++;
        } else {
            fwrite(p + i, 1, k, f);
            i += k;
        }
    }
    fputc('"', f);
}

static void field(FILE *f, const char *name, icbu_str v)
{
    if (v.p == NULL)
        return;
    fprintf(f, ",\"%s\":", name);
    json_string(f, v.p, v.n);
}

/* The outcome objects below are written without their closing brace: the
 * caller may add fields ("attempts", "spool"), then "}". */
static int transport_error_json(FILE *f, const char *stage, const char *detail)
{
    fprintf(f, "{\"outcome\":\"transport_error\",\"stage\":\"%s\",\"detail\":", stage);
    json_string(f, detail, strlen(detail));
    return EXIT_TRANSPORT;
}

static const char *stage_of(icbu_status s)
{
    switch (s) {
    case ICBU_E_SEND:    return "send";
    case ICBU_E_RECV:
    case ICBU_E_TIMEOUT: return "receive";
    case ICBU_E_OPEN:    return "connect";
    case ICBU_E_HTTP_SYNTAX: case ICBU_E_HTTP_FOLDED: case ICBU_E_HTTP_FRAMING:
    case ICBU_E_HTTP_SIZE: case ICBU_E_HTTP_TOOBIG: case ICBU_E_HTTP_TRUNCATED:
    case ICBU_E_HTTP_STATUS: return "http";
    default:             return "parse";
    }
}

/* Writes the outcome of send or parse to f; returns the exit status.
 * why: the transport's own description of its failure (send only). */
static int outcome_json(FILE *f, icbu_status st, const icbu_outcome *o, const icbu_err *e,
                        const char *why, uint32_t timeout_ms)
{
    char detail[400], text[160];
    const char *stage;

    if (st == ICBU_OK && o->kind == ICBU_ACCEPTED) {
        fputs("{\"outcome\":\"accepted\"", f);
        field(f, "insure_id", o->insure_id);
        field(f, "request_id", o->request_id);
        return EXIT_ACCEPTED;
    }
    if (st == ICBU_OK && o->kind == ICBU_REFUSED) {
        fputs("{\"outcome\":\"refused\"", f);
        field(f, "error_code", o->error_code);
        field(f, "error_msg", o->error_msg);
        field(f, "request_id", o->request_id);
        return EXIT_REFUSED;
    }
    if (st == ICBU_OK && o->kind == ICBU_PLATFORM_ERROR) {
        fputs("{\"outcome\":\"platform_error\"", f);
        if (o->code.set)
            fprintf(f, ",\"code\":%lld", (long long)o->code.v);
        field(f, "msg", o->msg);
        field(f, "sub_code", o->sub_code);
        field(f, "sub_msg", o->sub_msg);
        field(f, "request_id", o->request_id);
        return EXIT_PLATFORM;
    }
    if (st == ICBU_OK)             /* parsed, but none of the three answers */
        st = ICBU_E_RESPONSE;
    stage = o->kind == ICBU_TRANSPORT_ERROR && o->stage != ICBU_STAGE_NONE
            ? icbu_stage_name(o->stage) : stage_of(st);
    status_text(st, text, sizeof text);
    switch (st) {
    case ICBU_E_OPEN: {            /* our open callback: connect or TLS */
        const char *w = why != NULL && why[0] != '\0' ? why
                        : o->stage == ICBU_STAGE_TLS ? "TLS handshake failed" : "cannot connect";
        if (e->detail == ICBU_IO_TIMEOUT)
            net_say(detail, sizeof detail, "%s (timeout %lu ms)", w, (unsigned long)timeout_ms);
        else
            net_say(detail, sizeof detail, "%s", w);
        break;
    }
    case ICBU_E_HTTP_STATUS:
        net_say(detail, sizeof detail, "HTTP status %ld", e->detail);
        break;
    case ICBU_E_SEND:
    case ICBU_E_RECV:
        if (why != NULL && why[0] != '\0')
            net_say(detail, sizeof detail, "%s", why);
        else if (e->detail < 0)
            net_describe(detail, sizeof detail, e->detail);
        else
            net_say(detail, sizeof detail, "%s", text);
        break;
    case ICBU_E_TIMEOUT:
        net_say(detail, sizeof detail, "%s (timeout %lu ms)",
                 why != NULL && why[0] != '\0' ? why : "deadline passed",
                 (unsigned long)timeout_ms);
        break;
    case ICBU_E_JSON:
    case ICBU_E_DEPTH:
    case ICBU_E_TRAILING:
        net_say(detail, sizeof detail, "%s at offset %lu", text, (unsigned long)e->offset);
        break;
    default:
        net_say(detail, sizeof detail, "%s", text);
        break;
    }
    return transport_error_json(f, stage, detail);
}

static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "icbu-reflow: cannot write the output: %s\n", strerror(errno));
        return status == EXIT_ACCEPTED ? EXIT_TRANSPORT : status;
    }
    return status;
}

/* A growing string for one output line (open_memstream, POSIX 2008). */
struct line {
    char  *p;
    size_t n;
    FILE  *f;
};

static FILE *line_open(struct line *l)
{
    l->p = NULL;
    l->n = 0;
    l->f = open_memstream(&l->p, &l->n);
    if (l->f == NULL)
        out_of_memory();
    return l->f;
}

static void line_close(struct line *l)
{
    if (fclose(l->f) != 0 || l->p == NULL)
        out_of_memory();
    l->f = NULL;
}

/* ------------------------------------------------------- the transport
 * icbu_report's transport: open connects (TCP, then TLS for https) for each
 * attempt and close closes. send/recv never wait past the overall deadline
 * (--timeout), whatever the library asks for. */
struct attempt_io {
    struct conn c;
    const char *ca_file;
    uint32_t deadline;            /* net_now_ms value: the end of --timeout */
};

static uint32_t clamp_to(uint32_t deadline, uint32_t timeout_ms)
{
    uint32_t left = net_remaining(deadline);
    return timeout_ms < left ? timeout_ms : left;
}

static int io_open(void *ctx, const icbu_url *u, uint32_t timeout_ms, icbu_stage *stage)
{
    struct attempt_io *a = (struct attempt_io *)ctx;
    uint32_t deadline = net_now_ms(NULL) + clamp_to(a->deadline, timeout_ms);
    int io;
    conn_init(&a->c);
    io = net_connect(&a->c, u, deadline);
    if (io == 0 && u->https) {
        io = tls_open(&a->c, u, a->ca_file, deadline);
        if (io != 0)
            *stage = ICBU_STAGE_TLS;
    } else if (io != 0) {
        *stage = ICBU_STAGE_CONNECT;
    }
    if (io != 0) {
        conn_close(&a->c);        /* keeps c.why; icbu_report does not close after a failed open */
        return io < 0 ? io : -1;
    }
    a->c.why[0] = '\0';
    return 0;
}

static void io_close(void *ctx)
{
    conn_close(&((struct attempt_io *)ctx)->c);
}

/* The time this call may take within the attempt's deadline; 0 (and why) when none is left. */
static uint32_t io_left(struct attempt_io *a, uint32_t timeout_ms, const char *what)
{
    uint32_t ms = clamp_to(a->deadline, timeout_ms);
    if (ms == 0) net_say(a->c.why, sizeof a->c.why, "%s", what);
    return ms;
}

static long io_send(void *ctx, const unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct attempt_io *a = (struct attempt_io *)ctx;
    uint32_t ms = io_left(a, timeout_ms, "timed out sending");
    return ms ? a->c.send(&a->c, p, n, ms) : ICBU_IO_TIMEOUT;
}

static long io_recv(void *ctx, unsigned char *p, size_t n, uint32_t timeout_ms)
{
    struct attempt_io *a = (struct attempt_io *)ctx;
    uint32_t ms = io_left(a, timeout_ms, "timed out waiting for the answer");
    return ms ? a->c.recv(&a->c, p, n, ms) : ICBU_IO_TIMEOUT;
}

static uint32_t io_now(void *ctx)
{
    (void)ctx;
    return net_now_ms(NULL);
}

/* ------------------------------------------------ retries: pause, random, now */
static void pause_ms(void *ctx, uint32_t ms)
{
    struct timespec ts, rest;
    (void)ctx;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &rest) != 0 && errno == EINTR)
        ts = rest;
}

static uint32_t random32(void *ctx)
{
    static int fd = -2;
    static uint32_t x;            /* fallback only: xorshift seeded by time and pid */
    unsigned char b[4];
    (void)ctx;
    if (fd == -2)
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        size_t got = 0;
        while (got < sizeof b) {
            ssize_t k = read(fd, b + got, sizeof b - got);
            if (k > 0)
                got += (size_t)k;
            else if (k < 0 && errno == EINTR)
                continue;
            else
                break;
        }
        if (got == sizeof b)
            return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16 ^ (uint32_t)time(NULL);
        if (x == 0)
            x = 0x9E3779B9u;
    }
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static int64_t unix_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

/* --------------------------------------------------------- one delivery */
enum delivery { DELIVERED, ORDER_FAULT };

struct result {
    int rc;                       /* the exit status of the outcome (0..3) */
    int retryable;                /* icbu_retryable: it could pass later */
    int config_error;             /* the gateway refused our settings, not the order */
    const char *setting;          /* a settings error: which setting (settings_error) */
    int without_key;              /* no external_biz_id: sent once, not to be spooled */
    unsigned attempts;
    struct line line;             /* the output object, without its closing brace */
    icbu_err e;                   /* ORDER_FAULT: why */
};

/* 1 when the order has no external_biz_id (absent, empty or blank). */
static int without_key(const icbu_order *order)
{
    size_t i;
    for (i = 0; order->external_biz_id.p != NULL && i < order->external_biz_id.n; i++)
        if (!isspace((unsigned char)order->external_biz_id.p[i]))
            return 0;
    return 1;
}

/* Which setting a failure is about, for people; NULL when it is not a
 * settings error. Settings errors are the same for every order, whatever
 * the order holds, so no attempt can succeed until the settings are fixed:
 *   platform codes 11 and 12 (permissions) and 21..33 (method, format,
 *   signature, session, app key, timestamp, version);
 *   a transport open that failed at or below ICBU_IO_NO_RETRY: a host name
 *   that cannot resolve (invalid, or no such name), an unusable CA file, a
 *   server certificate that the CA file does not trust or that does not
 *   name the host (c->fault tells which). */
static const char *settings_error(const icbu_outcome *out, const struct conn *c)
{
    if (out->kind == ICBU_PLATFORM_ERROR) {
        if (!out->code.set)
            return NULL;
        switch (out->code.v) {
        case 11: return "--app-key: the app has no permission for this API";
        case 12: return "--session: the user has no permission for this API";
        case 21: case 22: case 23: case 32: case 33:
            return "--url: the gateway does not take this API's method, format or version";
        case 24: case 25:
            return "the secret (ICBU_REFLOW_APP_SECRET or --secret) or --sign-method: "
                   "the gateway refused the signature";
        case 26: case 27: return "--session: missing or invalid";
        case 28: case 29: return "--app-key: missing or invalid";
        case 30: case 31: return "the timestamp: this machine's clock, or --timestamp";
        default: return NULL;
        }
    }
    if (out->kind != ICBU_TRANSPORT_ERROR || out->status != ICBU_E_OPEN ||
        out->detail > ICBU_IO_NO_RETRY)
        return NULL;
    switch (c->fault) {
    case NET_FAULT_HOST:    return "the host name of --url: invalid, or no such name";
    case NET_FAULT_CA_FILE: return "--ca-file: the CA file cannot be used";
    case NET_FAULT_CERTIFICATE:
        return "--ca-file, or the host name of --url: the server's certificate is not "
               "trusted by the CA file, or does not name that host";
    case NET_FAULT_NONE: default:
        return "--url or --ca-file: the connection cannot succeed as set";
    }
}

/* Signs and sends order with retries; the outcome's line in r->line.
 * Without external_biz_id, retries are unsafe (a retry after a lost answer
 * would report it twice): once_without_key sends such an order once (send),
 * else it is an ORDER_FAULT with ICBU_E_NO_BIZ_ID (flush). ORDER_FAULT: the
 * order cannot be sent (r->e: a field path, or ICBU_E_NO_BIZ_ID). A failure
 * of the options exits. */
static enum delivery deliver(const struct options *o, const icbu_url *url,
                             const icbu_order *order, int once_without_key, struct result *r)
{
    icbu_config cfg;
    icbu_outcome out;
    icbu_transport t;
    icbu_retry retry;
    struct attempt_io io;
    icbu_status st;
    icbu_err e;
    size_t body_len = 0, head_len = 0, cap;
    char *arena;

    memset(r, 0, sizeof *r);
    /* Whatever --retries says: flush refuses such an order (a later flush
     * could send it again), and send never spools it. */
    r->without_key = without_key(order);
    if (r->without_key && !once_without_key) {
        memset(&r->e, 0, sizeof r->e);
        r->e.status = ICBU_E_NO_BIZ_ID;
        return ORDER_FAULT;
    }
    make_config(o, &cfg);
    /* Arena: the request (head + body), then the response over it. The
     * timestamp of a retry has the same length, so the size holds. */
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(&cfg, order, NULL, 0, &body_len, &e) != ICBU_OK) {
        if (!order_fault(&e))
            sign_failed_config(&e);
        r->e = e;
        return ORDER_FAULT;
    }
    memset(&e, 0, sizeof e);
    if (icbu_http_head(url, body_len, NULL, 0, &head_len, &e) != ICBU_OK) {
        fprintf(stderr, "icbu-reflow: cannot build the request: %s\n",
                icbu_strerror(e.status));
        secret_forget();
        exit(EXIT_TRANSPORT);
    }
    cap = body_len + head_len + 4096;
    if (cap < 65536)
        cap = 65536;
    arena = (char *)malloc(cap);
    if (arena == NULL)
        out_of_memory();

    memset(&io, 0, sizeof io);
    conn_init(&io.c);
    io.ca_file = o->ca_file;
    io.deadline = net_now_ms(NULL) + o->timeout_ms;
    memset(&t, 0, sizeof t);
    t.ctx = &io;
    t.send = io_send;
    t.recv = io_recv;
    t.now_ms = io_now;
    t.open = io_open;
    t.close = io_close;
    memset(&retry, 0, sizeof retry);
    retry.attempts = o->retries + 1;
    if (r->without_key && o->retries > 0) {
        retry.attempts = 1;
        fputs("icbu-reflow: warning: the order has no external_biz_id, its idempotency key: "
              "sent once, without retries\n", stderr);
    }
    retry.sleep_ms = pause_ms;
    retry.random = random32;
    retry.unix_now = o->have_timestamp ? NULL : unix_now;   /* --timestamp: kept as given */

    memset(&out, 0, sizeof out);
    memset(&e, 0, sizeof e);
    st = icbu_report(&cfg, order, url, &t, &retry, o->timeout_ms, arena, cap, &out, &e);
    if (st != ICBU_OK && out.kind != ICBU_TRANSPORT_ERROR) {
        /* Nothing sent, or the order failed to sign: the order, or the options. */
        if (st != ICBU_E_NO_BIZ_ID && !order_fault(&e)) {
            if (st == ICBU_E_ARG || e.path[0] != '\0')
                sign_failed_config(&e);
            fprintf(stderr, "icbu-reflow: cannot send: %s\n", icbu_strerror(st));
            secret_forget();
            exit(EXIT_TRANSPORT);
        }
        free(arena);
        if (e.status == ICBU_OK)
            e.status = st;
        r->e = e;
        return ORDER_FAULT;
    }
    r->attempts = out.attempts;
    r->retryable = icbu_retryable(&out);
    /* Codes 11/12 (permissions) and 21..33 (method, signature, session, app
     * key, timestamp, version) are about the sender's settings: the same
     * for every spooled order, so flush stops rather than refusing them all. */
    r->config_error = out.kind == ICBU_PLATFORM_ERROR && out.code.set &&
                      (out.code.v == 11 || out.code.v == 12 || (out.code.v >= 21 && out.code.v <= 33));
    r->setting = r->retryable ? NULL : settings_error(&out, &io.c);
    r->rc = outcome_json(line_open(&r->line), st, &out, &e, io.c.why, o->timeout_ms);
    line_close(&r->line);
    conn_close(&io.c);
    free(arena);
    return DELIVERED;
}

/* ------------------------------------------------------------ the spool
 * Every operation on the spool is relative to the directory opened, and
 * checked, once (spool_open): no path through it is looked up again, so DIR
 * cannot be swapped for another directory after the check. Nothing inside
 * DIR is followed: .lock, the order files and refused/ are opened with
 * O_NOFOLLOW and checked with fstat, and the listing uses fstatat without
 * following, so a symbolic link is refused wherever it is planted. */
#define SPOOL_ABSENT (-2)         /* spool_open, refused_open: not there (and not made) */

static int path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < PATH_CAP ? 0 : ENAMETOOLONG;
}

static void spool_failed(const char *what, const char *path, int err)
{
    fprintf(stderr, "icbu-reflow: cannot %s ", what);
    put_clean(path);
    fprintf(stderr, ": %s\n", strerror(err));
}

/* "unsafe spool: PATH: WHAT" (PATH: DIR, or DIR/NAME). */
static void spool_unsafe(const char *dir, const char *name, const char *what)
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
        net_say(why, cap, "not usable: %s", strerror(errno));
        return why;
    }
    if (!S_ISDIR(sb.st_mode))
        return "not a directory";
    if (sb.st_uid != geteuid()) {
        net_say(why, cap, "owned by uid %lu, not by uid %lu, who runs this command: a spool "
                "must belong to the user who runs icbu-reflow on it",
                (unsigned long)sb.st_uid, (unsigned long)geteuid());
        return why;
    }
    if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        net_say(why, cap, "writable by %s (mode %03lo): a spool must be writable by its owner "
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
    char path[PATH_CAP];
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
        spool_unsafe(dir, name, "a symbolic link (never followed)");
    } else if (err == ENOTDIR || err == ELOOP || err == EISDIR) {
        char text[64];
        net_say(text, sizeof text, "not %s", what);
        spool_unsafe(dir, name, text);
    } else if (path_join(path, dir, name) == 0) {
        spool_failed("open", path, err);
    } else {
        spool_failed("open", name, err);
    }
}

/* Opens the spool directory (a symbolic link in the path given is followed:
 * the user named it; nothing inside it ever is) and checks it
 * (dir_untrusted). create: makes it (mode 0700) when missing. The
 * descriptor; SPOOL_ABSENT when it is missing and !create; -1 after a
 * message on stderr. */
static int spool_open(const char *dir, int create)
{
    char why[200];
    const char *bad;
    int fd;
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        spool_failed("create the spool", dir, errno);
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return SPOOL_ABSENT;
        spool_failed("open the spool", dir, errno);
        return -1;
    }
    if ((bad = dir_untrusted(fd, why, sizeof why)) != NULL) {
        spool_unsafe(dir, NULL, bad);
        close(fd);
        return -1;
    }
    return fd;
}

/* DIR/refused, opened without following a symbolic link and checked like
 * DIR. create: makes it when missing. The descriptor; SPOOL_ABSENT when it
 * is missing and !create; -1 after a message on stderr. */
static int refused_open(int dfd, const char *dir, int create)
{
    char why[200], path[PATH_CAP];
    const char *bad;
    int fd;
    if (create && mkdirat(dfd, "refused", 0700) != 0 && errno != EEXIST) {
        if (path_join(path, dir, "refused") == 0)
            spool_failed("create", path, errno);
        return -1;
    }
    fd = openat(dfd, "refused", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return SPOOL_ABSENT;
        entry_failed(dfd, dir, "refused", errno, "a directory");
        return -1;
    }
    if ((bad = dir_untrusted(fd, why, sizeof why)) != NULL) {
        spool_unsafe(dir, "refused", bad);
        close(fd);
        return -1;
    }
    return fd;
}

/* fsync of a directory, so that a rename or unlink in it is on disk. */
static int fsync_dir(int dfd)
{
    if (fsync(dfd) != 0 && errno != EINVAL)   /* some file systems cannot */
        return errno;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* name in the directory dfd gets data, atomically: a temporary file (hidden,
 * .tmp; O_EXCL and O_NOFOLLOW: never through a link) in it, write, fsync,
 * rename, fsync of the directory. 0 or an errno value. */
static int write_atomic(int dfd, const char *name, const char *data, size_t len)
{
    char tname[PATH_CAP];
    int fd, err;
    net_say(tname, sizeof tname, ".%s.%ld.tmp", name, (long)getpid());
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
    net_say(out, cap, "%020llu-%010lu-%04u.json", ns, (unsigned long)getpid(), counter++ % 10000u);
}

/* Is name an order file of the spool? (what flush sends) */
static int spool_order_name(const char *name)
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
        if (!is_temp_name(de->d_name))
            continue;
        if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (max_age >= 0 && (long)(now - sb.st_mtime) < max_age)
            continue;
        if (unlinkat(dfd, de->d_name, 0) == 0)
            removed = 1;
    }
    closedir(d);
    if (removed)
        (void)fsync_dir(dfd);
}

/* Reads the order file name of the directory dfd (NUL-terminated copy),
 * never through a symbolic link. 0, or an errno value; then *what is set
 * when the name is not a regular file. */
static int spool_read(int dfd, const char *name, char **out, size_t *len, const char **what)
{
    struct stat sb;
    FILE *f;
    int fd, err;
    *what = NULL;
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
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

/* ------------------------------------------------------------ commands */
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
    rc = outcome_json(stdout, st, &out, &e, NULL, 0);
    fputs("}\n", stdout);
    free(body);
    return finish(rc);
}

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
    body = (char *)malloc(need + 1);
    if (body == NULL) {
        fputs("icbu-reflow: out of memory\n", stderr);
        return EXIT_TRANSPORT;
    }
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(&cfg, order, body, need, &len, &e) != ICBU_OK)
        sign_failed(&e);
    secret_forget();
    fwrite(body, 1, len, stdout);
    fputc('\n', stdout);
    free(body);
    free(arena);
    free(json);
    return finish(EXIT_ACCEPTED);
}

static int cmd_send(const struct options *o)
{
    icbu_url url;
    struct result r;
    char *json = NULL;
    void *order_arena = NULL;
    const icbu_order *order;
    size_t json_len = 0;
    int rc, dfd = SPOOL_ABSENT;

    if (icbu_url_parse(o->url, &url) != ICBU_OK)
        usage_error("bad --url (want http://host[:port][/path] or https://...)");
    order = load_order(o->input, &json, &json_len, &order_arena);
    /* An unsafe spool is found before anything is sent (one that is not
     * there yet is made when an order goes into it). */
    if (o->spool != NULL && (dfd = spool_open(o->spool, 0)) == -1) {
        fputs("icbu-reflow: nothing sent: the spool must be fixed first\n", stderr);
        secret_forget();
        free(order_arena);
        free(json);
        return EXIT_SPOOL_IO;
    }
    if (deliver(o, &url, order, 1, &r) == ORDER_FAULT) {
        secret_forget();
        invalid_order(&r.e);
    }
    secret_forget();
    rc = r.rc;
    if (r.attempts > 1)
        fprintf(stderr, "icbu-reflow: %u attempts\n", r.attempts);
    if (r.setting != NULL)
        fprintf(stderr, "icbu-reflow: settings error: %s\n", r.setting);
    /* Spooled: every order not delivered, unless the answer was final for
     * this order (accepted, refused, a platform error about its content) or
     * cannot be read (exit 3: the gateway may have taken it). */
    if (o->spool != NULL && (r.retryable || r.setting != NULL) && r.without_key) {
        fputs("icbu-reflow: not delivered, and not spooled: without external_biz_id a later "
              "resend could report it twice\n", stderr);
    } else if (o->spool != NULL && (r.retryable || r.setting != NULL)) {
        char name[64];
        int err = 0;
        spool_name(name, sizeof name);
        if (dfd == SPOOL_ABSENT)
            dfd = spool_open(o->spool, 1);
        if (dfd >= 0)
            err = write_atomic(dfd, name, json, json_len);
        if (dfd >= 0 && err == 0) {
            rc = r.setting != NULL ? EXIT_SETTINGS : EXIT_SPOOLED;
            fputs(r.setting != NULL ? "icbu-reflow: not delivered; spooled as "
                                    : "icbu-reflow: not delivered now; spooled as ", stderr);
            put_clean(o->spool);
            fprintf(stderr, "/%s%s\n", name, r.setting != NULL ?
                    ", but flush cannot deliver it until the settings are fixed" : "");
        } else if (dfd >= 0) {
            fputs("icbu-reflow: not delivered, and NOT spooled: cannot write to ", stderr);
            put_clean(o->spool);
            fprintf(stderr, ": %s\n", strerror(err));
        } else {
            fputs("icbu-reflow: not delivered, and NOT spooled\n", stderr);
        }
    }
    if (dfd >= 0)
        close(dfd);
    fwrite(r.line.p, 1, r.line.n, stdout);
    fputs("}\n", stdout);
    free(r.line.p);
    free(order_arena);
    free(json);
    return finish(rc);
}

/* flush: what became of one order file. */
enum fate { F_REMOVED, F_REFUSED, F_KEPT };

/* flush: the spool, open. */
struct spool {
    const char *dir;              /* as given, for messages */
    int dfd;                      /* DIR */
    int rfd;                      /* DIR/refused, or SPOOL_ABSENT until made */
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The order files of the spool, sorted (oldest first). -1 with errno set on
 * failure. warn: say on stderr which order names are skipped because they
 * are not regular files (symbolic links are never followed). */
static long list_spool(const struct spool *sp, char ***names, int warn)
{
    DIR *d = dir_list(sp->dfd);
    struct dirent *de;
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (d == NULL)
        return -1;
    for (;;) {
        struct stat sb;
        errno = 0;                        /* readdir: NULL and errno 0 at the end */
        if ((de = readdir(d)) == NULL)
            break;
        if (!spool_order_name(de->d_name))
            continue;
        if (fstatat(sp->dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;                     /* gone meanwhile */
        if (!S_ISREG(sb.st_mode)) {
            if (warn) {
                fputs("icbu-reflow: warning: not sent: ", stderr);
                put_clean(sp->dir);
                fputc('/', stderr);
                put_clean(de->d_name);
                fprintf(stderr, ": %s\n", S_ISLNK(sb.st_mode) ?
                        "a symbolic link (never followed)" : "not a regular file");
            }
            continue;
        }
        if (n == cap) {
            char **p;
            cap = cap ? cap * 2 : 64;
            p = (char **)realloc(v, cap * sizeof *v);
            if (p == NULL)
                out_of_memory();
            v = p;
        }
        v[n] = (char *)malloc(strlen(de->d_name) + 1);
        if (v[n] == NULL)
            out_of_memory();
        strcpy(v[n], de->d_name);
        n++;
    }
    if (errno != 0) {                     /* a listing cut short is no listing */
        int err = errno;
        closedir(d);
        while (n > 0)
            free(v[--n]);
        free(v);
        errno = err;
        return -1;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, name_cmp);
    *names = v;
    return (long)n;
}

static void free_names(char **v, long n)
{
    long i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Moves name to refused/name, its answer (line + "}\n") written first.
 * 0; an errno value; or -1 after a message (refused/ is unsafe). */
static int move_refused(struct spool *sp, const char *name, const struct line *l)
{
    char aname[PATH_CAP], *answer;
    int err;
    if (sp->rfd == SPOOL_ABSENT && (sp->rfd = refused_open(sp->dfd, sp->dir, 1)) < 0) {
        sp->rfd = SPOOL_ABSENT;
        return -1;
    }
    net_say(aname, sizeof aname, "%s.answer.json", name);
    answer = (char *)malloc(l->n + 2);
    if (answer == NULL)
        out_of_memory();
    memcpy(answer, l->p, l->n);
    memcpy(answer + l->n, "}\n", 2);
    err = write_atomic(sp->rfd, aname, answer, l->n + 2);
    free(answer);
    if (err != 0)
        return err;
    if (renameat(sp->dfd, name, sp->rfd, name) != 0)
        return errno;
    if ((err = fsync_dir(sp->rfd)) != 0)
        return err;
    return fsync_dir(sp->dfd);
}

static void flush_line(const char *name, const struct line *l, unsigned attempts,
                       const char *fate)
{
    fputs("{\"file\":", stdout);
    json_string(stdout, name, strlen(name));
    fputc(',', stdout);
    fwrite(l->p + 1, 1, l->n - 1, stdout);          /* the outcome, without its '{' */
    if (attempts > 1)
        printf(",\"attempts\":%u", attempts);
    printf(",\"spool\":\"%s\"}\n", fate);
    fflush(stdout);
}

/* Sends the order file name. Returns its fate; *stop_rc gets the exit
 * status when flush must stop here (F_KEPT). */
static enum fate flush_one(const struct options *o, const icbu_url *url, struct spool *sp,
                           const char *name, int *stop_rc)
{
    char path[PATH_CAP];
    char *json = NULL;
    void *arena = NULL;
    const icbu_order *order = NULL;
    const char *what = NULL;
    size_t len = 0;
    struct result r;
    enum fate fate;
    int err;

    memset(&r, 0, sizeof r);
    if ((err = path_join(path, sp->dir, name)) != 0 ||
        (err = spool_read(sp->dfd, name, &json, &len, &what)) != 0) {
        if (err == ENOENT)        /* gone meanwhile (taken out by hand) */
            return F_REMOVED;
        if (what != NULL) {
            spool_unsafe(sp->dir, name, what);
            *stop_rc = EXIT_SPOOL_IO;
            return F_KEPT;
        }
        if (err != EFBIG) {
            spool_failed("read", path, err);
            *stop_rc = EXIT_SPOOL_IO;
            return F_KEPT;
        }
    }
    if (err != 0 || decode_order(json, len, &arena, &order, &r.e) != ICBU_OK ||
        deliver(o, url, order, 0, &r) == ORDER_FAULT) {
        char text[400];
        icbu_err e = r.e;
        if (err != 0)
            net_say(text, sizeof text, "invalid order: cannot read it: %s", strerror(err));
        else
            invalid_text(&e, text, sizeof text);
        memset(&r, 0, sizeof r);
        fputs("{\"outcome\":\"invalid_order\",\"error\":", line_open(&r.line));
        json_string(r.line.f, text, strlen(text));
        line_close(&r.line);
        r.rc = EXIT_BAD_ORDER;
    }
    free(arena);
    free(json);

    if (r.rc == EXIT_ACCEPTED) {
        /* The answer is in: only now does the order leave the spool. */
        if (unlinkat(sp->dfd, name, 0) != 0 && errno != ENOENT) {
            spool_failed("remove", path, errno);
            *stop_rc = EXIT_SPOOL_IO;
            fate = F_KEPT;
        } else {
            (void)fsync_dir(sp->dfd);
            fate = F_REMOVED;
        }
    } else if (r.rc == EXIT_REFUSED || r.rc == EXIT_BAD_ORDER ||
               (r.rc == EXIT_PLATFORM && !r.retryable && !r.config_error)) {
        if ((err = move_refused(sp, name, &r.line)) != 0) {
            if (err > 0)
                spool_failed("move to refused/", path, err);
            *stop_rc = EXIT_SPOOL_IO;
            fate = F_KEPT;
        } else {
            fate = F_REFUSED;
        }
    } else {
        /* It may pass later (5), needs the settings fixed (2: a platform
         * code about them, 3: host, CA file, certificate), or needs a look
         * (3: an answer we cannot read; the gateway may have taken it):
         * kept either way. */
        if (r.setting != NULL)
            fprintf(stderr, "icbu-reflow: settings error: %s; the order is kept: fix the "
                    "settings, then flush again\n", r.setting);
        *stop_rc = r.config_error ? EXIT_PLATFORM : r.retryable ? EXIT_SPOOLED : EXIT_TRANSPORT;
        fate = F_KEPT;
    }
    flush_line(name, &r.line, r.attempts, fate == F_REMOVED ? "removed" : fate == F_REFUSED ? "refused" : "kept");
    free(r.line.p);
    return fate;
}

static int cmd_flush(const struct options *o)
{
    icbu_url url;
    struct spool sp;
    struct stat sb;
    char lock_path[PATH_CAP];
    int lock_fd, rc = EXIT_ACCEPTED, err, first = 1;

    if (icbu_url_parse(o->url, &url) != ICBU_OK)
        usage_error("bad --url (want http://host[:port][/path] or https://...)");
    if ((err = path_join(lock_path, o->spool, ".lock")) != 0) {
        spool_failed("use the spool", o->spool, err);
        return EXIT_SPOOL_IO;
    }
    sp.dir = o->spool;
    sp.dfd = spool_open(o->spool, 0);
    if (sp.dfd == SPOOL_ABSENT)
        spool_failed("open the spool", o->spool, ENOENT);
    if (sp.dfd < 0)
        return EXIT_SPOOL_IO;
    lock_fd = openat(sp.dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        entry_failed(sp.dfd, o->spool, ".lock", errno, "a regular file");
        close(sp.dfd);
        return EXIT_SPOOL_IO;
    }
    if (fstat(lock_fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        spool_unsafe(o->spool, ".lock", "not a regular file");
        close(lock_fd);
        close(sp.dfd);
        return EXIT_SPOOL_IO;
    }
    while (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK) {
            fputs("icbu-reflow: another flush is running on ", stderr);
            put_clean(o->spool);
            fputs(" (it holds the lock on .lock); not waiting\n", stderr);
            close(lock_fd);
            close(sp.dfd);
            return EXIT_LOCKED;
        }
        spool_failed("lock", lock_path, errno);
        close(lock_fd);
        close(sp.dfd);
        return EXIT_SPOOL_IO;
    }
    /* Ours alone now: the answers' temporary files in refused/ are leftovers
     * of a killed flush; the spool's are stale once old (a send may be
     * writing one right now). An unsafe refused/ stops flush before it sends. */
    sp.rfd = refused_open(sp.dfd, o->spool, 0);
    if (sp.rfd == -1) {
        close(lock_fd);
        close(sp.dfd);
        return EXIT_SPOOL_IO;
    }
    if (sp.rfd >= 0)
        remove_stale_temps(sp.rfd, -1);
    remove_stale_temps(sp.dfd, SPOOL_STALE_S);

    for (;;) {                    /* again while sends add orders meanwhile */
        char **names = NULL;
        long n = list_spool(&sp, &names, first), i;
        first = 0;
        if (n < 0) {
            spool_failed("read the spool", o->spool, errno);
            rc = EXIT_SPOOL_IO;
            break;
        }
        for (i = 0; i < n && rc == EXIT_ACCEPTED; i++)
            if (flush_one(o, &url, &sp, names[i], &rc) == F_KEPT && rc == EXIT_ACCEPTED)
                rc = EXIT_SPOOLED;
        free_names(names, n);
        if (n == 0 || rc != EXIT_ACCEPTED)
            break;
    }
    secret_forget();
    if (sp.rfd >= 0)
        close(sp.rfd);
    close(lock_fd);               /* releases the lock */
    close(sp.dfd);
    return finish(rc);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc;
    atexit(secret_forget);
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
    secret_forget();
    return rc;
}
