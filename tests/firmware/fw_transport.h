/* An in-memory icbu_transport for the full-client firmware images
 * (tools/firmware.py): the gateway is a list of canned answers
 * (tests/firmware/fw_answers.h), one per connection, and what the library
 * sends on a connection is kept for the checker. recv hands the answer back a
 * few bytes at a time and send takes at most FW_SEND_MAX bytes a call, so
 * that the library's loops over partial reads and writes run; now_ms is a
 * clock that moves one millisecond a call. No heap, no libc beyond what the
 * library itself uses. */
#ifndef FW_TRANSPORT_H
#define FW_TRANSPORT_H
#include <stddef.h>
#include <stdint.h>
#include "icbu_reflow.h"

#define FW_RECV_CHUNK 7        /* bytes per recv at most */
#define FW_SEND_MAX   200      /* bytes per send at most */
#define FW_CHUNK_SIZE 23       /* a chunked body's chunks (the last may be shorter) */

enum fw_framing { FW_LENGTH, FW_CHUNKED, FW_CLOSE };

typedef struct fw_answer {
    const char *status;         /* the status line, without CR LF */
    const char *headers;        /* more header lines, each ending in CR LF ("" for none) */
    const char *body;
    enum fw_framing framing;    /* Content-Length, chunks of FW_CHUNK_SIZE, or to the close */
} fw_answer;

typedef struct fw_link {
    const fw_answer *const *answers;   /* one per connection, in order */
    unsigned n_answers, next;          /* next: the answer of the next connection */
    char in[2048];                     /* this connection's answer, framed */
    size_t in_len, in_pos;
    char *sent;                        /* what the library sent on this connection */
    size_t sent_cap, sent_len;
    unsigned opens, closes, sleeps, overflow;
    uint32_t clock, slept;             /* slept: the milliseconds of all sleeps */
    uint32_t random;                   /* what the retry's random gives */
    int64_t unix_now;                  /* what the retry's unix_now gives */
} fw_link;

/* answers: n of them; sent: cap bytes for what the library sends. */
void fw_link_init(fw_link *l, const fw_answer *const *answers, unsigned n, char *sent, size_t cap);
/* Starts the next connection (icbu_exchange takes a connected transport):
 * 0, or -1 when no answer is left or the answer does not fit in l->in. */
int fw_link_connect(fw_link *l);
/* send, recv, now_ms, open (fw_link_connect) and close over l. */
void fw_link_transport(fw_link *l, icbu_transport *t);
/* icbu_report's retry over l: attempts tries; sleep_ms counts in l->sleeps
 * and l->slept, random gives random, unix_now gives unix_now. */
void fw_link_retry(fw_link *l, icbu_retry *r, unsigned attempts, uint32_t random, int64_t unix_now);

#endif
