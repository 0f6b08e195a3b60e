import Foundation

// Small dense-math helpers for training and scoring. Row-major, Float storage.

@inline(__always) func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, _ n: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var i = 0
    while i + 4 <= n {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    while i < n { s0 += a[i] * b[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}

@inline(__always) func dot(_ a: [Float], _ b: [Float]) -> Float {
    let n = min(a.count, b.count)
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa, pb, n) } }
}

@inline(__always) func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

@inline(__always) func sigmoidF(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
}

@inline(__always) func logit(_ p: Double, eps: Double = 1e-6) -> Double {
    let q = min(1 - eps, max(eps, p))
    return log(q / (1 - q))
}

/// Deterministic PRNG (SplitMix64) so training and the random router are reproducible from a seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Standard normal (Box-Muller).
    public mutating func nextGaussian() -> Double {
        let u1 = max(nextUnit(), 1e-300), u2 = nextUnit()
        return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }
}

/// Adam (Kingma & Ba 2015) over one flat parameter vector, with decoupled weight decay (AdamW).
struct Adam {
    var lr: Float
    var beta1: Float = 0.9
    var beta2: Float = 0.999
    var eps: Float = 1e-8
    var weightDecay: Float = 0
    private var m: [Float]
    private var v: [Float]
    private var t: Int = 0

    init(count: Int, lr: Float, weightDecay: Float = 0) {
        self.lr = lr
        self.weightDecay = weightDecay
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
    }

    /// `decayMask[i] == false` exempts a parameter (biases) from weight decay.
    mutating func step(params: inout [Float], grads: [Float], decayMask: [Bool]? = nil) {
        t += 1
        let c1 = 1 - powf(beta1, Float(t)), c2 = 1 - powf(beta2, Float(t))
        for i in 0..<params.count {
            let g = grads[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            var update = (m[i] / c1) / (sqrtf(v[i] / c2) + eps)
            if weightDecay > 0 && (decayMask?[i] ?? true) { update += weightDecay * params[i] }
            params[i] -= lr * update
        }
    }
}

extension Array where Element == Float {
    /// L2-normalised copy (unchanged when the norm is 0).
    func l2Normalized() -> [Float] {
        let n = sqrtf(dot(self, self))
        return n > 0 ? map { $0 / n } : self
    }
}
