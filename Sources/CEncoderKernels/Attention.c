#include "CEncoderKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SY_AVX512_TARGET __attribute__((target("avx512f,avx512dq")))

// 2^x for x ≤ 0 with ~2.2e-7 relative error: 2^n · 2^f, n = round(x), |f| ≤ 1/2, degree-5
// polynomial fitted (relative least squares on Chebyshev nodes) to 2^f. Scores are kept in
// base-2 units (scaled by log2 e in the product pass), so this needs no Cody–Waite reduction
// and is 9 vector operations against 13 for e^x. Clamped at −124 so results stay normal.
static inline __attribute__((always_inline)) SY_AVX512_TARGET __m512 attention_exp2_16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-124.0f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_fmadd_ps(f, _mm512_set1_ps(1.326697064e-03f), _mm512_set1_ps(9.675459936e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550742522e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402212173e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000119e+00f));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 tail_mask(int remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : (remaining <= 0 ? (__mmask16)0 : (__mmask16)((1u << remaining) - 1));
}

enum { QUERY_ROWS = 8 };

// A block of R (≤ 8) query rows of one head, head size 32: scores against all keys (kt holds
// the keys transposed, 16 keys per vector, zero beyond n), softmax, then the weighted sum of
// value rows. Eight rows share every key and value load and give the multiply-adds 16
// independent accumulators (two FMA ports × four cycles of latency need at least eight).
// Each row's maximum is taken while its scores are stored, so softmax reads them once.
static inline __attribute__((always_inline)) SY_AVX512_TARGET
void attention_rows(const int R, const float *q, const int ld, const int n, const int padded, const float scale,
                    const float *kt, const float *v, float *scores, float *out, const int ldo) {
    const __m512 s = _mm512_set1_ps(scale * 1.4426950408889634f);  // scores in base-2 units
    __m512 largest[QUERY_ROWS];
    for (int r = 0; r < R; r++) largest[r] = _mm512_set1_ps(-__builtin_inff());
    int jb = 0;
    for (; jb + 32 <= padded; jb += 32) {
        __m512 a[QUERY_ROWS][2];
        for (int r = 0; r < R; r++) a[r][0] = a[r][1] = _mm512_setzero_ps();
        for (int d = 0; d < 32; d++) {
            const float *row = kt + (size_t)d * padded + jb;
            const __m512 k0 = _mm512_load_ps(row), k1 = _mm512_load_ps(row + 16);
            for (int r = 0; r < R; r++) {
                const __m512 qd = _mm512_set1_ps(q[(size_t)r * ld + d]);
                a[r][0] = _mm512_fmadd_ps(qd, k0, a[r][0]);
                a[r][1] = _mm512_fmadd_ps(qd, k1, a[r][1]);
            }
        }
        const __mmask16 valid0 = tail_mask(n - jb), valid1 = tail_mask(n - jb - 16);
        for (int r = 0; r < R; r++) {
            const __m512 x0 = _mm512_mul_ps(a[r][0], s), x1 = _mm512_mul_ps(a[r][1], s);
            largest[r] = _mm512_mask_max_ps(largest[r], valid0, largest[r], x0);
            largest[r] = _mm512_mask_max_ps(largest[r], valid1, largest[r], x1);
            _mm512_store_ps(scores + (size_t)r * padded + jb, x0);
            _mm512_store_ps(scores + (size_t)r * padded + jb + 16, x1);
        }
    }
    if (jb < padded) {  // one last block of 16 keys
        __m512 a[QUERY_ROWS];
        for (int r = 0; r < R; r++) a[r] = _mm512_setzero_ps();
        for (int d = 0; d < 32; d++) {
            const __m512 k0 = _mm512_load_ps(kt + (size_t)d * padded + jb);
            for (int r = 0; r < R; r++) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[(size_t)r * ld + d]), k0, a[r]);
        }
        const __mmask16 valid = tail_mask(n - jb);
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_mul_ps(a[r], s);
            largest[r] = _mm512_mask_max_ps(largest[r], valid, largest[r], x);
            _mm512_store_ps(scores + (size_t)r * padded + jb, x);
        }
    }
    float inverse[QUERY_ROWS];
    for (int r = 0; r < R; r++) {
        float *row = scores + (size_t)r * padded;
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(largest[r]));
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < padded; j += 16) {
            const __m512 e = _mm512_maskz_mov_ps(tail_mask(n - j), attention_exp2_16(_mm512_sub_ps(_mm512_load_ps(row + j), m)));
            sum = _mm512_add_ps(sum, e);
            _mm512_store_ps(row + j, e);
        }
        inverse[r] = 1.0f / _mm512_reduce_add_ps(sum);
    }
    __m512 c[QUERY_ROWS][2];
    for (int r = 0; r < R; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const __m512 v0 = _mm512_load_ps(v + (size_t)j * 32), v1 = _mm512_load_ps(v + (size_t)j * 32 + 16);
        for (int r = 0; r < R; r++) {
            const __m512 p = _mm512_set1_ps(scores[(size_t)r * padded + j]);
            c[r][0] = _mm512_fmadd_ps(p, v0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(p, v1, c[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        const __m512 sc = _mm512_set1_ps(inverse[r]);
        _mm512_storeu_ps(out + (size_t)r * ldo, _mm512_mul_ps(c[r][0], sc));
        _mm512_storeu_ps(out + (size_t)r * ldo + 16, _mm512_mul_ps(c[r][1], sc));
    }
}

// dst (16 rows, stride lds) = the transpose of a 16×16 block of src (stride ls), of which only
// the first `rows` rows are read (the rest count as zero): unpack pairs, then quadruples, then
// 128-bit lanes twice. 64 shuffles against 256 scalar loads and stores.
static inline __attribute__((always_inline)) SY_AVX512_TARGET
void transpose16(const float *src, size_t ls, int rows, float *dst, size_t lds) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + (size_t)i * ls) : _mm512_setzero_ps();
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_store_ps(dst + (size_t)i * lds, r[i]);
}

// One head: keys and values are first copied out of the [Q|K|V] rows (keys transposed):
// their 4.6 KB stride maps every eighth row onto the same L1 sets.
SY_AVX512_TARGET
static void attention_head32(const float *q, const float *k, const float *values, int n, int ld, float scale,
                             float *out, int ldo, float *kt, float *v, float *scores) {
    const int padded = (n + 15) & ~15;
    for (int j = 0; j < padded; j += 16) {
        const int rows = n - j >= 16 ? 16 : n - j;
        transpose16(k + (size_t)j * ld, ld, rows, kt + j, padded);
        transpose16(k + (size_t)j * ld + 16, ld, rows, kt + (size_t)16 * padded + j, padded);
    }
    for (int j = 0; j < n; j++) {
        _mm512_store_ps(v + (size_t)j * 32, _mm512_loadu_ps(values + (size_t)j * ld));
        _mm512_store_ps(v + (size_t)j * 32 + 16, _mm512_loadu_ps(values + (size_t)j * ld + 16));
    }
    for (int i = 0; i < n; i += QUERY_ROWS) {
        const float *qi = q + (size_t)i * ld;
        float *oi = out + (size_t)i * ldo;
        switch (n - i >= QUERY_ROWS ? QUERY_ROWS : n - i) {
        case 8: attention_rows(8, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        case 7: attention_rows(7, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        case 6: attention_rows(6, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
        case 5: attention_rows(5, qi, ld, n, padded, scale, kt, v, scores, oi, ldo); break;
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
    // Flush denormals to zero here: probabilities near 2^-124 times small values underflow,
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
    return 72 * padded + 16;  // keys, values, eight score rows, alignment
}
