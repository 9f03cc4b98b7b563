/* output.c - what icbu-reflow writes: the outcome as one line of JSON (send,
 * parse, and flush's lines), its string escaping, and text for stderr. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

void out_of_memory(void)
{
    fputs("icbu-reflow: out of memory\n", stderr);
    exit(EXIT_TRANSPORT);
}

size_t control_len(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x20 || c == 0x7F)
        return 1;
    return c == 0xC2 && n > 1 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9F ? 2 : 0;
}

void put_clean(const char *s)
{
    size_t n = strlen(s), i = 0, k;
    for (; i < n; i += k != 0 ? k : 1)
        fputc((k = control_len(s + i, n - i)) != 0 ? '?' : s[i], stderr);
}

/* ---------------------------------------------------------- JSON strings */
/* The header writes the JSON string (icbu_json_string); here each byte of s
 * that is not UTF-8 becomes U+FFFD first, so that any text can be shown. */
void json_string(FILE *f, const char *s, size_t n)
{
    char *text = (char *)malloc(3 * n + 1), *json = NULL;
    size_t m = 0, i = 0, k, len = 0;
    if (text == NULL)
        out_of_memory();
    for (; i < n; i += k) {
        if ((k = icbu_utf8_len(s + i, n - i)) == 0) {
            memcpy(text + m, "\xEF\xBF\xBD", 3);      /* U+FFFD for the byte */
            m += 3;
            k = 1;
        } else {
            memcpy(text + m, s + i, k);
            m += k;
        }
    }
    if (icbu_json_string(text, m, NULL, 0, &len, NULL) != ICBU_OK ||
        (json = (char *)malloc(len)) == NULL ||
        icbu_json_string(text, m, json, len, &len, NULL) != ICBU_OK)
        out_of_memory();              /* text is UTF-8: only the memory can fail */
    fwrite(json, 1, len, f);
    free(json);
    free(text);
}

static void field(FILE *f, const char *name, icbu_str v)
{
    if (v.p == NULL)
        return;
    fprintf(f, ",\"%s\":", name);
    json_string(f, v.p, v.n);
}

/* ------------------------------------------------------------- outcomes */
/* The detail of a transport error, for people: the transport's sentence
 * where it has one (why), else the status in words, with what err adds. */
static void transport_detail(char *out, size_t cap, const icbu_outcome *o, const icbu_err *e,
                             const char *why, uint32_t timeout_ms)
{
    const char *text = icbu_strerror(o->status);
    int have_why = why != NULL && why[0] != '\0';
    switch (o->status) {
    case ICBU_E_OPEN:             /* the transport's open: connect or TLS */
        if (!have_why)
            why = o->stage == ICBU_STAGE_TLS ? "TLS handshake failed" : "cannot connect";
        if (o->detail == ICBU_IO_TIMEOUT)
            say(out, cap, "%s (timeout %lu ms)", why, (unsigned long)timeout_ms);
        else
            say(out, cap, "%s", why);
        break;
    case ICBU_E_HTTP_STATUS:
        say(out, cap, "HTTP status %ld", o->detail);
        break;
    case ICBU_E_SEND:
    case ICBU_E_RECV:
        if (have_why)
            say(out, cap, "%s", why);
        else if (o->detail < 0)
            icbu_net_describe(out, cap, o->detail);      /* the transport's -errno */
        else
            say(out, cap, "%s", text);
        break;
    case ICBU_E_TIMEOUT:
        say(out, cap, "%s (timeout %lu ms)", have_why ? why : "deadline passed",
            (unsigned long)timeout_ms);
        break;
    case ICBU_E_JSON:
    case ICBU_E_DEPTH:
    case ICBU_E_TRAILING:
        say(out, cap, "%s at offset %lu", text, (unsigned long)e->offset);
        break;
    default:
        say(out, cap, "%s", text);
        break;
    }
}

int outcome_json(FILE *f, const icbu_outcome *o, const icbu_err *e, const char *why,
                 uint32_t timeout_ms)
{
    char detail[400];
    switch (o->kind) {
    case ICBU_ACCEPTED:
        fputs("{\"outcome\":\"accepted\"", f);
        field(f, "insure_id", o->insure_id);
        field(f, "request_id", o->request_id);
        return EXIT_ACCEPTED;
    case ICBU_REFUSED:
        fputs("{\"outcome\":\"refused\"", f);
        field(f, "error_code", o->error_code);
        field(f, "error_msg", o->error_msg);
        field(f, "request_id", o->request_id);
        return EXIT_REFUSED;
    case ICBU_PLATFORM_ERROR:
        fputs("{\"outcome\":\"platform_error\"", f);
        if (o->code.set)
            fprintf(f, ",\"code\":%lld", (long long)o->code.v);
        field(f, "msg", o->msg);
        field(f, "sub_code", o->sub_code);
        field(f, "sub_msg", o->sub_msg);
        field(f, "request_id", o->request_id);
        return EXIT_PLATFORM;
    default:
        transport_detail(detail, sizeof detail, o, e, why, timeout_ms);
        fprintf(f, "{\"outcome\":\"transport_error\",\"stage\":\"%s\",\"detail\":",
                icbu_stage_name(o->stage));
        json_string(f, detail, strlen(detail));
        return EXIT_TRANSPORT;
    }
}

/* ---------------------------------------------------------------- lines */
FILE *line_open(struct line *l)
{
    l->p = NULL;
    l->n = 0;
    l->f = open_memstream(&l->p, &l->n);
    if (l->f == NULL)
        out_of_memory();
    return l->f;
}

void line_close(struct line *l)
{
    if (fclose(l->f) != 0 || l->p == NULL)
        out_of_memory();
    l->f = NULL;
}

/* The errno of the first write to stdout that failed: flush goes on after it
 * (each order is settled before its line), and by the end errno says
 * something else ("Success"). */
static int out_errno;

/* stdout flushed; the errno of a failure kept for finish. */
static void out_flush(void)
{
    if (fflush(stdout) != 0 && out_errno == 0)
        out_errno = errno != 0 ? errno : EIO;
}

void flush_line(const char *name, const struct line *l, unsigned attempts, const char *fate)
{
    fputs("{\"file\":", stdout);
    json_string(stdout, name, strlen(name));
    fputc(',', stdout);
    fwrite(l->p + 1, 1, l->n - 1, stdout);          /* the outcome, without its '{' */
    if (attempts > 1)
        printf(",\"attempts\":%u", attempts);
    printf(",\"spool\":\"%s\"}\n", fate);
    out_flush();
}

int finish(int status)
{
    out_flush();
    if (out_errno != 0 || ferror(stdout)) {
        fprintf(stderr, "icbu-reflow: cannot write the output: %s\n",
                strerror(out_errno != 0 ? out_errno : EIO));
        return status == EXIT_ACCEPTED ? EXIT_TRANSPORT : status;
    }
    return status;
}
