#include "CEncoderKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SY_Q8_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

// Packed layout: output channels in blocks of 64; within a block, for each group of four
// consecutive k, the 64 channels' four bytes side by side (one 256-byte row = four zmm
// registers of 16 channels × 4 bytes, the operand shape of VPDPBUSD).
enum { BLOCK = 64, ROWS = 6 };

int sy_q8_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

size_t sy_q8_packed_bytes(int n, int k) { return (size_t)n * (size_t)k; }

static inline size_t packed_index(int c, int j, size_t groups) {
    return (size_t)(c / BLOCK) * groups * BLOCK * 4 + (size_t)(j / 4) * BLOCK * 4 + (size_t)(c % BLOCK) * 4
        + (size_t)(j % 4);
}

void sy_q8_pack(const float *w, int n, int k, int8_t *packed, float *scales, int32_t *column_sums) {
    const size_t groups = (size_t)k / 4;
    for (int c = 0; c < n; c++) {
        const float *row = w + (size_t)c * k;
        float amax = 0;
        for (int j = 0; j < k; j++) amax = fmaxf(amax, fabsf(row[j]));
        const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < k; j++) {
            long q = lrintf(row[j] * inverse);
            q = q > 127 ? 127 : (q < -127 ? -127 : q);
            sum += (int32_t)q;
            packed[packed_index(c, j, groups)] = (int8_t)q;
        }
        scales[c] = amax > 0 ? amax / 127.0f : 1.0f;
        column_sums[c] = sum;
    }
}

// The affine map of one row: scale = (hi − lo)/255 over the row's range widened to include 0,
// zero point = the byte that stands for 0.
static inline void row_range(float lo, float hi, float *scale, float *inverse, int32_t *zero_point) {
    lo = fminf(lo, 0.0f);
    hi = fmaxf(hi, 0.0f);
    if (hi - lo > 0) {
        *scale = (hi - lo) / 255.0f;
        *inverse = 255.0f / (hi - lo);
        *zero_point = (int32_t)lrintf(-lo * *inverse);
    } else {
        *scale = 1.0f;
        *inverse = 0.0f;
        *zero_point = 0;
    }
}

static inline uint8_t clamp_byte(long v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

void sy_q8_quantize_rows_reference(const float *x, int m, int k, int ldx, const float *channel_scales,
                                   uint8_t *q, float *scales, int32_t *zero_points) {
    for (int r = 0; r < m; r++) {
        const float *row = x + (size_t)r * ldx;
        float lo = 0, hi = 0;
        for (int j = 0; j < k; j++) {
            const float v = row[j] * (channel_scales ? channel_scales[j] : 1.0f);
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        float inverse;
        row_range(lo, hi, &scales[r], &inverse, &zero_points[r]);
        for (int j = 0; j < k; j++) {
            const float v = row[j] * (channel_scales ? channel_scales[j] : 1.0f);
            q[(size_t)r * k + j] = clamp_byte(lrintf(v * inverse) + zero_points[r]);
        }
    }
}

void sy_q8_linear_reference(int m, int n, int k, const uint8_t *q, const float *row_scales,
                            const int32_t *row_zero_points, const int8_t *packed, const float *col_scales,
                            const int32_t *column_sums, const float *bias, float *y, int ldy) {
    const size_t groups = (size_t)k / 4;
    for (int r = 0; r < m; r++) {
        for (int c = 0; c < n; c++) {
            int32_t acc = 0;
            for (int j = 0; j < k; j++) acc += (int32_t)q[(size_t)r * k + j] * (int32_t)packed[packed_index(c, j, groups)];
            const float value = (float)(acc - row_zero_points[r] * column_sums[c]) * (col_scales[c] * row_scales[r]);
            y[(size_t)r * ldy + c] = value + (bias ? bias[c] : 0.0f);
        }
    }
}

void sy_q8_quantize_residual_reference(const float *x, int m, int k, int ldx, const float *channel_scales,
                                       const uint8_t *q, const float *scales, const int32_t *zero_points,
                                       float *residual, uint8_t *q2, float *scales2, int32_t *zero_points2) {
    for (int r = 0; r < m; r++) {
        const float *row = x + (size_t)r * ldx;
        const uint8_t *levels = q + (size_t)r * k;
        float *out = residual + (size_t)r * k;
        const float scale = scales[r];
        const int32_t zero = zero_points[r];
        for (int j = 0; j < k; j++) {
            const float v = row[j] * (channel_scales ? channel_scales[j] : 1.0f);
            const float level = (float)((int32_t)levels[j] - zero) * scale;
            out[j] = v - level;
        }
    }
    sy_q8_quantize_rows_reference(residual, m, k, k, NULL, q2, scales2, zero_points2);
}

#if defined(__x86_64__)

// x·channel_scales, 16 lanes at j.
static inline __attribute__((always_inline)) SY_Q8_TARGET
__m512 q8_scaled(const float *row, const float *channel_scales, int j) {
    const __m512 v = _mm512_loadu_ps(row + j);
    return channel_scales ? _mm512_mul_ps(v, _mm512_loadu_ps(channel_scales + j)) : v;
}

SY_Q8_TARGET
void sy_q8_quantize_rows(const float *x, int m, int k, int ldx, const float *channel_scales,
                         uint8_t *q, float *scales, int32_t *zero_points) {
    for (int r = 0; r < m; r++) {
        const float *row = x + (size_t)r * ldx;
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int j = 0; j < k; j += 16) {
            const __m512 v = q8_scaled(row, channel_scales, j);
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
        float inverse;
        row_range(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), &scales[r], &inverse, &zero_points[r]);
        const __m512 factor = _mm512_set1_ps(inverse);
        const __m512i zero = _mm512_set1_epi32(zero_points[r]);
        const __m512i floor = _mm512_setzero_si512(), ceiling = _mm512_set1_epi32(255);
        uint8_t *out = q + (size_t)r * k;
        for (int j = 0; j < k; j += 16) {
            // Round to nearest (the default MXCSR mode), as lrintf does in the reference.
            __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(q8_scaled(row, channel_scales, j), factor)), zero);
            v = _mm512_min_epi32(_mm512_max_epi32(v, floor), ceiling);
            _mm_storeu_si128((__m128i *)(out + j), _mm512_cvtepi32_epi8(v));
        }
    }
}

SY_Q8_TARGET
void sy_q8_quantize_residual(const float *x, int m, int k, int ldx, const float *channel_scales,
                             const uint8_t *q, const float *scales, const int32_t *zero_points,
                             float *residual, uint8_t *q2, float *scales2, int32_t *zero_points2) {
    for (int r = 0; r < m; r++) {
        const float *row = x + (size_t)r * ldx;
        const uint8_t *levels = q + (size_t)r * k;
        float *out = residual + (size_t)r * k;
        const __m512 scale = _mm512_set1_ps(scales[r]);
        const __m512i zero = _mm512_set1_epi32(zero_points[r]);
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int j = 0; j < k; j += 16) {
            const __m512i level = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(levels + j))), zero);
            // Multiply, then subtract (no fused multiply-add), as the reference rounds.
            const __m512 v = _mm512_sub_ps(q8_scaled(row, channel_scales, j), _mm512_mul_ps(_mm512_cvtepi32_ps(level), scale));
            _mm512_storeu_ps(out + j, v);
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
        float inverse;
        row_range(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), &scales2[r], &inverse, &zero_points2[r]);
        const __m512 factor = _mm512_set1_ps(inverse);
        const __m512i zero2 = _mm512_set1_epi32(zero_points2[r]);
        const __m512i floor = _mm512_setzero_si512(), ceiling = _mm512_set1_epi32(255);
        uint8_t *dst = q2 + (size_t)r * k;
        for (int j = 0; j < k; j += 16) {
            __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(out + j), factor)), zero2);
            v = _mm512_min_epi32(_mm512_max_epi32(v, floor), ceiling);
            _mm_storeu_si128((__m128i *)(dst + j), _mm512_cvtepi32_epi8(v));
        }
    }
}

// One tile: `rows` (≤ ROWS) activation rows × one 64-channel block, accumulated over k in
// registers (rows × 4 accumulators), then dequantised with bias into y.
static inline __attribute__((always_inline)) SY_Q8_TARGET
void q8_tile(const int rows, const size_t groups, const uint8_t *q, const size_t ldq,
             const int8_t *block, const float *row_scales, const int32_t *row_zero_points,
             const float *col_scales, const int32_t *column_sums, const float *bias, float *y, const size_t ldy) {
    __m512i acc[ROWS][4];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_si512();
    const int8_t *w = block;
    for (size_t g = 0; g < groups; g++, w += BLOCK * 4) {
        const __m512i w0 = _mm512_load_si512((const void *)(w + 0));
        const __m512i w1 = _mm512_load_si512((const void *)(w + 64));
        const __m512i w2 = _mm512_load_si512((const void *)(w + 128));
        const __m512i w3 = _mm512_load_si512((const void *)(w + 192));
        for (int r = 0; r < rows; r++) {
            int32_t four;
            memcpy(&four, q + (size_t)r * ldq + 4 * g, 4);
            const __m512i a = _mm512_set1_epi32(four);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, w0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, w1);
            acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], a, w2);
            acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], a, w3);
        }
    }
    // y = (acc − zp·Σw)·s_c·s_r + b, evaluated as acc·(s_c·s_r) + (b − (zp·s_r)·(Σw·s_c)): four
    // vector operations per output vector instead of six (a 32-bit vector multiply is two). acc
    // converts to float exactly below 2^24, which k ≤ 512 guarantees (255·127·512); beyond it,
    // and in the final difference, the rounding is ~1e-7 relative, far below the bytes' own.
    float zero_scaled[ROWS];
    for (int r = 0; r < rows; r++) zero_scaled[r] = (float)row_zero_points[r] * row_scales[r];
    for (int j = 0; j < 4; j++) {
        const __m512 cs = _mm512_loadu_ps(col_scales + 16 * j);
        const __m512 sums = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(column_sums + 16 * j))), cs);
        const __m512 b = bias ? _mm512_loadu_ps(bias + 16 * j) : _mm512_setzero_ps();
        for (int r = 0; r < rows; r++) {
            const __m512 offset = _mm512_fnmadd_ps(_mm512_set1_ps(zero_scaled[r]), sums, b);
            const __m512 s = _mm512_mul_ps(cs, _mm512_set1_ps(row_scales[r]));
            _mm512_storeu_ps(y + (size_t)r * ldy + 16 * j, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][j]), s, offset));
        }
    }
}

#define Q8_TILE(R) q8_tile(R, groups, qr, k, block, row_scales + r, row_zero_points + r, col_scales + c, \
                           column_sums + c, b, yr, ldy)

SY_Q8_TARGET
void sy_q8_linear(int m, int n, int k, const uint8_t *q, const float *row_scales,
                  const int32_t *row_zero_points, const int8_t *packed, const float *col_scales,
                  const int32_t *column_sums, const float *bias, float *y, int ldy) {
    const size_t groups = (size_t)k / 4;
    for (int c = 0; c < n; c += BLOCK) {
        // The block's weights (groups × 256 bytes) stay cached while every row tile uses them.
        const int8_t *block = packed + (size_t)(c / BLOCK) * groups * BLOCK * 4;
        const float *b = bias ? bias + c : NULL;
        for (int r = 0; r < m; r += ROWS) {
            const uint8_t *qr = q + (size_t)r * k;
            float *yr = y + (size_t)r * ldy + c;
            switch (m - r >= ROWS ? ROWS : m - r) {
            case 6: Q8_TILE(6); break;
            case 5: Q8_TILE(5); break;
            case 4: Q8_TILE(4); break;
            case 3: Q8_TILE(3); break;
            case 2: Q8_TILE(2); break;
            default: Q8_TILE(1); break;
            }
        }
    }
}

#else

// Other architectures never choose the int8 path (sy_q8_available() is 0); the portable
// reference implementation keeps these correct anyway.
void sy_q8_quantize_rows(const float *x, int m, int k, int ldx, const float *channel_scales,
                         uint8_t *q, float *scales, int32_t *zero_points) {
    sy_q8_quantize_rows_reference(x, m, k, ldx, channel_scales, q, scales, zero_points);
}
void sy_q8_quantize_residual(const float *x, int m, int k, int ldx, const float *channel_scales,
                             const uint8_t *q, const float *scales, const int32_t *zero_points,
                             float *residual, uint8_t *q2, float *scales2, int32_t *zero_points2) {
    sy_q8_quantize_residual_reference(x, m, k, ldx, channel_scales, q, scales, zero_points, residual, q2, scales2,
                                      zero_points2);
}
void sy_q8_linear(int m, int n, int k, const uint8_t *q, const float *row_scales,
                  const int32_t *row_zero_points, const int8_t *packed, const float *col_scales,
                  const int32_t *column_sums, const float *bias, float *y, int ldy) {
    sy_q8_linear_reference(m, n, k, q, row_scales, row_zero_points, packed, col_scales, column_sums, bias, y, ldy);
}

#endif
