// Int8 kernels for the sentence encoder's dense layers (x86-64 with AVX-512 VNNI).
//
// In FP32 the encoder is bound by multiply-add throughput: MiniLM-L6 needs about 21 MFLOP
// per token, so a 64-token prompt costs about 15 ms at the ~90 GFLOP/s one core reaches
// with OpenBLAS. VNNI's VPDPBUSD does 64 int8 multiply-adds per instruction against 16 for
// an FP32 FMA, so the four dense products of each layer (Q/K/V, attention output, and the
// two feed-forward products, >90% of the work) run about four times faster in int8.
//
// Weights are quantised symmetrically per output channel to [-127, 127] (once, at load).
// Activations are quantised per token to unsigned bytes with a zero point (an affine map of
// the row's range onto 0…255: GELU outputs are almost all ≥ -0.17, so a symmetric map would
// waste half the levels); VPDPBUSD multiplies unsigned by signed bytes, and each output
// subtracts zero_point·Σw, with Σw precomputed per channel at packing. A few input channels
// of BERT's LayerNorm outputs are much larger than the rest and would leave the others only
// a handful of levels; as in SmoothQuant (Xiao et al., 2023) each input channel j may be
// scaled by 1/s_j before quantisation and the weights' column j by s_j, which is exact in
// real arithmetic and moves range from the activations into the weights. Attention scores,
// softmax, GELU and LayerNorm stay in FP32.
#ifndef SWITCHYARD_CENCODER_KERNELS_H
#define SWITCHYARD_CENCODER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU (and OS) can run the int8 kernels: AVX-512 F/BW and VNNI.
int sy_q8_available(void);

/// Bytes of the packed form of an n×k weight matrix (n a multiple of 64, k of 16).
size_t sy_q8_packed_bytes(int n, int k);

/// Quantises and packs a row-major weight matrix w[n][k] (PyTorch's [out, in] layout) for
/// sy_q8_linear. `packed` must hold sy_q8_packed_bytes(n, k) bytes, 64-byte aligned;
/// `scales` and `column_sums` (Σ_k of each channel's quantised weights) hold n values.
/// Portable C: runs on any CPU.
void sy_q8_pack(const float *w, int n, int k, int8_t *packed, float *scales, int32_t *column_sums);

/// Quantises m rows of x·diag(channel_scales) (row stride ldx floats, k a multiple of 16;
/// channel_scales may be NULL) into q (row stride k bytes) with one scale and zero point per
/// row. Requires sy_q8_available().
void sy_q8_quantize_rows(const float *x, int m, int k, int ldx, const float *channel_scales,
                         uint8_t *q, float *scales, int32_t *zero_points);

/// y[m×n] = dequant(q · packedᵀ) + bias (bias may be NULL), row stride ldy floats.
/// Requires sy_q8_available().
void sy_q8_linear(int m, int n, int k, const uint8_t *q, const float *row_scales,
                  const int32_t *row_zero_points, const int8_t *packed, const float *col_scales,
                  const int32_t *column_sums, const float *bias, float *y, int ldy);

/// The error sy_q8_quantize_rows left in m rows, quantised in turn: residual[r] =
/// x[r]·diag(channel_scales) − dequant(q[r]) (m·k floats of scratch), then q2 / scales2 /
/// zero_points2 as sy_q8_quantize_rows gives for it. A second sy_q8_linear over q2 (without
/// bias), added to the first, is the product with activations at about 16-bit resolution.
/// Requires sy_q8_available().
void sy_q8_quantize_residual(const float *x, int m, int k, int ldx, const float *channel_scales,
                             const uint8_t *q, const float *scales, const int32_t *zero_points,
                             float *residual, uint8_t *q2, float *scales2, int32_t *zero_points2);

/// Portable scalar versions of the functions above, with the same results up to
/// floating-point rounding in the final scaling: the reference the tests check against.
void sy_q8_quantize_rows_reference(const float *x, int m, int k, int ldx, const float *channel_scales,
                                   uint8_t *q, float *scales, int32_t *zero_points);
void sy_q8_linear_reference(int m, int n, int k, const uint8_t *q, const float *row_scales,
                            const int32_t *row_zero_points, const int8_t *packed, const float *col_scales,
                            const int32_t *column_sums, const float *bias, float *y, int ldy);
void sy_q8_quantize_residual_reference(const float *x, int m, int k, int ldx, const float *channel_scales,
                                       const uint8_t *q, const float *scales, const int32_t *zero_points,
                                       float *residual, uint8_t *q2, float *scales2, int32_t *zero_points2);

/// 1 when the AVX-512 element-wise kernels below can run (AVX-512 F/DQ). Elsewhere the
/// encoder uses its portable Swift versions.
int sy_avx512_available(void);

/// Floats of scratch sy_attention32 needs for a sequence of n tokens.
size_t sy_attention_scratch_floats(int n);

#if defined(__x86_64__)
/// row[i] = gelu(row[i] + bias[i]) (erf form) for `rows` rows of n floats (n a multiple of 16).
void sy_bias_gelu(float *data, int rows, int n, const float *bias);

/// In-place softmax of `rows` rows of n floats, row stride `stride`.
void sy_softmax_rows(float *data, int rows, int n, int stride);

/// Self-attention of one sequence of n tokens with heads of size 32: qkv holds n rows of
/// [Q | K | V] (3·hidden floats each); context receives n rows of `hidden` floats,
/// softmax(scale·Q·Kᵀ)·V per head. Fused per query row, so no score matrix is materialised.
void sy_attention32(const float *qkv, int n, int hidden, int heads, float scale, float *context, float *scratch);

/// residual[r] = LayerNorm(x[r] + bias + residual[r])·gamma + beta for `rows` rows of n floats
/// (n a multiple of 16; x and bias may be NULL). When q is not NULL, each finished row is also
/// quantised as sy_q8_quantize_rows would (with channel_scales, which may be NULL) into
/// q / scales / zero_points, for the int8 product that reads it next.
void sy_residual_layernorm(const float *x, const float *bias, float *residual, int rows, int n,
                           const float *gamma, const float *beta, float epsilon,
                           const float *channel_scales, uint8_t *q, float *scales, int32_t *zero_points);

/// sy_bias_gelu followed by sy_q8_quantize_rows of the result, one row at a time.
void sy_bias_gelu_quantize(float *data, int rows, int n, const float *bias,
                           const float *channel_scales, uint8_t *q, float *scales, int32_t *zero_points);
#endif

#endif
