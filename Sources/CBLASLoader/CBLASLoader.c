#include "CBLASLoader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

// CBLAS's enum values (cblas.h), so no OpenBLAS header is needed to build.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef char *(*corename_fn)(void);
typedef void (*threads_fn)(int);
typedef void (*void_fn)(void);

static sgemm_fn blas_sgemm;
static corename_fn blas_corename;
static threads_fn blas_set_threads;
static void_fn blas_dynamic_init;
static void_fn blas_dynamic_quit;
static const char *load_error = "OpenBLAS is not loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    // Debian/Ubuntu: libopenblas0 (pulled in by libopenblas-dev) installs libopenblas.so.0.
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
    void *handle = NULL;
    for (int i = 0; names[i] != NULL && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (handle == NULL) {
        load_error = "OpenBLAS (libopenblas.so.0) could not be loaded; install it (Debian/Ubuntu: apt-get install libopenblas0)";
        return;
    }
    blas_sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    blas_corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    blas_set_threads = (threads_fn)dlsym(handle, "openblas_set_num_threads");
    blas_dynamic_init = (void_fn)dlsym(handle, "gotoblas_dynamic_init");
    blas_dynamic_quit = (void_fn)dlsym(handle, "gotoblas_dynamic_quit");
    if (blas_sgemm == NULL) {
        load_error = "the loaded libopenblas has no cblas_sgemm";
        return;
    }
    load_error = NULL;
}

const char *sy_blas_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

void sy_blas_sgemm(int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc) {
    blas_sgemm(ROW_MAJOR, NO_TRANS, transpose_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *sy_blas_corename(void) {
    return blas_corename != NULL ? blas_corename() : NULL;
}

void sy_blas_set_num_threads(int n) {
    if (blas_set_threads != NULL) blas_set_threads(n);
}

int sy_blas_redispatch(void) {
    if (blas_dynamic_init == NULL || blas_dynamic_quit == NULL) return 0;
    blas_dynamic_quit();
    blas_dynamic_init();
    return 1;
}
