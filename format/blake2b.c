/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2b-256 of a buffer (RFC 7693: unkeyed, 32-byte digest), the package digest. The same
 * function as libsodium's crypto_generichash with a 32-byte output and no key, written out
 * here because the build of libsodium Debian ships takes about twice as long on the CPUs this
 * runs on as this plain C does (680 against 1,250 MB/s), and pack and verify digest every
 * byte of every resource.
 *
 * One message at a time is plain C. A vector compression function for one message (a row of
 * the state in each 256-bit register, AVX2 or AVX-512) was tried and dropped: BLAKE2b is one
 * chain of dependent additions, xors and rotates, and on the AMD EPYC (Zen 5) this runs on a
 * simple vector operation takes two cycles where the scalar one takes one, so both vector
 * versions were slower than this (3.6 and 2.6-3.4 against 2.0 TSC cycles a byte; branch
 * b2simd-vector). Eight independent messages at once, one in each 64-bit lane of a 512-bit
 * register, have eight chains to overlap instead of one: blake2b_256_many does that with
 * AVX-512F where the CPU has it (about 0.63 cycles a byte a message there, 3x the plain C).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X8 1
#endif

#include "internal.h"

static const uint64_t iv[8] = {
	0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
	0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
	0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

static const uint8_t sigma[12][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static uint64_t load64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint64_t rotr64(uint64_t x, int n)
{
	return x >> n | x << (64 - n);
}

/*
 * The rounds are unrolled with constant message indexes, the state is sixteen locals and
 * the message words are read from the block where they are used: an array of either made
 * GCC keep part of it in memory or vectorise a piece of it, both slower. A step's four G
 * functions are written side by side, each line of one after the same line of the other
 * three: they are independent, and in this order GCC schedules and allocates registers for
 * four chains at once (with the locals: 2.09 -> 1.90 TSC cycles a byte on the AMD EPYC
 * here, against one G after another with arrays).
 */
#define M(r, k) load64(block + 8 * sigma[r][k])
#define MIX_AD(r, g, x, rot, a, b, c, d)                                                     \
	a = a + b + M(r, 2 * (g) + (x));                                                     \
	d = rotr64(d ^ a, rot);
#define MIX_CB(rot, a, b, c, d)                                                              \
	c = c + d;                                                                           \
	b = rotr64(b ^ c, rot);
/* G functions g .. g + 3 on the columns (or diagonals) given as four (a, b, c, d) groups. */
#define STEP(r, g, a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3)              \
	MIX_AD(r, g, 0, 32, a0, b0, c0, d0) MIX_AD(r, g + 1, 0, 32, a1, b1, c1, d1)          \
	MIX_AD(r, g + 2, 0, 32, a2, b2, c2, d2) MIX_AD(r, g + 3, 0, 32, a3, b3, c3, d3)      \
	MIX_CB(24, a0, b0, c0, d0) MIX_CB(24, a1, b1, c1, d1)                                \
	MIX_CB(24, a2, b2, c2, d2) MIX_CB(24, a3, b3, c3, d3)                                \
	MIX_AD(r, g, 1, 16, a0, b0, c0, d0) MIX_AD(r, g + 1, 1, 16, a1, b1, c1, d1)          \
	MIX_AD(r, g + 2, 1, 16, a2, b2, c2, d2) MIX_AD(r, g + 3, 1, 16, a3, b3, c3, d3)      \
	MIX_CB(63, a0, b0, c0, d0) MIX_CB(63, a1, b1, c1, d1)                                \
	MIX_CB(63, a2, b2, c2, d2) MIX_CB(63, a3, b3, c3, d3)

#define ROUND(r)                                                                             \
	do {                                                                                 \
		STEP(r, 0, v0, v4, v8, v12, v1, v5, v9, v13, v2, v6, v10, v14, v3, v7, v11,  \
		     v15)                                                                    \
		STEP(r, 4, v0, v5, v10, v15, v1, v6, v11, v12, v2, v7, v8, v13, v3, v4, v9,  \
		     v14)                                                                    \
	} while (0)

/* One 128-byte block into h; t is the count of bytes so far, last marks the final block. */
static void compress(uint64_t h[8], const unsigned char *block, uint64_t t, int last)
{
	uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
	uint64_t v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
	uint64_t v8 = iv[0], v9 = iv[1], v10 = iv[2], v11 = iv[3];
	/* the high half of the 128-bit counter stays 0: no buffer is that large */
	uint64_t v12 = iv[4] ^ t, v13 = iv[5], v14 = last ? ~iv[6] : iv[6], v15 = iv[7];

	ROUND(0);
	ROUND(1);
	ROUND(2);
	ROUND(3);
	ROUND(4);
	ROUND(5);
	ROUND(6);
	ROUND(7);
	ROUND(8);
	ROUND(9);
	ROUND(10);
	ROUND(11);
	h[0] ^= v0 ^ v8;
	h[1] ^= v1 ^ v9;
	h[2] ^= v2 ^ v10;
	h[3] ^= v3 ^ v11;
	h[4] ^= v4 ^ v12;
	h[5] ^= v5 ^ v13;
	h[6] ^= v6 ^ v14;
	h[7] ^= v7 ^ v15;
}

static void init(uint64_t h[8])
{
	memcpy(h, iv, sizeof(iv));
	h[0] ^= 0x01010000u ^ 32u; /* fanout 1, depth 1, no key, 32-byte digest */
}

static void put_digest(unsigned char out[32], const uint64_t h[4])
{
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			out[8 * i + k] = (unsigned char)(h[i] >> (8 * k));
}

/* The rest of a message into h, which holds its first t bytes: len bytes at p, the final
 * block among them (an empty message still has one, all zero). */
static void finish(unsigned char out[32], uint64_t h[8], const unsigned char *p, size_t len,
		   uint64_t t)
{
	unsigned char last[128];

	for (; len > 128; p += 128, len -= 128) {
		t += 128;
		compress(h, p, t, 0);
	}
	memset(last, 0, sizeof(last));
	if (len)
		memcpy(last, p, len);
	compress(h, last, t + len, 1);
	put_digest(out, h);
}

void blake2b_256(unsigned char out[32], const void *data, size_t len)
{
	uint64_t h[8];

	init(h);
	finish(out, h, data, len, 0);
}

/* The same digest of a message given in pieces. The last block of a message is compressed
 * apart (its flag), so a full block is kept back until more comes or the message ends. */
void blake2b_256_init(struct blake2b_state *s)
{
	init(s->h);
	s->t = 0;
	s->n = 0;
}

void blake2b_256_update(struct blake2b_state *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t k;

	if (!len)
		return;
	if (s->n) {
		k = len < 128 - s->n ? len : 128 - s->n;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (!len)
			return;
		s->t += 128;
		compress(s->h, s->buf, s->t, 0);
		s->n = 0;
	}
	for (; len > 128; p += 128, len -= 128) {
		s->t += 128;
		compress(s->h, p, s->t, 0);
	}
	memcpy(s->buf, p, len);
	s->n = len;
}

void blake2b_256_final(struct blake2b_state *s, unsigned char out[32])
{
	finish(out, s->h, s->buf, s->n, s->t);
}

void blake2b_256_many_plain(unsigned char (*out)[32], const void *const *data,
			    const size_t *len, size_t n)
{
	for (size_t i = 0; i < n; i++)
		blake2b_256(out[i], data[i], len[i]);
}

#ifdef HAVE_X8
#define X8 __attribute__((target("avx512f")))
#define ADD8 _mm512_add_epi64
#define XOR8 _mm512_xor_si512
#define ROR8 _mm512_ror_epi64
#define G8(r, i, a, b, c, d)                                                                 \
	do {                                                                                 \
		v[a] = ADD8(ADD8(v[a], m[sigma[r][2 * (i)]]), v[b]);                         \
		v[d] = ROR8(XOR8(v[d], v[a]), 32);                                           \
		v[c] = ADD8(v[c], v[d]);                                                     \
		v[b] = ROR8(XOR8(v[b], v[c]), 24);                                           \
		v[a] = ADD8(ADD8(v[a], m[sigma[r][2 * (i) + 1]]), v[b]);                     \
		v[d] = ROR8(XOR8(v[d], v[a]), 16);                                           \
		v[c] = ADD8(v[c], v[d]);                                                     \
		v[b] = ROR8(XOR8(v[b], v[c]), 63);                                           \
	} while (0)
#define ROUND8(r)                                                                            \
	do {                                                                                 \
		G8(r, 0, 0, 4, 8, 12);                                                       \
		G8(r, 1, 1, 5, 9, 13);                                                       \
		G8(r, 2, 2, 6, 10, 14);                                                      \
		G8(r, 3, 3, 7, 11, 15);                                                      \
		G8(r, 4, 0, 5, 10, 15);                                                      \
		G8(r, 5, 1, 6, 11, 12);                                                      \
		G8(r, 6, 2, 7, 8, 13);                                                       \
		G8(r, 7, 3, 4, 9, 14);                                                       \
	} while (0)

/* One block of each of eight messages: lane k of word i of the state is h[i][k], its block
 * is at bp[k] (the words gathered from eight places), its count of bytes t[k], and bit k of
 * last marks its final block. Every lane is computed; an idle one hashes zeros, unused. */
X8 static void compress8(uint64_t h[8][8], const unsigned char *const bp[8],
			 const uint64_t t[8], unsigned last)
{
	__m512i m[16], v[16];
	__m512i at = _mm512_loadu_si512((const void *)bp);

	for (int j = 0; j < 16; j++)
		m[j] = _mm512_i64gather_epi64(ADD8(at, _mm512_set1_epi64(8 * j)), NULL, 1);
	for (int i = 0; i < 8; i++) {
		v[i] = _mm512_loadu_si512(h[i]);
		v[i + 8] = _mm512_set1_epi64((long long)iv[i]);
	}
	v[12] = XOR8(v[12], _mm512_loadu_si512(t));
	v[14] = _mm512_mask_xor_epi64(v[14], (__mmask8)last, v[14], _mm512_set1_epi64(-1));
	ROUND8(0);
	ROUND8(1);
	ROUND8(2);
	ROUND8(3);
	ROUND8(4);
	ROUND8(5);
	ROUND8(6);
	ROUND8(7);
	ROUND8(8);
	ROUND8(9);
	ROUND8(10);
	ROUND8(11);
	for (int i = 0; i < 8; i++) /* h ^ v[i] ^ v[i + 8] */
		_mm512_storeu_si512(h[i], _mm512_ternarylogic_epi64(_mm512_loadu_si512(h[i]), v[i],
								     v[i + 8], 0x96));
}

/* Eight lanes in lockstep, a block of each message in its lane at a time: a lane whose
 * message ended takes the next one. Once no message is left to start and fewer than three
 * lanes still run, those finish one after the other in plain C: a block of eight lanes costs
 * about as much as three plain ones. */
X8 static void many_x8(unsigned char (*out)[32], const unsigned char *const *data,
		       const size_t *len, size_t n)
{
	static const unsigned char zero[128];
	unsigned char tail[8][128];
	uint64_t h[8][8], t[8];
	const unsigned char *bp[8];
	size_t msg[8], off[8], next = 0;
	unsigned busy = 0, last;

	for (;;) {
		for (int k = 0; k < 8 && next < n; k++) {
			if (busy >> k & 1)
				continue;
			uint64_t s[8];
			init(s);
			for (int i = 0; i < 8; i++)
				h[i][k] = s[i];
			msg[k] = next++;
			off[k] = 0;
			busy |= 1u << k;
		}
		if (next == n && __builtin_popcount(busy) < 3)
			break;
		last = 0;
		for (int k = 0; k < 8; k++) {
			size_t rest = busy >> k & 1 ? len[msg[k]] - off[k] : 0;
			t[k] = 0;
			bp[k] = zero;
			if (!(busy >> k & 1))
				continue;
			if (rest > 128) {
				bp[k] = data[msg[k]] + off[k];
				off[k] += 128;
			} else {
				memset(tail[k], 0, sizeof(tail[k]));
				if (rest)
					memcpy(tail[k], data[msg[k]] + off[k], rest);
				bp[k] = tail[k];
				off[k] += rest;
				last |= 1u << k;
			}
			t[k] = off[k];
		}
		compress8(h, bp, t, last);
		for (int k = 0; k < 8; k++) {
			if (!(last >> k & 1))
				continue;
			uint64_t s[4] = {h[0][k], h[1][k], h[2][k], h[3][k]};
			put_digest(out[msg[k]], s);
		}
		busy &= ~last;
	}
	for (int k = 0; k < 8; k++) {
		if (!(busy >> k & 1))
			continue;
		uint64_t s[8];
		for (int i = 0; i < 8; i++)
			s[i] = h[i][k];
		finish(out[msg[k]], s, data[msg[k]] + off[k], len[msg[k]] - off[k], off[k]);
	}
}
#endif

int blake2b_x8_usable(void)
{
#ifdef HAVE_X8
	/* -1 until asked once; every thread that asks first finds the same answer */
	static atomic_int usable = -1;
	int u = atomic_load_explicit(&usable, memory_order_relaxed);

	if (u < 0) {
		__builtin_cpu_init();
		u = __builtin_cpu_supports("avx512f") ? 1 : 0;
		atomic_store_explicit(&usable, u, memory_order_relaxed);
	}
	return u;
#else
	return 0;
#endif
}

int blake2b_256_many_x8(unsigned char (*out)[32], const void *const *data, const size_t *len,
			size_t n)
{
#ifdef HAVE_X8
	if (!blake2b_x8_usable())
		return -1;
	many_x8(out, (const unsigned char *const *)data, len, n);
	return 0;
#else
	(void)out, (void)data, (void)len, (void)n;
	return -1;
#endif
}

void blake2b_256_many(unsigned char (*out)[32], const void *const *data, const size_t *len,
		      size_t n)
{
	if (n < 2 || blake2b_256_many_x8(out, data, len, n) != 0)
		blake2b_256_many_plain(out, data, len, n);
}
