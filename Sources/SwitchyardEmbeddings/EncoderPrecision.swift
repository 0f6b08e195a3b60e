import CEncoderKernels
import Foundation

/// Arithmetic of the encoder's dense layers.
///
/// `int8` runs the four dense products of each layer with AVX-512 VNNI kernels, about
/// four times the multiply-add rate of FP32 on the same core, which is what brings one
/// routing decision under a few milliseconds. Its vectors stay within cosine 0.999 of the
/// FP32 (sentence-transformers) ones; `float32` is exact, for CPUs without VNNI or for
/// comparison.
public enum EncoderPrecision: String, Sendable, CaseIterable {
    case float32
    case int8

    /// Whether this CPU can run the int8 kernels.
    public static var int8Available: Bool { sy_q8_available() != 0 }

    /// `$SWITCHYARD_ENCODER_PRECISION` (`float32`/`fp32` or `int8`) when set and usable, else
    /// `int8` where the CPU has VNNI, else `float32`.
    public static var automatic: EncoderPrecision {
        let requested = ProcessInfo.processInfo.environment["SWITCHYARD_ENCODER_PRECISION"]?.lowercased()
        switch requested {
        case "float32", "fp32": return .float32
        default: return int8Available ? .int8 : .float32
        }
    }
}
