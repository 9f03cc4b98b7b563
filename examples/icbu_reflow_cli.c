/* icbu_reflow_cli.c - the icbu-reflow command: sign, send or parse an
 * alibaba.finance.insurance.icbu.insure.order.callback call.
 *
 * Build (from the repository root; see examples/build.mk):
 *   cc -std=c99 -D_POSIX_C_SOURCE=200809L -I. -DCLI_TLS_MBEDTLS -DICBU_REFLOW_CRYPTO_MBEDTLS \
 *      examples/icbu_reflow_cli.c examples/net_posix.c examples/x509_ip.c \
 *      examples/tls_mbedtls.c -lmbedtls -lmbedx509 -lmbedcrypto
 *   (or -DCLI_TLS_BEARSSL -DICBU_REFLOW_CRYPTO_BEARSSL with tls_bearssl.c and -lbearssl)
 * This file holds the library implementation. The TLS back end is whichever
 * tls_*.c is linked; CLI_TLS_* only picks the hash back end when none is given.
 */
#if !defined(ICBU_REFLOW_CRYPTO_MBEDTLS) && !defined(ICBU_REFLOW_CRYPTO_BEARSSL) && \
    !defined(ICBU_REFLOW_CRYPTO_CUSTOM)
#  ifdef CLI_TLS_BEARSSL
#    define ICBU_REFLOW_CRYPTO_BEARSSL
#  else
#    define ICBU_REFLOW_CRYPTO_MBEDTLS
#  endif
#endif
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include "net.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_ACCEPTED   0
#define EXIT_REFUSED    1
#define EXIT_PLATFORM   2
#define EXIT_TRANSPORT  3
#define EXIT_BAD_ORDER  4
#define EXIT_USAGE      64

#define INPUT_MAX ((size_t)256 * 1024 * 1024)   /* refuse larger ORDER/RESPONSE */
#define DEFAULT_URL "https://gw.api.taobao.com/router/rest"

static const char usage_text[] =
"usage: icbu-reflow sign  [OPTIONS] ORDER     print the signed form body that would be POSTed, on one line\n"
"       icbu-reflow send  [OPTIONS] ORDER     send it; print the gateway's answer as one line of JSON\n"
"       icbu-reflow parse RESPONSE            parse a gateway response body; print it as send does\n"
"ORDER / RESPONSE: a file path, or - for standard input. ORDER is the JSON of insured_order_reflow_request.\n"
"OPTIONS\n"
"  --app-key KEY        (or env ICBU_REFLOW_APP_KEY)\n"
"  --secret SECRET      (or env ICBU_REFLOW_APP_SECRET; the environment is preferred:\n"
"                        the command line is visible to other users)\n"
"  --sign-method md5|hmac|hmac-sha256   (default hmac-sha256)\n"
"  --timestamp 'YYYY-MM-DD HH:MM:SS'    (GMT+8; default: now)\n"
"  --session TOKEN   --partner-id ID   --simplify\n"
"  --url URL            (default " DEFAULT_URL "; http:// and https://)\n"
"  --ca-file PEM        (trust for https; default: " NET_DEFAULT_CA_FILE ")\n"
"  --timeout MS         (the whole exchange; default 15000)\n"
"Output of send and parse: one JSON object on one line; fields absent from the answer are left out.\n"
"  {\"outcome\":\"accepted\",\"insure_id\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"refused\",\"error_code\":\"...\",\"error_msg\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"platform_error\",\"code\":25,\"msg\":\"...\",\"sub_code\":\"...\",\"sub_msg\":\"...\",\"request_id\":\"...\"}\n"
"  {\"outcome\":\"transport_error\",\"stage\":\"connect|tls|send|receive|http|parse\",\"detail\":\"...\"}\n"
"Exit status: 0 accepted, 1 refused, 2 platform error, 3 transport, HTTP or response failure,\n"
"             4 invalid ORDER (the message on stderr names the field path), 64 usage\n";

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
    const char *app_key, *session, *partner_id, *url, *ca_file;
    icbu_sign_method method;
    icbu_date timestamp;
    int have_timestamp, simplify;
    uint32_t timeout_ms;
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
              O_SIMPLIFY, O_URL, O_CA_FILE, O_TIMEOUT, O_HELP, O_VERSION };
static const struct { const char *name; enum opt_id id; int has_value; } opt_table[] = {
    { "app-key", O_APP_KEY, 1 },       { "secret", O_SECRET, 1 },
    { "sign-method", O_SIGN_METHOD, 1 }, { "timestamp", O_TIMESTAMP, 1 },
    { "session", O_SESSION, 1 },       { "partner-id", O_PARTNER_ID, 1 },
    { "simplify", O_SIMPLIFY, 0 },     { "url", O_URL, 1 },
    { "ca-file", O_CA_FILE, 1 },       { "timeout", O_TIMEOUT, 1 },
    { "help", O_HELP, 0 },             { "version", O_VERSION, 0 }
};

static void apply_option(struct options *o, enum opt_id id, char *value)
{
    unsigned long ms = 0;
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
    case O_HELP:
        fputs(usage_text, stdout);
        exit(0);
    case O_VERSION:
        printf("icbu-reflow %s (TLS: %s)\n", ICBU_REFLOW_VERSION, tls_backend_name);
        exit(0);
    }
}

static void parse_args(int argc, char **argv, struct options *o)
{
    int i, only_positional = 0;
    memset(o, 0, sizeof *o);
    o->method = ICBU_SIGN_HMAC_SHA256;
    o->timeout_ms = 15000;
    o->url = DEFAULT_URL;

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
            if (a[1] != '-')   /* never echo more: it could be a secret */
                usage_error("unknown option '-%c'", a[1]);
            eq = strchr(a + 2, '=');
            namelen = eq != NULL ? (size_t)(eq - name) : strlen(name);
            n = sizeof opt_table / sizeof opt_table[0];
            for (k = 0; k < n; k++)
                if (strlen(opt_table[k].name) == namelen &&
                    memcmp(opt_table[k].name, name, namelen) == 0)
                    break;
            if (k == n)
                usage_error("unknown option '--%.*s'", (int)(namelen > 40 ? 40 : namelen), name);
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
        exit(EXIT_USAGE);
    }
    if (strcmp(o->cmd, "sign") != 0 && strcmp(o->cmd, "send") != 0 &&
        strcmp(o->cmd, "parse") != 0)
        usage_error("unknown command (sign, send or parse)");
    if (o->input == NULL)
        usage_error("missing %s (a file, or - for standard input)",
                    strcmp(o->cmd, "parse") == 0 ? "RESPONSE" : "ORDER");
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
/* Reads a whole file ("-": standard input); NUL-terminated copy. */
static int read_input(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    if (f == NULL)
        return errno != 0 ? errno : EIO;
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
    if (f != stdin)
        fclose(f);
    if (err != 0) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
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

static void invalid_order(const icbu_err *e)
{
    char text[160];
    status_text(e->status, text, sizeof text);   /* icbu_strerror without "(err.x)" */
    fprintf(stderr, "icbu-reflow: invalid order: %s", text);
    if (e->path[0] != '\0') {
        fputs(" at ", stderr);
        put_clean(e->path);
    } else if (e->status != ICBU_E_NOSPACE && e->status != ICBU_E_ARG) {
        fprintf(stderr, " at offset %lu", (unsigned long)e->offset);
    }
    fputc('\n', stderr);
    exit(EXIT_BAD_ORDER);
}

static const icbu_order *load_order(const char *path, char **json, void **arena)
{
    const icbu_order *order = NULL;
    icbu_err e;
    size_t len, need;
    int err, tries;

    err = read_input(path, json, &len);
    if (err != 0) {
        fputs("icbu-reflow: invalid order: cannot read ", stderr);
        put_clean(path);
        fprintf(stderr, ": %s\n", strerror(err));
        exit(EXIT_BAD_ORDER);
    }
    /* Sizing call, then the real one in a malloc'd (so 8-aligned) arena. */
    memset(&e, 0, sizeof e);
    need = 0;
    if (icbu_decode_order(*json, len, NULL, 0, &order, &need, &e) != ICBU_OK)
        invalid_order(&e);
    *arena = NULL;
    for (tries = 0; tries < 2; tries++) {
        void *p = realloc(*arena, need != 0 ? need : 1);
        size_t used = 0;
        if (p == NULL) {
            fputs("icbu-reflow: out of memory\n", stderr);
            exit(EXIT_BAD_ORDER);
        }
        *arena = p;
        memset(&e, 0, sizeof e);
        if (icbu_decode_order(*json, len, *arena, need, &order, &used, &e) == ICBU_OK)
            return order;
        if (e.status != ICBU_E_NOSPACE || e.need <= need)
            break;
        need = e.need;
    }
    invalid_order(&e);
    return NULL;
}

/* A failure of icbu_sign_body: the order (4), the options (64), or else (3). */
static void sign_failed(const icbu_err *e)
{
    char text[160];
    if (e->path[0] != '\0' && !is_config_path(e->path))
        invalid_order(e);
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

static void field(const char *name, icbu_str v)
{
    if (v.p == NULL)
        return;
    printf(",\"%s\":", name);
    json_string(stdout, v.p, v.n);
}

static int print_transport_error(const char *stage, const char *detail)
{
    printf("{\"outcome\":\"transport_error\",\"stage\":\"%s\",\"detail\":", stage);
    json_string(stdout, detail, strlen(detail));
    fputs("}\n", stdout);
    return EXIT_TRANSPORT;
}

/* A connect or TLS failure of our transport code. */
static int transport_failed(const char *stage, int io, const char *why,
                            const char *fallback, uint32_t timeout_ms)
{
    char detail[400];
    if (why[0] == '\0')
        why = fallback;
    if (io == ICBU_IO_TIMEOUT)
        net_say(detail, sizeof detail, "%s (timeout %lu ms)", why, (unsigned long)timeout_ms);
    else
        net_say(detail, sizeof detail, "%s", why);
    return print_transport_error(stage, detail);
}

static const char *stage_of(icbu_status s)
{
    switch (s) {
    case ICBU_E_SEND:    return "send";
    case ICBU_E_RECV:
    case ICBU_E_TIMEOUT: return "receive";
    case ICBU_E_HTTP_SYNTAX: case ICBU_E_HTTP_FOLDED: case ICBU_E_HTTP_FRAMING:
    case ICBU_E_HTTP_SIZE: case ICBU_E_HTTP_TOOBIG: case ICBU_E_HTTP_TRUNCATED:
    case ICBU_E_HTTP_STATUS: return "http";
    default:             return "parse";
    }
}

/* Prints the outcome of send or parse; returns the exit status.
 * why: the transport's own description of its failure (send only). */
static int print_outcome(icbu_status st, const icbu_outcome *o, const icbu_err *e,
                         const char *why, uint32_t timeout_ms)
{
    char detail[400], text[160];
    const char *stage;

    if (st == ICBU_OK && o->kind == ICBU_ACCEPTED) {
        fputs("{\"outcome\":\"accepted\"", stdout);
        field("insure_id", o->insure_id);
        field("request_id", o->request_id);
        fputs("}\n", stdout);
        return EXIT_ACCEPTED;
    }
    if (st == ICBU_OK && o->kind == ICBU_REFUSED) {
        fputs("{\"outcome\":\"refused\"", stdout);
        field("error_code", o->error_code);
        field("error_msg", o->error_msg);
        field("request_id", o->request_id);
        fputs("}\n", stdout);
        return EXIT_REFUSED;
    }
    if (st == ICBU_OK && o->kind == ICBU_PLATFORM_ERROR) {
        fputs("{\"outcome\":\"platform_error\"", stdout);
        if (o->code.set)
            printf(",\"code\":%lld", (long long)o->code.v);
        field("msg", o->msg);
        field("sub_code", o->sub_code);
        field("sub_msg", o->sub_msg);
        field("request_id", o->request_id);
        fputs("}\n", stdout);
        return EXIT_PLATFORM;
    }
    if (st == ICBU_OK)             /* parsed, but none of the three answers */
        st = ICBU_E_RESPONSE;
    stage = o->kind == ICBU_TRANSPORT_ERROR && o->stage != ICBU_STAGE_NONE
            ? icbu_stage_name(o->stage) : stage_of(st);
    status_text(st, text, sizeof text);
    switch (st) {
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
    return print_transport_error(stage, detail);
}

static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "icbu-reflow: cannot write the output: %s\n", strerror(errno));
        return status == EXIT_ACCEPTED ? EXIT_TRANSPORT : status;
    }
    return status;
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
    rc = print_outcome(st, &out, &e, NULL, 0);
    free(body);
    return finish(rc);
}

static int cmd_sign(const struct options *o)
{
    icbu_config cfg;
    icbu_err e;
    char *json = NULL, *body;
    void *arena = NULL;
    const icbu_order *order = load_order(o->input, &json, &arena);
    size_t need = 0, len = 0;

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
    icbu_config cfg;
    icbu_url url;
    icbu_err e;
    icbu_outcome out;
    icbu_transport t;
    icbu_status st;
    struct conn c;
    char *json = NULL, *arena;
    void *order_arena = NULL;
    const icbu_order *order;
    size_t body_len = 0, head_len = 0, cap;
    uint32_t deadline;
    int rc, io;

    if (icbu_url_parse(o->url, &url) != ICBU_OK)
        usage_error("bad --url (want http://host[:port][/path] or https://...)");
    order = load_order(o->input, &json, &order_arena);
    make_config(o, &cfg);

    /* Arena: the request (head + body), then the response over it. */
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(&cfg, order, NULL, 0, &body_len, &e) != ICBU_OK)
        sign_failed(&e);
    memset(&e, 0, sizeof e);
    if (icbu_http_head(&url, body_len, NULL, 0, &head_len, &e) != ICBU_OK) {
        fprintf(stderr, "icbu-reflow: cannot build the request: %s\n",
                icbu_strerror(e.status));
        return EXIT_TRANSPORT;
    }
    cap = body_len + head_len + 4096;
    if (cap < 65536)
        cap = 65536;
    arena = (char *)malloc(cap);
    if (arena == NULL) {
        fputs("icbu-reflow: out of memory\n", stderr);
        return EXIT_TRANSPORT;
    }

    deadline = net_now_ms(NULL) + o->timeout_ms;
    conn_init(&c);
    if ((io = net_connect(&c, &url, deadline)) != 0) {
        rc = transport_failed("connect", io, c.why, "cannot connect", o->timeout_ms);
    } else if (url.https && (io = tls_open(&c, &url, o->ca_file, deadline)) != 0) {
        rc = transport_failed("tls", io, c.why, "TLS handshake failed", o->timeout_ms);
    } else {
        conn_transport(&c, &t);
        c.why[0] = '\0';
        memset(&out, 0, sizeof out);
        memset(&e, 0, sizeof e);
        st = icbu_exchange(&cfg, order, &url, &t, net_remaining(deadline),
                           arena, cap, &out, &e);
        rc = print_outcome(st, &out, &e, c.why, o->timeout_ms);
    }
    secret_forget();
    conn_close(&c);
    free(arena);
    free(order_arena);
    free(json);
    return finish(rc);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc;
    atexit(secret_forget);
    parse_args(argc, argv, &o);
    if (strcmp(o.cmd, "parse") == 0)
        rc = cmd_parse(&o);
    else if (strcmp(o.cmd, "sign") == 0)
        rc = cmd_sign(&o);
    else
        rc = cmd_send(&o);
    secret_forget();
    return rc;
}
