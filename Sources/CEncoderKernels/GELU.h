// GELU (erf form) for the AVX-512 kernels, shared by Elementwise.c and FusedRows.c.
//
// gelu(x) = 0.5·x·(1 + erf(x/√2)) = 0.5·(x + |x|·erf(|x|/√2)). erf on [0, 4) is a degree-5
// polynomial on each of 16 intervals of width 1/4, its coefficients picked per lane with a
// register permute (tables fitted by scripts/fit_erf_table.py; worst |error| 5.9e-8, against
// 1.5e-7 for Abramowitz & Stegun 7.1.26). erf(z) rounds to 1 in float beyond z = 4. This costs
// about 20 vector operations per 16 values and no division or exp, against about 27 and a
// division (a ~16-cycle instruction) for the A&S form it replaced.
#ifndef SWITCHYARD_CENCODER_GELU_H
#define SWITCHYARD_CENCODER_GELU_H

#if defined(__x86_64__)
#include <immintrin.h>

static const float erf_c0[16] = {1.403162032e-01f, 4.041168988e-01f, 6.232408881e-01f, 7.840750813e-01f, 8.883882165e-01f, 9.481700659e-01f, 9.784437418e-01f, 9.919900298e-01f, 9.973459840e-01f, 9.992170334e-01f, 9.997946024e-01f, 9.999521375e-01f, 9.999901056e-01f, 9.999982119e-01f, 9.999997020e-01f, 9.999999404e-01f};
static const float erf_c1[16] = {2.777213156e-01f, 2.450882047e-01f, 1.908748895e-01f, 1.311862618e-01f, 7.956849039e-02f, 4.258994386e-02f, 2.011806332e-02f, 8.386456408e-03f, 3.085204866e-03f, 1.001619501e-03f, 2.869688615e-04f, 7.255712262e-05f, 1.618969873e-05f, 3.187945822e-06f, 5.539833978e-07f, 8.495644721e-08f};
static const float erf_c2[16] = {-8.678597398e-03f, -2.297659032e-02f, -2.982384712e-02f, -2.869690582e-02f, -2.237877063e-02f, -1.464048214e-02f, -8.173087612e-03f, -3.931187093e-03f, -1.638999907e-03f, -5.946849706e-04f, -1.883039804e-04f, -5.214058183e-05f, -1.264427465e-05f, -2.688552286e-06f, -5.017009812e-07f, -8.222207981e-08f};
static const float erf_c3[16] = {-5.604973063e-03f, -3.669922240e-03f, -8.699186146e-04f, 1.451869495e-03f, 2.538285684e-03f, 2.467781305e-03f, 1.794405165e-03f, 1.053783461e-03f, 5.162157468e-04f, 2.145392064e-04f, 7.641065167e-05f, 2.347536247e-05f, 6.249417311e-06f, 1.446265628e-06f, 2.916711708e-07f, 5.135552072e-08f};
static const float erf_c4[16] = {2.663215855e-04f, 6.461477024e-04f, 6.855222164e-04f, 4.380968167e-04f, 1.106830969e-04f, -1.171211916e-04f, -1.928955753e-04f, -1.646994497e-04f, -1.031364372e-04f, -5.158572458e-05f, -2.135522845e-05f, -7.455227660e-06f, -2.219619546e-06f, -5.677458716e-07f, -1.254049380e-07f, -2.400958188e-08f};
static const float erf_c5[16] = {1.011015556e-04f, 4.426381929e-05f, -2.640141429e-05f, -6.514568668e-05f, -5.963007425e-05f, -2.992569898e-05f, -2.249269528e-06f, 1.106252148e-05f, 1.215255088e-05f, 8.164627616e-06f, 4.137123142e-06f, 1.687214194e-06f, 5.705683748e-07f, 1.626755619e-07f, 3.951132754e-08f, 8.232841964e-09f};

/// The six coefficient tables in registers: load once per call, outside the loops.
typedef struct { __m512 c[6]; } sy_erf_table;

static inline __attribute__((always_inline, target("avx512f,avx512dq"))) sy_erf_table sy_erf_table_load(void) {
    sy_erf_table t;
    t.c[0] = _mm512_loadu_ps(erf_c0);
    t.c[1] = _mm512_loadu_ps(erf_c1);
    t.c[2] = _mm512_loadu_ps(erf_c2);
    t.c[3] = _mm512_loadu_ps(erf_c3);
    t.c[4] = _mm512_loadu_ps(erf_c4);
    t.c[5] = _mm512_loadu_ps(erf_c5);
    return t;
}

static inline __attribute__((always_inline, target("avx512f,avx512dq"))) __m512 sy_gelu16(__m512 x, const sy_erf_table *table) {
    const __m512 magnitude = _mm512_abs_ps(x);
    // u = 4·|x|/√2, capped just below 16 so the interval index stays in 0…15 (NaN stays NaN in x).
    const __m512 u = _mm512_min_ps(_mm512_mul_ps(magnitude, _mm512_set1_ps(2.8284271247461903f)), _mm512_set1_ps(15.999f));
    const __m512 floor = _mm512_roundscale_ps(u, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512i index = _mm512_cvtps_epi32(floor);
    const __m512 t = _mm512_sub_ps(_mm512_sub_ps(u, floor), _mm512_set1_ps(0.5f));
    __m512 p = _mm512_permutexvar_ps(index, table->c[5]);
    p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(index, table->c[4]));
    p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(index, table->c[3]));
    p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(index, table->c[2]));
    p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(index, table->c[1]));
    p = _mm512_fmadd_ps(p, t, _mm512_permutexvar_ps(index, table->c[0]));
    return _mm512_mul_ps(_mm512_fmadd_ps(magnitude, p, x), _mm512_set1_ps(0.5f));
}

#endif
#endif
