#if canImport(Accelerate)
import Accelerate
#else
import CBLASLoader
import Foundation
#endif

/// Thin wrapper over CBLAS `sgemm` (OpenBLAS on Linux, Accelerate on Apple
/// platforms): the dense layers and attention products are >95% of the
/// encoder's work, and a tuned SGEMM is several times faster than plain Swift loops.
enum BLAS {
    /// Pins OpenBLAS to the calling thread (the gateway parallelises across
    /// requests; OpenBLAS's own pool would oversubscribe the cores) and makes
    /// sure it uses AVX2/AVX-512 kernels where the CPU has them.
    static let configureOnce: Void = {
        #if !canImport(Accelerate)
        guard loadError == nil else { return }
        selectNativeKernelsIfGenericFallback()
        sy_blas_set_num_threads(1)
        #endif
    }()

    /// Why BLAS cannot be used, or nil when it can. On Linux OpenBLAS is loaded here, at
    /// first use, not at process start.
    static let loadError: String? = {
        #if canImport(Accelerate)
        return nil
        #else
        return sy_blas_load().map { String(cString: $0) }
        #endif
    }()

    /// The kernel family OpenBLAS is using (e.g. "SkylakeX", "Haswell"; "Accelerate" on Apple).
    static var kernelName: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        _ = configureOnce
        guard loadError == nil, let name = sy_blas_corename() else { return "unknown" }
        return String(cString: name)
        #endif
    }

    #if !canImport(Accelerate)
    /// OpenBLAS 0.3.21 (Debian 12) does not recognise e.g. Sapphire/Emerald
    /// Rapids and silently falls back to SSE3 "Prescott" kernels (~15 instead
    /// of ~100 GFLOP/s here). If that happened and the user did not choose a
    /// core with `OPENBLAS_CORETYPE`, re-run its dispatch with the best family
    /// the CPU flags (as the kernel reports them) support.
    private static func selectNativeKernelsIfGenericFallback() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let raw = sy_blas_corename() else { return }
        let current = String(cString: raw).lowercased()
        let generic: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "unknown"]
        guard generic.contains(current) || current.isEmpty else { return }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        let target: String
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
            target = "SkylakeX"
        } else if ["avx2", "fma"].allSatisfy(flags.contains) {
            target = "Haswell"
        } else {
            return
        }
        setenv("OPENBLAS_CORETYPE", target, 1)
        _ = sy_blas_redispatch()
        unsetenv("OPENBLAS_CORETYPE")
    }
    #endif

    /// Row-major `C[m×n] = alpha · A[m×k] · op(B) + beta · C`, where `op(B)` is
    /// `B` (`k×n`) or, with `transposeB`, `Bᵀ` for a `B` stored as `n×k`.
    @inline(__always)
    static func gemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        #if canImport(Accelerate)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        sy_blas_sgemm(transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #endif
    }
}
