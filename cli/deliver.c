/* deliver.c - one order sent by icbu-reflow (send, and each order of flush):
 * the configuration from the options, the transport (transports/icbu_net.h:
 * one for the command, kept open between the orders of flush),
 * retries through icbu_report() with a random pause (full jitter from
 * /dev/urandom) and a fresh timestamp for every attempt, and what the failure
 * means: icbu_retryable() says whether it can pass later, icbu_fault_of()
 * whether it is the settings' (then the setting is named for people).
 * --timeout is the budget of the whole delivery: every attempt and pause. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void make_config(const struct options *o, icbu_config *c)
{
    memset(c, 0, sizeof *c);
    c->app_key = o->app_key;
    c->app_secret = cli_secret();
    c->sign_method = o->method;
    c->timestamp = o->have_timestamp ? o->timestamp : icbu_date_from_unix((int64_t)time(NULL));
    c->session = o->session;
    c->partner_id = o->partner_id;
    c->simplify = o->simplify;
}

/* ------------------------------------------------ retries: pause, random, now */
struct jitter {
    int fd;                       /* /dev/urandom, or -1 */
    uint32_t x;                   /* without it: xorshift seeded by time and pid */
};

static void pause_ms(void *ctx, uint32_t ms)
{
    struct timespec ts, rest;
    (void)ctx;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &rest) != 0 && errno == EINTR)
        ts = rest;
}

/* 4 bytes of /dev/urandom: 0, or -1 when there are none. */
static int urandom32(int fd, uint32_t *v)
{
    unsigned char b[4];
    size_t got = 0;
    while (fd >= 0 && got < sizeof b) {
        ssize_t k = read(fd, b + got, sizeof b - got);
        if (k > 0)
            got += (size_t)k;
        else if (k == 0 || errno != EINTR)
            return -1;
    }
    if (got < sizeof b)
        return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

static uint32_t random32(void *ctx)
{
    struct jitter *j = (struct jitter *)ctx;
    uint32_t v;
    if (urandom32(j->fd, &v) == 0)
        return v;
    if (j->x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        j->x = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16 ^ (uint32_t)time(NULL);
        if (j->x == 0)
            j->x = 0x9E3779B9u;
    }
    j->x ^= j->x << 13;
    j->x ^= j->x >> 17;
    j->x ^= j->x << 5;
    return j->x;
}

static int64_t unix_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------ settings errors */
/* The setting a platform error about the settings is about (icbu_fault_of). */
static const char *platform_setting(int64_t code)
{
    switch (code) {
    case 11: return "--app-key: the app has no permission for this API";
    case 12: return "--session: the user has no permission for this API";
    case 24: case 25:
        return "the secret (ICBU_REFLOW_APP_SECRET or --secret) or --sign-method: "
               "the gateway refused the signature";
    case 26: case 27: return "--session: missing or invalid";
    case 28: case 29: return "--app-key: missing or invalid";
    case 30: case 31: return "the timestamp: this machine's clock, or --timestamp";
    default:          /* 9, 21-23, 32-34: the call itself */
        return "--url: the gateway does not take this API's call (HTTP method, API "
               "method, format or version)";
    }
}

/* Which setting a settings error is about, for people (icbu_fault_of says it
 * is one: the same for every order, so that no attempt can succeed until the
 * settings are fixed); NULL for another failure. */
static const char *setting_of(const icbu_outcome *out, const icbu_net *net)
{
    if (icbu_fault_of(out, NULL) != ICBU_FAULT_SETTINGS)
        return NULL;
    if (out->kind == ICBU_PLATFORM_ERROR)
        return platform_setting(out->code.set ? out->code.v : -1);
    if (out->status == ICBU_E_HTTP_STATUS)
        return "--url: the gateway refuses the request at the HTTP level (HTTP 4xx)";
    switch (net->fault) {         /* a transport open that another try cannot mend */
    case ICBU_NET_FAULT_HOST:    return "the host name of --url: invalid, or no such name";
    case ICBU_NET_FAULT_CA_FILE: return "--ca-file: the CA file cannot be used";
    case ICBU_NET_FAULT_CERTIFICATE:
        return "--ca-file, or the host name of --url: the server's certificate is not "
               "trusted by the CA file, or does not name that host";
    default:
        return "--url or --ca-file: the connection cannot succeed as set";
    }
}

/* ---------------------------------------------------------- one delivery */
/* The arena: the request (head + body), then the answer over it. The
 * timestamp of a retry has the same length, so the size holds. A failure
 * here is the order's (ORDER_FAULT, in r->e) or the options' (exits). */
static char *arena_for(const icbu_config *cfg, const icbu_order *order, const icbu_url *url,
                       size_t *cap, struct result *r)
{
    size_t body_len = 0, head_len = 0;
    char *arena;
    icbu_err e;
    memset(&e, 0, sizeof e);
    if (icbu_sign_body(cfg, order, NULL, 0, &body_len, &e) != ICBU_OK) {
        if (!order_fault(&e))
            sign_failed(&e);
        r->e = e;
        return NULL;
    }
    memset(&e, 0, sizeof e);
    if (icbu_http_head(url, body_len, NULL, 0, &head_len, &e) != ICBU_OK) {
        fprintf(stderr, "icbu-reflow: cannot build the request: %s\n", icbu_strerror(e.status));
        cli_secret_forget();
        exit(EXIT_TRANSPORT);
    }
    *cap = body_len + head_len + 4096 < 65536 ? 65536 : body_len + head_len + 4096;
    arena = (char *)malloc(*cap);
    if (arena == NULL)
        out_of_memory();
    return arena;
}

/* icbu_report failed before anything was sent: the order's failure is
 * returned (ORDER_FAULT, in r->e); the options' or the settings' exits. */
static enum delivery not_sent(icbu_status st, const icbu_err *e, struct result *r)
{
    if (!order_fault(e)) {
        if (st == ICBU_E_ARG || e->path[0] != '\0')
            sign_failed(e);
        fprintf(stderr, "icbu-reflow: cannot send: %s\n", icbu_strerror(st));
        cli_secret_forget();
        exit(EXIT_TRANSPORT);
    }
    r->e = *e;
    if (r->e.status == ICBU_OK)
        r->e.status = st;
    return ORDER_FAULT;
}

/* The tries: as --retries says, one for an order without its key. */
static unsigned attempts_for(const struct options *o, const struct result *r)
{
    if (r->without_key && o->retries > 0) {
        fputs("icbu-reflow: warning: the order has no external_biz_id, its idempotency key: "
              "sent once, without retries\n", stderr);
        return 1;
    }
    return o->retries + 1;
}

/* Does the failure in out, one that can pass, ask the sender to wait: the
 * gateway's rate limit (HTTP 429, platform code 7 App Call Limited)? flush
 * stops there rather than add to the load with the next order. */
static int throttled(const icbu_outcome *out)
{
    if (out->kind == ICBU_PLATFORM_ERROR)
        return out->code.set && out->code.v == 7;
    return out->kind == ICBU_TRANSPORT_ERROR && out->status == ICBU_E_HTTP_STATUS &&
           out->detail == 429;
}

/* What the outcome means for the spool, and its line. */
static void outcome_of(const struct options *o, const icbu_outcome *out, const icbu_err *e,
                       const icbu_net *net, struct result *r)
{
    r->attempts = out->attempts;
    r->retryable = icbu_retryable(out);
    r->throttled = r->retryable && throttled(out);
    r->setting = setting_of(out, net);
    /* A platform error about the settings (signature, app key, session,
     * timestamp...) is the same for every spooled order: flush stops there
     * rather than refusing them all. */
    r->config_error = out->kind == ICBU_PLATFORM_ERROR && r->setting != NULL;
    r->rc = outcome_json(line_open(&r->line), out, e, net->why, o->timeout_ms);
    line_close(&r->line);
}

/* ------------------------------------------------------------ the link */
int link_open(struct link *l, const struct options *o, const icbu_url *url, int keep_alive)
{
    icbu_net_options net_opt;
    int rc;
    memset(&net_opt, 0, sizeof net_opt);
    net_opt.ca_file = o->ca_file;
    net_opt.keep_alive = keep_alive;
    l->t = icbu_net_transport(&l->net, &net_opt);
    if (o->session_cache != NULL && (rc = cache_load(o->session_cache, &l->net, url)) != 0) {
        icbu_net_free(&l->net);
        return rc;
    }
    return 0;
}

void link_close(struct link *l, const struct options *o)
{
    l->t.close(l->t.ctx);
    if (o->session_cache != NULL && l->net.handshakes > 0)
        cache_save(o->session_cache, &l->net);
    icbu_net_free(&l->net);
}

enum delivery deliver(const struct options *o, const icbu_url *url, const icbu_order *order,
                      int once_without_key, struct link *l, struct result *r)
{
    icbu_config cfg;
    icbu_outcome out;
    icbu_retry retry;
    struct jitter jitter;
    icbu_status st;
    icbu_err e;
    size_t cap = 0;
    char *arena;

    memset(r, 0, sizeof *r);
    make_config(o, &cfg);
    /* Whatever --retries says: flush refuses such an order (a later flush
     * could send it again), and send never spools it. */
    r->without_key = !icbu_has_key(icbu_method_get(ICBU_METHOD_order_callback), order);
    if (r->without_key && !once_without_key) {
        r->e.status = ICBU_E_NO_BIZ_ID;
        return ORDER_FAULT;
    }
    if ((arena = arena_for(&cfg, order, url, &cap, r)) == NULL)
        return ORDER_FAULT;
    memset(&retry, 0, sizeof retry);
    jitter.fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    jitter.x = 0;
    retry.attempts = attempts_for(o, r);
    retry.ctx = &jitter;
    retry.sleep_ms = pause_ms;
    retry.random = random32;
    retry.unix_now = o->have_timestamp ? NULL : unix_now;   /* --timestamp: kept as given */
    memset(&e, 0, sizeof e);
    st = icbu_report(&cfg, order, url, &l->t, &retry, o->timeout_ms, arena, cap, &out, &e);
    if (jitter.fd >= 0)
        close(jitter.fd);
    if (st != ICBU_OK && out.kind != ICBU_TRANSPORT_ERROR) {
        free(arena);
        return not_sent(st, &e, r);
    }
    outcome_of(o, &out, &e, &l->net, r);
    free(arena);
    return DELIVERED;
}
