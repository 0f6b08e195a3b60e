#include "CEncoderKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "GELU.h"
#define SY_AVX512_TARGET __attribute__((target("avx512f,avx512dq")))

int sy_avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

// e^x with ~1e-7 relative error: 2^n · e^r, |r| ≤ ln2/2, degree-6 Taylor polynomial; the
// input is clamped so results stay normal.
static inline __attribute__((always_inline)) SY_AVX512_TARGET __m512 exp16(__m512 x) {
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

SY_AVX512_TARGET
void sy_bias_gelu(float *data, int rows, int n, const float *bias) {
    const sy_erf_table table = sy_erf_table_load();
    for (int r = 0; r < rows; r++) {
        float *row = data + (size_t)r * n;
        for (int i = 0; i < n; i += 16)
            _mm512_storeu_ps(row + i, sy_gelu16(_mm512_add_ps(_mm512_loadu_ps(row + i), _mm512_loadu_ps(bias + i)), &table));
    }
}

SY_AVX512_TARGET
void sy_softmax_rows(float *data, int rows, int n, int stride) {
    for (int r = 0; r < rows; r++) {
        float *row = data + (size_t)r * stride;
        __m512 largest = _mm512_set1_ps(-__builtin_inff());
        for (int i = 0; i < n; i += 16) {
            const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            largest = _mm512_max_ps(largest, _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), mask, row + i));
        }
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(largest));
        __m512 sum = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, row + i), m));
            sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(mask, e));
            _mm512_mask_storeu_ps(row + i, mask, e);
        }
        const __m512 scale = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        for (int i = 0; i < n; i += 16) {
            const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            _mm512_mask_storeu_ps(row + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + i), scale));
        }
    }
}

#else

int sy_avx512_available(void) { return 0; }

#endif
