/* cli.h - what the files of the icbu-reflow command share (private to cli/).
 *
 *   options.c   the command line: options, usage text, --version, the secret
 *   order.c     ORDER and RESPONSE input: reading, decoding, invalid-order messages
 *   output.c    the one-line JSON outcome and its string escaping; stderr text
 *   deliver.c   one order sent: configuration, transport, retries, settings errors
 *   spool.c     the spool directory: safe opening, listing, writing, refused/, lock
 *   cache.c     the TLS session cache file (--session-cache): safe reading, atomic writing
 *   commands.c  sign, send, parse, flush, and main (the library's implementation)
 *
 * The transport is transports/icbu_net_posix.c with one TLS file. */
#ifndef ICBU_CLI_H
#define ICBU_CLI_H

#include <stdio.h>
#include <time.h>
#include "icbu_reflow.h"
#include "transports/icbu_net.h"

#define EXIT_ACCEPTED   0
#define EXIT_REFUSED    1
#define EXIT_PLATFORM   2
#define EXIT_TRANSPORT  3
#define EXIT_BAD_ORDER  4
#define EXIT_SPOOLED    5     /* send: kept in the spool; flush: orders left for later */
#define EXIT_SETTINGS   6     /* send: spooled, but the settings must be fixed first */
#define EXIT_USAGE      64
#define EXIT_SPOOL_IO   74    /* the spool directory is unsafe, or cannot be read or changed;
                                 the session cache file is unsafe; ORDER cannot be read for
                                 the system's reason (an I/O error: nothing sent) */
#define EXIT_LOCKED     75    /* another flush holds the spool */

#define DEFAULT_URL "https://gw.api.taobao.com/router/rest"

/* ------------------------------------------------------------ options.c */
struct options {
    const char *cmd, *input;      /* sign|send|parse|flush; ORDER or RESPONSE */
    const char *app_key, *session, *partner_id, *url, *ca_file, *spool;
    const char *session_cache;    /* --session-cache FILE, or NULL */
    icbu_sign_method method;
    icbu_date timestamp;
    int have_timestamp, simplify;
    int no_keep_alive;            /* flush: a fresh connection for every order */
    uint32_t timeout_ms;
    unsigned retries;
};
/* Fills o from the command line (and the environment); exits 64 on a usage
 * error, 0 after --help or --version. */
void parse_args(int argc, char **argv, struct options *o);
/* Our copy of the secret (NULL when none); cli_secret_forget wipes it. */
const char *cli_secret(void);
void cli_secret_forget(void);
/* "icbu-reflow: MESSAGE" and the --help hint on stderr; exits 64. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
void usage_error(const char *fmt, ...);
extern const char cli_hashes[];   /* the hash back end, for --version (commands.c) */

/* -------------------------------------------------------------- order.c */
/* Reads f (or the file path, "-": standard input) to its end: a NUL-terminated
 * copy in *out (malloc'd), *len bytes before the NUL. 0, or an errno value. */
int read_stream(FILE *f, char **out, size_t *len);
int read_input(const char *path, char **out, size_t *len);
/* Decodes json into a malloc'd arena (*arena): ICBU_OK, or the error in e. */
icbu_status decode_order(const char *json, size_t len, void **arena,
                         const icbu_order **order, icbu_err *e);
/* Reads and decodes ORDER; an unreadable or invalid one exits 4. */
const icbu_order *load_order(const char *path, char **json, size_t *len, void **arena);
/* "invalid order: what at PATH" (or at offset N) in out; invalid_order says it
 * on stderr and exits 4. */
void invalid_text(const icbu_err *e, char *out, size_t cap);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void invalid_order(const icbu_err *e);
/* Is e, a failure before anything was sent, the order's (icbu_fault_of: a
 * field of the order, or no idempotency key) rather than the settings'? */
int order_fault(const icbu_err *e);
/* A failure of signing, e: the order's exits 4; the settings' 64 when an
 * option is wrong, else 3. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void sign_failed(const icbu_err *e);

/* ------------------------------------------------------------- output.c */
/* snprintf that may cut (no -Wformat-truncation noise). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
void say(char *out, size_t cap, const char *fmt, ...);
/* How many bytes of s (n > 0 of them) from its start are one control
 * character: 1 for a C0 control or DEL, 2 for a C1 control in UTF-8
 * (U+0080..U+009F: a terminal may act on CSI or NEL), 0 for anything else.
 * Text for people shows each as one '?'. */
size_t control_len(const char *s, size_t n);
/* s on stderr, control characters shown as '?'. */
void put_clean(const char *s);
/* s (n bytes) as a JSON string (icbu_json_string), invalid UTF-8 as U+FFFD. */
void json_string(FILE *f, const char *s, size_t n);
/* The outcome as a JSON object without its closing brace (the caller may add
 * fields, then "}"); returns its exit status (0..3). why: the transport's
 * sentence about its last failure ("" or NULL: none); timeout_ms: --timeout. */
int outcome_json(FILE *f, const icbu_outcome *o, const icbu_err *e, const char *why,
                 uint32_t timeout_ms);
/* A growing string for one output line (open_memstream). */
struct line {
    char  *p;
    size_t n;
    FILE  *f;
};
FILE *line_open(struct line *l);
void line_close(struct line *l);
/* flush's line for one order: {"file":NAME, the outcome, "attempts", "spool":fate}. */
void flush_line(const char *name, const struct line *l, unsigned attempts, const char *fate);
/* Flushes stdout: status, or 3 when the output could not be written. */
int finish(int status);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void out_of_memory(void);

/* ------------------------------------------------------------ deliver.c */
struct result {
    int rc;                       /* the exit status of the outcome (0..3) */
    int retryable;                /* icbu_retryable: it could pass later */
    int throttled;                /* of those, one that asks to wait: HTTP 429, platform
                                     code 7 (App Call Limited) */
    int config_error;             /* a platform error about the settings (icbu_fault_of) */
    const char *setting;          /* a settings error that retries cannot mend: which setting */
    int without_key;              /* no external_biz_id: sent once, not to be spooled */
    unsigned attempts;
    struct line line;             /* the outcome's line, without its closing brace */
    icbu_err e;                   /* ORDER_FAULT: why */
};
enum delivery { DELIVERED, ORDER_FAULT };
/* The connection of a command: one icbu_net for all the orders it sends. With
 * keep-alive (flush, unless --no-keep-alive) the connection stays open from one
 * order to the next while the server allows it. */
struct link {
    icbu_net net;
    icbu_transport t;
};
/* The link, with --session-cache's session loaded: 0, or EXIT_SPOOL_IO after a
 * message when the file is unsafe (then nothing is open). */
int link_open(struct link *l, const struct options *o, const icbu_url *url, int keep_alive);
/* Closes the connection, writes --session-cache after a TLS handshake, and
 * frees the link. */
void link_close(struct link *l, const struct options *o);
void make_config(const struct options *o, icbu_config *c);
/* Signs and sends order with retries; the outcome's line in r->line.
 * Without external_biz_id, retries are unsafe (a retry after a lost answer
 * would report it twice): once_without_key sends such an order once (send),
 * else it is an ORDER_FAULT with ICBU_E_NO_BIZ_ID (flush). ORDER_FAULT: the
 * order cannot be sent (r->e). A failure of the options exits. Sent over l. */
enum delivery deliver(const struct options *o, const icbu_url *url, const icbu_order *order,
                      int once_without_key, struct link *l, struct result *r);

/* -------------------------------------------------------------- spool.c */
#define SPOOL_ABSENT (-2)         /* spool_open, refused_open: not there (and not made) */
struct spool {
    const char *dir;              /* as given, for messages */
    int dfd;                      /* DIR */
    int rfd;                      /* DIR/refused, or SPOOL_ABSENT until made */
    int lock_fd;                  /* DIR/.lock, locked */
    struct timespec last;         /* the latest time of the orders last listed */
};
/* "icbu-reflow: cannot WHAT PATH: strerror(err)". */
void spool_failed(const char *what, const char *path, int err);
/* "icbu-reflow: unsafe spool: DIR[/NAME]: what". */
void spool_unsafe(const char *dir, const char *name, const char *what);
/* The spool directory, opened and checked (owned by us, not writable by
 * others); create: made (0700) when missing. The descriptor; SPOOL_ABSENT
 * when missing and !create; -1 after a message. */
int spool_open(const char *dir, int create);
/* n bytes of data to fd, through short writes and EINTR: 0, or an errno value
 * (EIO for a write that takes nothing and reports no error, which would
 * otherwise be tried for ever). */
int write_all(int fd, const void *data, size_t n);
/* send: data (the order as given) written atomically into the spool as a new
 * order; its name in name (cap >= 64). 0 or an errno value; *written says
 * whether the file is in the spool all the same (only the directory's fsync
 * failed: flush will see it, but a crash may lose it). */
int spool_add(int dfd, const char *data, size_t len, char *name, size_t cap, int *written);
/* flush: the spool opened, locked (EXIT_LOCKED when another flush holds it),
 * refused/ checked and the stale temporary files removed. 0 or the exit status. */
int spool_take(struct spool *sp, const char *dir);
void spool_release(struct spool *sp);
/* The order files, in the order flush sends them: by the time each was last
 * written or set aside, then by name (oldest first). The count, or -1 with
 * errno. warn: name on stderr the order names skipped (not regular files). */
long spool_list(struct spool *sp, char ***names, int warn);
void spool_names_free(char **v, long n);
/* An order kept after it was sent goes behind the others (its time set to
 * now, or just past the latest listed: file times may be as coarse as the
 * kernel's tick), so that one the gateway fails every time holds back none
 * of them. */
void spool_set_aside(const struct spool *sp, const char *name);
/* Reads the order file name (NUL-terminated copy), never through a link.
 * 0 or an errno value; *what set when it is not a regular file. */
int spool_read(const struct spool *sp, const char *name, char **out, size_t *len, const char **what);
/* Removes name once its answer arrived: 0 or an errno value. */
int spool_remove(const struct spool *sp, const char *name);
/* Moves name to refused/, its answer (l + "}\n") written first. 0; an errno
 * value; or -1 after a message (refused/ is unsafe). *moved says whether name
 * is in refused/ all the same (only the directories' fsync failed: a crash
 * may bring it back into the spool). */
int spool_refuse(struct spool *sp, const char *name, const struct line *l, int *moved);
/* -------------------------------------------------------------- cache.c */
/* --session-cache FILE read into net for url (https): 0 (a missing, unreadable
 * or unusable file is ignored, with a warning unless missing), or EXIT_SPOOL_IO
 * after a message when FILE is unsafe (not a regular file of ours, or open to
 * others). */
int cache_load(const char *path, icbu_net *net, const icbu_url *url);
/* The session net holds written to FILE atomically (0600); a warning when it cannot be. */
void cache_save(const char *path, const icbu_net *net);

/* DIR/NAME in out (PATH_CAP bytes): 0 or ENAMETOOLONG. */
#define PATH_CAP 4096
int path_join(char *out, const char *dir, const char *name);

#endif
