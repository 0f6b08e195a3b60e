#include "CEncoderKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SY_AVX512_TARGET __attribute__((target("avx512f,avx512dq")))

// Shared with Elementwise.c (same definitions, kept local so each file stays self-contained).
static inline __attribute__((always_inline)) SY_AVX512_TARGET __m512 attention_exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-86.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.442695040888963f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(1.0f / 720.0f), _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 tail_mask(int remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << remaining) - 1);
}

// A block of R (≤ 4) query rows of one head, head size 32: scores against all keys (kt holds
// the keys transposed, 16 keys per vector), softmax, then the weighted sum of value rows.
// Several query rows share every key and value load: one row at a time streams the head's
// keys and values (64 KB at 256 tokens, more than L1) through the cache once per row.
static inline __attribute__((always_inline)) SY_AVX512_TARGET
void attention_rows(const int R, const float *q, const int ld, const int n, const int padded, const float scale,
                    const float *kt, const float *v, float *scores, float *out, const int ldo) {
    for (int jb = 0; jb < padded; jb += 32) {
        const int blocks = jb + 32 <= padded ? 2 : 1;
        __m512 a[4][2];
        for (int r = 0; r < R; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
        for (int d = 0; d < 32; d++) {
            const float *row = kt + (size_t)d * padded + jb;
            const __m512 k0 = _mm512_loadu_ps(row);
            const __m512 k1 = blocks == 2 ? _mm512_loadu_ps(row + 16) : _mm512_setzero_ps();
            for (int r = 0; r < R; r++) {
                const __m512 qd = _mm512_set1_ps(q[(size_t)r * ld + d]);
                a[r][0] = _mm512_fmadd_ps(qd, k0, a[r][0]);
                a[r][1] = _mm512_fmadd_ps(qd, k1, a[r][1]);
            }
        }
        const __m512 s = _mm512_set1_ps(scale);
        for (int r = 0; r < R; r++) {
            _mm512_storeu_ps(scores + (size_t)r * padded + jb, _mm512_mul_ps(a[r][0], s));
            if (blocks == 2) _mm512_storeu_ps(scores + (size_t)r * padded + jb + 16, _mm512_mul_ps(a[r][1], s));
        }
    }
    float inverse[4];
    for (int r = 0; r < R; r++) {
        float *row = scores + (size_t)r * padded;
        __m512 largest = _mm512_set1_ps(-__builtin_inff());
        for (int j = 0; j < n; j += 16)
            largest = _mm512_max_ps(largest, _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), tail_mask(n - j), row + j));
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(largest));
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < n; j += 16) {
            const __m512 e = _mm512_maskz_mov_ps(tail_mask(n - j), attention_exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), m)));
            sum = _mm512_add_ps(sum, e);
            _mm512_storeu_ps(row + j, e);
        }
        inverse[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    __m512 c[4][2];
    for (int r = 0; r < R; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const __m512 v0 = _mm512_loadu_ps(v + (size_t)j * 32), v1 = _mm512_loadu_ps(v + (size_t)j * 32 + 16);
        for (int r = 0; r < R; r++) {
            const __m512 p = _mm512_set1_ps(scores[(size_t)r * padded + j]);
            c[r][0] = _mm512_fmadd_ps(p, v0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(p, v1, c[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        const __m512 s = _mm512_set1_ps(inverse[r]);
        _mm512_storeu_ps(out + (size_t)r * ldo, _mm512_mul_ps(c[r][0], s));
        _mm512_storeu_ps(out + (size_t)r * ldo + 16, _mm512_mul_ps(c[r][1], s));
    }
}

// One head: keys and values are first copied out of the [Q|K|V] rows (keys transposed):
// their 4.6 KB stride maps every eighth row onto the same L1 sets.
SY_AVX512_TARGET
static void attention_head32(const float *q, const float *k, const float *values, int n, int ld, float scale,
                             float *out, int ldo, float *kt, float *v, float *scores) {
    const int padded = (n + 15) & ~15;
    for (int j = 0; j < padded; j++)
        for (int d = 0; d < 32; d++) kt[(size_t)d * padded + j] = j < n ? k[(size_t)j * ld + d] : 0.0f;
    for (int j = 0; j < n; j++) {
        _mm512_storeu_ps(v + (size_t)j * 32, _mm512_loadu_ps(values + (size_t)j * ld));
        _mm512_storeu_ps(v + (size_t)j * 32 + 16, _mm512_loadu_ps(values + (size_t)j * ld + 16));
    }
    for (int i = 0; i < n; i += 4) {
        const float *qi = q + (size_t)i * ld;
        float *oi = out + (size_t)i * ldo;
        switch (n - i >= 4 ? 4 : n - i) {
        case 4: attention_rows(4, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        case 3: attention_rows(3, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        case 2: attention_rows(2, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        default: attention_rows(1, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        }
    }
}

SY_AVX512_TARGET
void sy_attention32(const float *qkv, int n, int hidden, int heads, float scale, float *context, float *scratch) {
    const int ld = 3 * hidden;
    const size_t padded = (size_t)((n + 15) & ~15);
    // Flush denormals to zero here: probabilities near e^-86 times small values underflow,
    // and every denormal operand costs a microcode assist of ~100 cycles.
    const unsigned int mxcsr = _mm_getcsr();
    _mm_setcsr(mxcsr | 0x8040);
    // Key, value and score rows start on 64-byte boundaries: a vector load that straddles two
    // cache lines costs two loads.
    scratch = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (int head = 0; head < heads; head++) {
        const float *q = qkv + head * 32;
        attention_head32(q, q + hidden, q + 2 * hidden, n, ld, scale, context + head * 32, hidden,
                         scratch, scratch + 32 * padded, scratch + 64 * padded);
    }
    _mm_setcsr(mxcsr);
}

#endif

size_t sy_attention_scratch_floats(int n) {
    const size_t padded = (size_t)((n + 15) & ~15);
    return 68 * padded + 16;  // keys, values, four score rows, alignment
}
