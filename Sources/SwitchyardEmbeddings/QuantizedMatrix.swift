import CEncoderKernels

/// A dense layer's weight matrix in the int8 kernels' packed form, with its per-channel
/// scales and column sums (for the inputs' zero points). Owns its memory; immutable after `init`.
final class QuantizedMatrix: @unchecked Sendable {
    /// Output channels (rows of the PyTorch `[out, in]` matrix) and input width.
    let n: Int, k: Int
    let packed: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let columnSums: UnsafeMutablePointer<Int32>
    /// `1/s_j` per input channel (SmoothQuant's migration), applied before quantising inputs.
    let inputScales: UnsafeMutablePointer<Float>?

    /// Quantises `weights` (`n×k`, row-major); `n` must be a multiple of 64 and `k` of 16.
    /// With `inputMaxima` (the largest |x_j| seen per input channel on calibration text),
    /// each input channel is scaled by `1/s_j` and the weights' column j by
    /// `s_j = √(max|x_j| / max|W_·j|)` (SmoothQuant with α = 0.5), which balances the two
    /// ranges so neither side's outliers starve the other channels of levels.
    init(weights: UnsafePointer<Float>, n: Int, k: Int, inputMaxima: [Float]? = nil) {
        precondition(n % 64 == 0 && k % 16 == 0, "int8 kernels need n % 64 == 0 and k % 16 == 0")
        precondition(inputMaxima == nil || inputMaxima!.count == k, "one input maximum per channel")
        self.n = n
        self.k = k
        packed = UnsafeMutableRawPointer.allocate(byteCount: sy_q8_packed_bytes(Int32(n), Int32(k)), alignment: 64)
            .bindMemory(to: Int8.self, capacity: n * k)
        scales = .allocate(capacity: n)
        columnSums = .allocate(capacity: n)
        guard let inputMaxima else {
            inputScales = nil
            sy_q8_pack(weights, Int32(n), Int32(k), packed, scales, columnSums)
            return
        }
        var columnMaxima = [Float](repeating: 0, count: k)
        for c in 0..<n {
            for j in 0..<k { columnMaxima[j] = max(columnMaxima[j], abs(weights[c * k + j])) }
        }
        let migration = (0..<k).map { j -> Float in
            let x = inputMaxima[j], w = columnMaxima[j]
            guard x > 0, w > 0, x.isFinite else { return 1 }
            return (x / w).squareRoot()
        }
        let inputScales = UnsafeMutablePointer<Float>.allocate(capacity: k)
        for j in 0..<k { inputScales[j] = 1 / migration[j] }
        self.inputScales = inputScales
        var scaled = [Float](repeating: 0, count: n * k)
        for c in 0..<n {
            for j in 0..<k { scaled[c * k + j] = weights[c * k + j] * migration[j] }
        }
        sy_q8_pack(scaled, Int32(n), Int32(k), packed, scales, columnSums)
    }

    /// `y[m×n] = x[m×k]·Wᵀ (+ bias)`, quantising `x` per row into `scratch`
    /// (`m·k` bytes), `rowScales` and `rowZeroPoints` (`m` each) first.
    func multiply(
        _ x: UnsafePointer<Float>, rows m: Int, ldx: Int, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, ldy: Int,
        scratch: UnsafeMutablePointer<UInt8>, rowScales: UnsafeMutablePointer<Float>,
        rowZeroPoints: UnsafeMutablePointer<Int32>
    ) {
        sy_q8_quantize_rows(x, Int32(m), Int32(k), Int32(ldx), inputScales, scratch, rowScales, rowZeroPoints)
        sy_q8_linear(Int32(m), Int32(n), Int32(k), scratch, rowScales, rowZeroPoints, packed, scales, columnSums,
                     bias, y, Int32(ldy))
    }

    /// `y[m×n] = x·Wᵀ (+ bias)` for an input a row kernel already quantised with this
    /// matrix's `inputScales` into `quantized`, `rowScales` and `rowZeroPoints`.
    func multiply(
        quantized: UnsafePointer<UInt8>, rows m: Int, rowScales: UnsafePointer<Float>,
        rowZeroPoints: UnsafePointer<Int32>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, ldy: Int
    ) {
        sy_q8_linear(Int32(m), Int32(n), Int32(k), quantized, rowScales, rowZeroPoints, packed, scales, columnSums,
                     bias, y, Int32(ldy))
    }

    deinit {
        UnsafeMutableRawPointer(packed).deallocate()
        scales.deallocate()
        columnSums.deallocate()
        inputScales?.deallocate()
    }
}
