// OpenBLAS, loaded at first use instead of at process start.
//
// Only the learned router's sentence encoder needs BLAS. Linking libopenblas made every
// gateway process map it and its Fortran runtime, and start its thread pool, about 3 MB
// of memory for nothing when no router is configured. These functions dlopen it once, on
// the first call, and forward to it.
#ifndef SWITCHYARD_CBLAS_LOADER_H
#define SWITCHYARD_CBLAS_LOADER_H

/// Loads OpenBLAS once (thread-safe). Returns NULL when it is usable, otherwise a message
/// that says what is missing.
const char *sy_blas_load(void);

/// Row-major single-precision GEMM: C[m×n] = alpha·A[m×k]·op(B) + beta·C, where op(B) is
/// B (k×n) or, with transpose_b, Bᵀ for a B stored as n×k. Requires a successful load.
void sy_blas_sgemm(int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);

/// The kernel family OpenBLAS selected ("SkylakeX", "Haswell", ...); NULL if unknown.
const char *sy_blas_corename(void);

/// OpenBLAS's own thread count.
void sy_blas_set_num_threads(int n);

/// Re-runs the kernel dispatch of DYNAMIC_ARCH builds (after OPENBLAS_CORETYPE is set).
/// Returns 0 when this build has no dynamic dispatch.
int sy_blas_redispatch(void);

#endif
