/* options.c - the command line of icbu-reflow: the usage text, the options,
 * the checks of the command and its arguments, and the secret (ours, wiped). */
#include "cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RETRIES 3
#define MAX_RETRIES 100

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
"  --ca-file PEM        (trust for https; default: " ICBU_NET_DEFAULT_CA_FILE ")\n"
"  --timeout MS         (the whole delivery of one order: every attempt and pause; default 15000)\n"
"  --retries N          (send, flush: tries again up to N times after a failure that can pass:\n"
"                        connect, TLS, send, receive, HTTP 408/429/5xx, platform codes 7, 8, 10, 15,\n"
"                        isp.*; with a random pause; default 3, 0 for one attempt. Retries need\n"
"                        the order's external_biz_id, its idempotency key: without it, send\n"
"                        tries once and says so on stderr, and flush refuses the order)\n"
"  --spool DIR          (send: an order not delivered is written to DIR, byte for byte: exit 5\n"
"                        when it failed in a way that can pass, 6 when the settings must be fixed\n"
"                        first; not an invalid order, a final answer (accepted, refused, a\n"
"                        platform error neither retried nor about the settings), an answer\n"
"                        that cannot be read, or an order without external_biz_id.\n"
"                        flush: the spool to send. DIR must be owned by the user running the\n"
"                        command and not writable by group or others; links in it are not followed)\n"
"  --no-keep-alive      (flush: a fresh connection for every order; by default flush sends the\n"
"                        orders over one connection, kept open while the server allows it.\n"
"                        send always uses one connection for one order)\n"
"  --session-cache FILE (send, flush: the TLS session kept in FILE from one run to the next, so\n"
"                        that the first handshake resumes it. FILE holds no secret of yours but\n"
"                        the session's: it must be a regular file owned by the user running the\n"
"                        command, mode 0600 (else exit 74); made 0600 when missing; one that\n"
"                        does not fit (another host, library, expired...) is ignored, with a\n"
"                        warning)\n"
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
"  One connection carries the orders one after the other (Connection: keep-alive); when the\n"
"  server closes it, the next order connects again, and an order whose request found it\n"
"  closed is sent again once on a new connection before that counts as a failed attempt.\n"
"  An order that meets a failure that can pass is kept, and flush goes on with the next;\n"
"  it stops, keeping that order and the rest, after two such orders in a row (the gateway is\n"
"  then most likely out of reach), and at once at a rate limit (HTTP 429, platform code 7)\n"
"  or at an answer it cannot read (3). A platform error about the settings (codes 9, 11,\n"
"  12, 21-34: signature, app key, timestamp...) stops it with exit 2 (a host, CA file,\n"
"  certificate or HTTP 4xx error: 3), since it would refuse every order alike. An order kept\n"
"  for a failure that can pass (not a rate limit) is set aside (its file's time set to now):\n"
"  the next flush sends it after the others.\n"
"  One flush at a time per DIR (flock on DIR/.lock): a second one exits 75 at once.\n"
"Settings errors (the same for every order: fix the settings): platform codes 9, 11, 12, 21-34\n"
"  (a wrong secret is 25), an HTTP 4xx answer other than 408 and 429, a host name that cannot\n"
"  resolve, an unusable CA file, a server certificate that the CA file does not trust or that\n"
"  does not name the host. stderr names the setting.\n"
"Exit status: 0 accepted (flush: every order it could send is settled; the ones it\n"
"             skipped with a warning stay in DIR), 1 refused, 2 platform error,\n"
"             (flush: 2 also when it stopped at a settings error; the order is kept),\n"
"             3 transport, HTTP or response failure (flush: it stopped at one; kept),\n"
"             4 invalid ORDER (the message on stderr names the field path),\n"
"             5 spooled: send could not deliver the order now and wrote it to --spool DIR;\n"
"               flush kept orders after a failure that can pass (for a later flush),\n"
"             6 spooled, but the settings must be fixed before flush can deliver it\n"
"               (send --spool after a settings error),\n"
"             64 usage, 74 the spool directory is unsafe (send: nothing sent) or cannot be\n"
"             read or written (send exits with the failure, 2 or 3, when it cannot write\n"
"             the order there), or the --session-cache file is unsafe (nothing sent), or\n"
"             ORDER cannot be read for the system's reason, an I/O error (nothing sent),\n"
"             75 another flush is running on the spool\n";

/* ------------------------------------------------------------ the secret */
static char  *secret;             /* our copy; wiped on every way out (atexit) */
static size_t secret_len;

const char *cli_secret(void)
{
    return secret;
}

void cli_secret_forget(void)
{
    if (secret != NULL) {
        icbu_wipe(secret, secret_len);
        free(secret);
    }
    secret = NULL;
    secret_len = 0;
}

static void secret_set(const char *s)
{
    size_t n = strlen(s);
    cli_secret_forget();
    secret = (char *)malloc(n + 1);
    if (secret == NULL)
        out_of_memory();
    memcpy(secret, s, n + 1);
    secret_len = n;
}

/* ---------------------------------------------------------------- usage */
void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("icbu-reflow: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'icbu-reflow --help'.\n", stderr);
    exit(EXIT_USAGE);
}

static void usage_to(FILE *f)
{
    fputs(usage_text, f);
    fputs(usage_more, f);
}

/* ------------------------------------------------------------- options */
enum opt_id { O_APP_KEY, O_SECRET, O_SIGN_METHOD, O_TIMESTAMP, O_SESSION, O_PARTNER_ID,
              O_SIMPLIFY, O_URL, O_CA_FILE, O_TIMEOUT, O_RETRIES, O_SPOOL, O_NO_KEEP_ALIVE,
              O_SESSION_CACHE, O_HELP, O_VERSION };
static const struct { const char *name; enum opt_id id; int has_value; } opt_table[] = {
    { "app-key", O_APP_KEY, 1 },       { "secret", O_SECRET, 1 },
    { "sign-method", O_SIGN_METHOD, 1 }, { "timestamp", O_TIMESTAMP, 1 },
    { "session", O_SESSION, 1 },       { "partner-id", O_PARTNER_ID, 1 },
    { "simplify", O_SIMPLIFY, 0 },     { "url", O_URL, 1 },
    { "ca-file", O_CA_FILE, 1 },       { "timeout", O_TIMEOUT, 1 },
    { "retries", O_RETRIES, 1 },       { "spool", O_SPOOL, 1 },
    { "no-keep-alive", O_NO_KEEP_ALIVE, 0 }, { "session-cache", O_SESSION_CACHE, 1 },
    { "help", O_HELP, 0 },             { "version", O_VERSION, 0 }
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

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

/* Where the first name of a known option that takes a value, found inside
 * name (namelen bytes) after its first byte and with more after it, ends: a
 * mistyped option with its value glued on (---secretVALUE, --mysecretVALUE)
 * is cut there. 0: none is. */
static size_t glued_value_at(const char *name, size_t namelen)
{
    size_t k, at, cut = 0;
    for (k = 0; k < N_OPTS; k++) {
        size_t m = strlen(opt_table[k].name);
        for (at = 1; opt_table[k].has_value && at + m < namelen; at++)
            if (same_name(name + at, opt_table[k].name, m)) {
                if (cut == 0 || at + m < cut)
                    cut = at + m;
                break;
            }
    }
    return cut;
}

/* "unknown option" for --NAME (namelen bytes of name: up to its '=', which is
 * never shown, nor what follows it). A NAME that begins with a known option's
 * name is most likely that option with its value glued on (--secretVALUE):
 * only the known name is shown; one that holds the name of an option that
 * takes a value is shown up to that name. Other names are shown up to 40 bytes. */
static void unknown_option(const char *name, size_t namelen)
{
    size_t k, known = 0, best = 0, cut = glued_value_at(name, namelen);
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
    if (cut > 0)
        usage_error("unknown option '--%.*s...' (the rest is not shown: it may be a value)",
                    (int)cut, name);
    usage_error("unknown option '--%.*s%s'", (int)(namelen > 40 ? 40 : namelen), name,
                namelen > 40 ? "..." : "");
}

/* --help, --version: printed, and the command ends. */
static void info_and_exit(enum opt_id id)
{
    if (id == O_HELP)
        usage_to(stdout);
    else
        printf("icbu-reflow %s (TLS: %s; hashes: %s)\n", ICBU_REFLOW_VERSION, icbu_net_tls_name(),
               cli_hashes);
    exit(0);
}

/* The options with a number or a choice for a value. */
static void apply_checked(struct options *o, enum opt_id id, char *value)
{
    unsigned long n = 0;
    switch (id) {
    case O_SIGN_METHOD:
        if (icbu_sign_method_parse(value, strlen(value), &o->method) != ICBU_OK)
            usage_error("bad --sign-method (%s, %s or %s)", icbu_sign_method_name(ICBU_SIGN_MD5),
                        icbu_sign_method_name(ICBU_SIGN_HMAC),
                        icbu_sign_method_name(ICBU_SIGN_HMAC_SHA256));
        break;
    case O_TIMESTAMP:
        if (icbu_date_parse(value, strlen(value), &o->timestamp) != ICBU_OK)
            usage_error("bad --timestamp (want 'YYYY-MM-DD HH:MM:SS', GMT+8)");
        o->have_timestamp = 1;
        break;
    case O_TIMEOUT:
        if (parse_uint(value, 0x7FFFFFFFul, &n) != 0 || n == 0)
            usage_error("bad --timeout (milliseconds, 1 to 2147483647)");
        o->timeout_ms = (uint32_t)n;
        break;
    case O_RETRIES:
        if (parse_uint(value, MAX_RETRIES, &n) != 0)
            usage_error("bad --retries (0 to %d)", MAX_RETRIES);
        o->retries = (unsigned)n;
        break;
    default:
        break;
    }
}

static void apply_option(struct options *o, enum opt_id id, char *value)
{
    switch (id) {
    case O_APP_KEY:    o->app_key = value; break;
    case O_SESSION:    o->session = value; break;
    case O_PARTNER_ID: o->partner_id = value; break;
    case O_URL:        o->url = value; break;
    case O_CA_FILE:    o->ca_file = value; break;
    case O_SIMPLIFY:   o->simplify = 1; break;
    case O_NO_KEEP_ALIVE: o->no_keep_alive = 1; break;
    case O_SECRET:
        secret_set(value);
        icbu_wipe(value, strlen(value));   /* out of /proc/PID/cmdline, at least */
        break;
    case O_SPOOL:
        if (value[0] == '\0')
            usage_error("bad --spool (a directory)");
        o->spool = value;
        break;
    case O_SESSION_CACHE:
        if (value[0] == '\0')
            usage_error("bad --session-cache (a file)");
        o->session_cache = value;
        break;
    case O_HELP:
    case O_VERSION:
        info_and_exit(id);
        break;
    default:
        apply_checked(o, id, value);
        break;
    }
}

/* argv[*i], which starts with '-': the option, with its value (after '=' or
 * the next argument, which *i then passes). */
static void take_option(int argc, char **argv, int *i, struct options *o)
{
    char *a = argv[*i], *eq, *value = NULL;
    const char *name = a + 2;
    size_t k, namelen;
    if (strcmp(a, "-h") == 0)
        info_and_exit(O_HELP);
    if (a[1] != '-') {            /* never echo more than -X: the rest could be a secret */
        if (a[2] == '\0')
            usage_error("unknown option '-%c'", a[1]);
        usage_error("unknown option '-%c...' (not shown; options are --NAME, and -h)", a[1]);
    }
    eq = strchr(name, '=');
    namelen = eq != NULL ? (size_t)(eq - name) : strlen(name);
    for (k = 0; k < N_OPTS; k++)
        if (strlen(opt_table[k].name) == namelen && memcmp(opt_table[k].name, name, namelen) == 0)
            break;
    if (k == N_OPTS)
        unknown_option(name, namelen);
    if (!opt_table[k].has_value && eq != NULL)
        usage_error("option '--%s' takes no value", opt_table[k].name);
    if (opt_table[k].has_value && eq != NULL)
        value = eq + 1;
    else if (opt_table[k].has_value && *i + 1 < argc)
        value = argv[++*i];
    else if (opt_table[k].has_value)
        usage_error("option '--%s' needs a value", opt_table[k].name);
    apply_option(o, opt_table[k].id, value);
}

/* The command and its arguments make sense together. */
static void check_command(const struct options *o)
{
    const char *c = o->cmd;
    int flush;
    if (c == NULL) {
        usage_to(stderr);
        exit(EXIT_USAGE);
    }
    if (strcmp(c, "sign") != 0 && strcmp(c, "send") != 0 && strcmp(c, "parse") != 0 &&
        strcmp(c, "flush") != 0)
        usage_error("unknown command (sign, send, flush or parse)");
    flush = strcmp(c, "flush") == 0;
    if (flush && o->input != NULL)
        usage_error("flush takes no ORDER: it sends the orders of --spool DIR");
    if (flush && o->spool == NULL)
        usage_error("flush needs --spool DIR");
    if (!flush && o->input == NULL)
        usage_error("missing %s (a file, or - for standard input)",
                    strcmp(c, "parse") == 0 ? "RESPONSE" : "ORDER");
    if (o->spool != NULL && strcmp(c, "send") != 0 && !flush)
        usage_error("--spool is for send and flush");
    if (o->no_keep_alive && strcmp(c, "send") != 0 && !flush)
        usage_error("--no-keep-alive is for send and flush");
    if (o->session_cache != NULL && strcmp(c, "send") != 0 && !flush)
        usage_error("--session-cache is for send and flush");
}

/* The app key and the secret: from the options, else from the environment. */
static void credentials(struct options *o)
{
    const char *env;
    if (o->app_key == NULL || o->app_key[0] == '\0')
        o->app_key = getenv("ICBU_REFLOW_APP_KEY");
    if (o->app_key == NULL || o->app_key[0] == '\0')
        usage_error("missing app key (--app-key or ICBU_REFLOW_APP_KEY)");
    if ((secret == NULL || secret_len == 0) && (env = getenv("ICBU_REFLOW_APP_SECRET")) != NULL)
        secret_set(env);
    if (secret == NULL || secret_len == 0)
        usage_error("missing secret (ICBU_REFLOW_APP_SECRET or --secret)");
}

/* Does a begin with a dash that is not '-' (U+2010..U+2015, U+2212), as an
 * option pasted from typeset text does ("\u2014secret=...")? Taken for ORDER,
 * it would be shown in "cannot read", its value with it. */
static int typographic_dash(const char *a)
{
    const unsigned char *u = (const unsigned char *)a;
    return u[0] == 0xE2 && ((u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95) ||
                            (u[1] == 0x88 && u[2] == 0x92));
}

void parse_args(int argc, char **argv, struct options *o)
{
    int i, only_positional = 0;
    memset(o, 0, sizeof *o);
    o->method = ICBU_SIGN_HMAC_SHA256;
    o->timeout_ms = 15000;
    o->url = DEFAULT_URL;
    o->retries = DEFAULT_RETRIES;
    for (i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!only_positional && strcmp(a, "--") == 0)
            only_positional = 1;
        else if (!only_positional && a[0] == '-' && a[1] != '\0')
            take_option(argc, argv, &i, o);
        else if (!only_positional && typographic_dash(a))
            usage_error("an argument begins with a typographic dash, not '-' (not shown): "
                        "options are --NAME; a file name after -- is taken as it is");
        else if (o->cmd == NULL)
            o->cmd = a;
        else if (o->input == NULL)
            o->input = a;
        else
            usage_error("too many arguments");
    }
    check_command(o);
    if (strcmp(o->cmd, "parse") != 0)
        credentials(o);
}
