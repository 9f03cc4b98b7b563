/* A small MD5 and SHA-256 for the firmware images (tools/firmware.py): the
 * three ICBU_REFLOW_CRYPTO_CUSTOM hooks, as a device without a hash library
 * would write them. Straight from RFC 1321 and FIPS 180-4, sized for flash
 * and stack rather than speed: one 64-byte block buffer, a 16-word rolling
 * SHA-256 message schedule, no unrolling. Messages up to 512 MB (a 32-bit
 * byte count), far beyond any signed body. */
#include <stddef.h>
#include <stdint.h>
#include "icbu_reflow.h"

typedef struct fw_hash {
    uint32_t h[8];              /* MD5 uses h[0..3] */
    uint32_t len;               /* bytes hashed so far */
    uint32_t alg;               /* icbu_hash_alg */
    unsigned char blk[64];      /* the block being filled: len % 64 bytes */
} fw_hash;

typedef char fw_hash_fits[sizeof(fw_hash) <= 256 ? 1 : -1];   /* the default ICBU_REFLOW_CUSTOM_CTX */

static const uint32_t md5_k[64] = {       /* floor(|sin(i + 1)| * 2^32) */
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u, 0xfd469501u,
    0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u, 0xa679438eu, 0x49b40821u,
    0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du, 0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u,
    0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu, 0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au,
    0xfffa3942u, 0x8771f681u, 0x6d9d6122u, 0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u,
    0x289b7ec6u, 0xeaa127fau, 0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u,
    0xf4292244u, 0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu, 0xeb86d391u,
};
static const unsigned char md5_r[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21 };

static const uint32_t sha_k[64] = {       /* cube roots of the first 64 primes, fraction * 2^32 */
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};
static const uint32_t md5_iv[4] = { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u };
static const uint32_t sha_iv[8] = { 0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u };

static uint32_t rotl(uint32_t x, unsigned s) { return (x << s) | (x >> (32u - s)); }
static uint32_t rotr(uint32_t x, unsigned s) { return (x >> s) | (x << (32u - s)); }

static void md5_block(uint32_t h[4], const unsigned char *p) {
    uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], f, t;
    unsigned i, g;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    for (i = 0; i < 64; i++) {
        switch (i >> 4) {
        case 0:  f = (b & c) | (~b & d); g = i;          break;
        case 1:  f = (d & b) | (~d & c); g = 5 * i + 1;  break;
        case 2:  f = b ^ c ^ d;          g = 3 * i + 5;  break;
        default: f = c ^ (b | ~d);       g = 7 * i;      break;
        }
        t = d; d = c; c = b;
        b += rotl(a + f + md5_k[i] + w[g & 15u], md5_r[(i >> 4) * 4 + (i & 3u)]);
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

static void sha_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7], t1, t2;
    unsigned i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    for (i = 0; i < 64; i++) {
        if (i >= 16) {                    /* the schedule, 16 words at a time */
            uint32_t x = w[(i - 15) & 15u], y = w[(i - 2) & 15u];
            w[i & 15u] += (rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)) + w[(i - 7) & 15u] +
                          (rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3));
        }
        t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i & 15u];
        t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void block(fw_hash *c) {
    if (c->alg == ICBU_HASH_MD5) md5_block(c->h, c->blk);
    else sha_block(c->h, c->blk);
}

int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg) {
    fw_hash *c = (fw_hash *)ctx;
    unsigned i;
    if (alg != ICBU_HASH_MD5 && alg != ICBU_HASH_SHA256) return -1;
    c->alg = (uint32_t)alg;
    c->len = 0;
    for (i = 0; i < 8; i++) c->h[i] = alg == ICBU_HASH_MD5 ? (i < 4 ? md5_iv[i] : 0) : sha_iv[i];
    return 0;
}

int icbu_custom_hash_update(void *ctx, const void *data, size_t n) {
    fw_hash *c = (fw_hash *)ctx;
    const unsigned char *p = (const unsigned char *)data;
    while (n) {
        c->blk[c->len & 63u] = *p++;
        n--;
        if ((++c->len & 63u) == 0) block(c);
    }
    return 0;
}

int icbu_custom_hash_final(void *ctx, unsigned char *out) {
    fw_hash *c = (fw_hash *)ctx;
    volatile unsigned char *wipe = (volatile unsigned char *)ctx;
    uint32_t bits_lo = c->len << 3, bits_hi = c->len >> 29;
    unsigned i = c->len & 63u, md5 = c->alg == ICBU_HASH_MD5;
    c->blk[i++] = 0x80;
    if (i > 56) {
        while (i < 64) c->blk[i++] = 0;
        block(c);
        i = 0;
    }
    while (i < 56) c->blk[i++] = 0;
    for (i = 0; i < 4; i++) {             /* the length in bits: MD5 little, SHA-256 big endian */
        c->blk[md5 ? 56 + i : 63 - i] = (unsigned char)(bits_lo >> (8 * i));
        c->blk[md5 ? 60 + i : 59 - i] = (unsigned char)(bits_hi >> (8 * i));
    }
    block(c);
    for (i = 0; i < (md5 ? 16u : 32u); i++)
        out[i] = (unsigned char)(md5 ? c->h[i / 4] >> (8 * (i % 4)) : c->h[i / 4] >> (8 * (3 - i % 4)));
    for (i = 0; i < sizeof(fw_hash); i++) wipe[i] = 0;
    return 0;
}
