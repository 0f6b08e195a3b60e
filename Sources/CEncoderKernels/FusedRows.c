#include "CEncoderKernels.h"

#include <math.h>

// Row kernels that end a block of the encoder and start the next dense product: the
// residual LayerNorm (or bias + GELU) writes its FP32 row and, while that row is still in
// L1, quantises it for the int8 product that reads it next. As separate passes, each
// [tokens × width] activation would cross L2 three more times (write, read for the range,
// read to quantise).

#if defined(__x86_64__)
#include <immintrin.h>
#include "GELU.h"
#define SY_FUSED_TARGET __attribute__((target("avx512f,avx512dq")))

// Quantises one row already in L1 whose scaled range [lo, hi] is known: the same affine map
// and rounding as sy_q8_quantize_rows.
static inline __attribute__((always_inline)) SY_FUSED_TARGET
void quantize_row(const float *row, int n, const float *channel_scales, float lo, float hi,
                  uint8_t *q, float *scale, int32_t *zero_point) {
    lo = fminf(lo, 0.0f);
    hi = fmaxf(hi, 0.0f);
    float inverse;
    if (hi - lo > 0) {
        *scale = (hi - lo) / 255.0f;
        inverse = 255.0f / (hi - lo);
        *zero_point = (int32_t)lrintf(-lo * inverse);
    } else {
        *scale = 1.0f;
        inverse = 0.0f;
        *zero_point = 0;
    }
    const __m512 factor = _mm512_set1_ps(inverse);
    const __m512i zero = _mm512_set1_epi32(*zero_point);
    const __m512i floor = _mm512_setzero_si512(), ceiling = _mm512_set1_epi32(255);
    for (int j = 0; j < n; j += 16) {
        __m512 v = _mm512_loadu_ps(row + j);
        if (channel_scales) v = _mm512_mul_ps(v, _mm512_loadu_ps(channel_scales + j));
        __m512i b = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, factor)), zero);
        b = _mm512_min_epi32(_mm512_max_epi32(b, floor), ceiling);
        _mm_storeu_si128((__m128i *)(q + j), _mm512_cvtepi32_epi8(b));
    }
}

SY_FUSED_TARGET
void sy_residual_layernorm(const float *x, const float *bias, float *residual, int rows, int n,
                           const float *gamma, const float *beta, float epsilon,
                           const float *channel_scales, uint8_t *q, float *scales, int32_t *zero_points) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x ? x + (size_t)r * n : NULL;
        float *out = residual + (size_t)r * n;
        // Mean and variance from one pass (Σv, Σv²): the rows' means are small against their
        // spread, so E[v²] − mean² loses nothing of note in float, and the row is read once less.
        __m512 sum = _mm512_setzero_ps(), squares = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            __m512 v = _mm512_loadu_ps(out + i);
            if (xr) v = _mm512_add_ps(v, _mm512_loadu_ps(xr + i));
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + i));
            _mm512_storeu_ps(out + i, v);
            sum = _mm512_add_ps(sum, v);
            squares = _mm512_fmadd_ps(v, v, squares);
        }
        const float mean_value = _mm512_reduce_add_ps(sum) / (float)n;
        const float variance = fmaxf(_mm512_reduce_add_ps(squares) / (float)n - mean_value * mean_value, 0.0f);
        const __m512 mean = _mm512_set1_ps(mean_value);
        const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(variance + epsilon));
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(out + i), mean), inv);
            const __m512 y = _mm512_fmadd_ps(d, _mm512_loadu_ps(gamma + i), _mm512_loadu_ps(beta + i));
            _mm512_storeu_ps(out + i, y);
            const __m512 scaled = channel_scales ? _mm512_mul_ps(y, _mm512_loadu_ps(channel_scales + i)) : y;
            lo = _mm512_min_ps(lo, scaled);
            hi = _mm512_max_ps(hi, scaled);
        }
        if (q)
            quantize_row(out, n, channel_scales, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi),
                         q + (size_t)r * n, scales + r, zero_points + r);
    }
}

SY_FUSED_TARGET
void sy_bias_gelu_quantize(float *data, int rows, int n, const float *bias,
                           const float *channel_scales, uint8_t *q, float *scales, int32_t *zero_points) {
    const sy_erf_table table = sy_erf_table_load();
    for (int r = 0; r < rows; r++) {
        float *row = data + (size_t)r * n;
        __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            const __m512 y = sy_gelu16(_mm512_add_ps(_mm512_loadu_ps(row + i), _mm512_loadu_ps(bias + i)), &table);
            _mm512_storeu_ps(row + i, y);
            const __m512 scaled = channel_scales ? _mm512_mul_ps(y, _mm512_loadu_ps(channel_scales + i)) : y;
            lo = _mm512_min_ps(lo, scaled);
            hi = _mm512_max_ps(hi, scaled);
        }
        quantize_row(row, n, channel_scales, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi),
                     q + (size_t)r * n, scales + r, zero_points + r);
    }
}

#endif
