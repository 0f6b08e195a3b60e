import CEncoderKernels

/// Element-wise kernels for the encoder (LayerNorm, softmax, GELU), written
/// over 16-lane SIMD vectors with plain `*`/`+` (no `fma` calls, which compile
/// to slow libcalls on the baseline x86-64 target) and a polynomial `exp`, so
/// they vectorise without fast-math flags.
enum VectorMath {
    typealias V = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// `e^x` with ~1.2e-7 relative error: 2^n · e^r, |r| ≤ ln2/2, degree-6 Taylor polynomial.
    @inline(__always)
    static func exp(_ input: V) -> V {
        // Clamp with compare+select: `clamped`/`pointwiseMin` handle NaN lane by lane and do not vectorise.
        let low = V(repeating: -86.0), high = V(repeating: 88.0)  // results stay normal (no denormal stalls)
        var x = input.replacing(with: low, where: input .< low)
        x.replace(with: high, where: x .> high)
        let t = x * V(repeating: 1.442695040888963)
        // Adding 1.5·2^23 rounds t to an integer n held in the low mantissa bits,
        // so n can be read back from the bit pattern without a float→int conversion.
        let shifted = t + V(repeating: 12_582_912.0)
        let n = shifted - V(repeating: 12_582_912.0)
        let r = x - n * V(repeating: 0.693359375) - n * V(repeating: -2.12194440e-4)
        var p = r * V(repeating: 1.0 / 720.0) + V(repeating: 1.0 / 120.0)
        p = p * r + V(repeating: 1.0 / 24.0)
        p = p * r + V(repeating: 1.0 / 6.0)
        p = p * r + V(repeating: 0.5)
        p = p * r + V(repeating: 1.0)
        p = p * r + V(repeating: 1.0)
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- SIMD16<Int32>(repeating: 0x4B40_0000)
        let exponent = (integer &+ SIMD16<Int32>(repeating: 127)) &<< SIMD16<Int32>(repeating: 23)
        return p * unsafeBitCast(exponent, to: V.self)
    }

    /// GELU, erf form: `0.5·x·(1 + erf(x/√2))`, erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7).
    @inline(__always)
    static func gelu(_ x: V) -> V {
        let negative = x .< V(repeating: 0)
        var z = x.replacing(with: -x, where: negative) * V(repeating: 0.7071067811865476)
        // erf(z) rounds to 1 in Float beyond z ≈ 4; capping z keeps exp(-z²) away from denormals.
        z.replace(with: V(repeating: 6), where: z .> V(repeating: 6))
        let t = V(repeating: 1.0) / (V(repeating: 1.0) + V(repeating: 0.3275911) * z)
        var poly = t * V(repeating: 1.061405429) + V(repeating: -1.453152027)
        poly = poly * t + V(repeating: 1.421413741)
        poly = poly * t + V(repeating: -0.284496736)
        poly = poly * t + V(repeating: 0.254829592)
        poly = poly * t
        let erfAbs = V(repeating: 1.0) - poly * exp(-(z * z))
        let erf = erfAbs.replacing(with: -erfAbs, where: negative)
        return V(repeating: 0.5) * x * (V(repeating: 1.0) + erf)
    }

    /// Whether the AVX-512 versions of GELU and softmax (C, chosen at run time) can be used:
    /// 16 lanes per instruction instead of the baseline target's 4.
    static let useAVX512 = sy_avx512_available() != 0

    /// `row[i] = gelu(row[i] + bias[i])` for each of `rows` rows of length `n` (multiple of 16).
    static func addBiasGELU(_ data: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        #if arch(x86_64)
        if useAVX512 { return sy_bias_gelu(data, Int32(rows), Int32(n), bias) }
        #endif
        for r in 0..<rows {
            let row = data + r * n
            var i = 0
            while i < n {
                store(gelu(load(row + i) + load(bias + i)), row + i)
                i += width
            }
        }
    }

    /// `row[i] += bias[i]` for each row (n multiple of 16).
    static func addBias(_ data: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = data + r * n
            var i = 0
            while i < n {
                store(load(row + i) + load(bias + i), row + i)
                i += width
            }
        }
    }

    /// `residual = LayerNorm(x + bias + residual)` row by row (n multiple of 16; x may be nil), two-pass variance.
    static func addBiasResidualLayerNorm(
        _ x: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, residual: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        for r in 0..<rows {
            let xr = x.map { $0 + r * n }
            let out = residual + r * n
            var sum = V()
            var i = 0
            while i < n {
                var v = load(out + i)
                if let xr { v += load(xr + i) }
                if let bias { v += load(bias + i) }
                store(v, out + i)
                sum += v
                i += width
            }
            let mean = sum.sum() / Float(n)
            var sq = V()
            i = 0
            while i < n {
                let d = load(out + i) - V(repeating: mean)
                sq += d * d
                i += width
            }
            let inv = 1 / (sq.sum() / Float(n) + epsilon).squareRoot()
            i = 0
            while i < n {
                let d = (load(out + i) - V(repeating: mean)) * V(repeating: inv)
                store(d * load(gamma + i) + load(beta + i), out + i)
                i += width
            }
        }
    }

    /// In-place softmax over each of `rows` rows of length `n` with stride `stride`.
    static func softmaxRows(_ data: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int) {
        #if arch(x86_64)
        if useAVX512 { return sy_softmax_rows(data, Int32(rows), Int32(n), Int32(stride)) }
        #endif
        let vectorEnd = n - n % width
        for r in 0..<rows {
            let row = data + r * stride
            var maxV = V(repeating: -.infinity)
            var i = 0
            while i < vectorEnd {
                let v = load(row + i)
                maxV.replace(with: v, where: v .> maxV)
                i += width
            }
            var m = maxV.max()
            while i < n { m = Swift.max(m, row[i]); i += 1 }
            var sumV = V()
            i = 0
            while i < vectorEnd {
                let e = exp(load(row + i) - V(repeating: m))
                store(e, row + i)
                sumV += e
                i += width
            }
            var total = sumV.sum()
            if i < n {
                var tail = V(repeating: -.infinity)
                for j in i..<n { tail[j - i] = row[j] }
                let e = exp(tail - V(repeating: m))
                for j in i..<n { row[j] = e[j - i]; total += e[j - i] }
            }
            let scale = 1 / total
            i = 0
            while i < vectorEnd {
                store(load(row + i) * V(repeating: scale), row + i)
                i += width
            }
            while i < n { row[i] *= scale; i += 1 }
        }
    }
}
