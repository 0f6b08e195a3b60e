// System-library shim exposing OpenBLAS's CBLAS interface to Swift.
// Debian/Ubuntu: apt-get install libopenblas-dev (pkg-config name "openblas").
#ifndef SWITCHYARD_COPENBLAS_SHIM_H
#define SWITCHYARD_COPENBLAS_SHIM_H
#include <cblas.h>

// Runtime kernel dispatch of DYNAMIC_ARCH OpenBLAS builds (Debian's are).
// OpenBLAS picks its kernels once, at load time, from CPUID; releases that do
// not know a newer CPU model fall back to generic SSE3 ("Prescott") kernels,
// several times slower. Re-running the dispatch after setting
// OPENBLAS_CORETYPE lets the caller choose a matching kernel family instead.
extern void gotoblas_dynamic_init(void);
extern void gotoblas_dynamic_quit(void);
#endif
