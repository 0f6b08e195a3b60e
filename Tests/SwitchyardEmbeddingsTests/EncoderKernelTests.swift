import CEncoderKernels
import Foundation
import Testing
@testable import SwitchyardEmbeddings

/// Deterministic pseudo-random floats (SplitMix64), so failures reproduce.
struct SeededFloats {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24) * 2 - 1  // [-1, 1)
    }
    mutating func array(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in next() * scale } }
}

/// Row-major `x[m×k]·w[n×k]ᵀ + bias` in Double.
func exactProduct(_ x: [Float], _ w: [Float], bias: [Float]?, m: Int, n: Int, k: Int) -> [Double] {
    var y = [Double](repeating: 0, count: m * n)
    for r in 0..<m {
        for c in 0..<n {
            var sum = Double(bias?[c] ?? 0)
            for j in 0..<k { sum += Double(x[r * k + j]) * Double(w[c * k + j]) }
            y[r * n + c] = sum
        }
    }
    return y
}

func relativeError(_ y: [Float], _ exact: [Double]) -> Double {
    var diff = 0.0, norm = 0.0
    for (a, b) in zip(y, exact) {
        diff += (Double(a) - b) * (Double(a) - b)
        norm += b * b
    }
    return (diff / max(norm, 1e-30)).squareRoot()
}

/// Packs `w`, quantises `x` and multiplies with the reference or the VNNI kernels.
func quantizedProduct(
    _ x: [Float], _ w: [Float], bias: [Float]?, m: Int, n: Int, k: Int, reference: Bool
) -> [Float] {
    let packed = UnsafeMutableRawPointer.allocate(byteCount: sy_q8_packed_bytes(Int32(n), Int32(k)), alignment: 64)
        .bindMemory(to: Int8.self, capacity: n * k)
    defer { UnsafeMutableRawPointer(packed).deallocate() }
    var scales = [Float](repeating: 0, count: n), sums = [Int32](repeating: 0, count: n)
    sy_q8_pack(w, Int32(n), Int32(k), packed, &scales, &sums)
    var q = [UInt8](repeating: 0, count: m * k)
    var rowScales = [Float](repeating: 0, count: m), zeroPoints = [Int32](repeating: 0, count: m)
    var y = [Float](repeating: .nan, count: m * n)
    let biasPointer = bias.map { b -> UnsafeMutablePointer<Float> in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: b.count)
        p.initialize(from: b, count: b.count)
        return p
    }
    defer { biasPointer?.deallocate() }
    if reference {
        sy_q8_quantize_rows_reference(x, Int32(m), Int32(k), Int32(k), nil, &q, &rowScales, &zeroPoints)
        sy_q8_linear_reference(Int32(m), Int32(n), Int32(k), q, rowScales, zeroPoints, packed, scales, sums,
                               biasPointer, &y, Int32(n))
    } else {
        sy_q8_quantize_rows(x, Int32(m), Int32(k), Int32(k), nil, &q, &rowScales, &zeroPoints)
        sy_q8_linear(Int32(m), Int32(n), Int32(k), q, rowScales, zeroPoints, packed, scales, sums,
                     biasPointer, &y, Int32(n))
    }
    return y
}

@Suite("Encoder kernels (int8 dense layers, AVX-512 attention and activations)")
struct EncoderKernelTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 64, 16), (5, 64, 48), (6, 128, 384), (7, 192, 96), (13, 64, 1536)]

    @Test("quantised product approximates the exact one (reference kernels)", arguments: shapes.indices)
    func referenceApproximatesExact(_ index: Int) {
        let (m, n, k) = Self.shapes[index]
        var random = SeededFloats(seed: UInt64(index + 1))
        let x = random.array(m * k, scale: 3), w = random.array(n * k, scale: 0.2), bias = random.array(n)
        let y = quantizedProduct(x, w, bias: bias, m: m, n: n, k: k, reference: true)
        let error = relativeError(y, exactProduct(x, w, bias: bias, m: m, n: n, k: k))
        // Two 8-bit roundings of uniform data: ~1% relative error; a wrong zero point,
        // scale or packing order gives errors of order 1.
        #expect(error < 0.02, "relative error \(error)")
    }

    @Test("VNNI kernels agree with the reference", arguments: shapes.indices)
    func vnniMatchesReference(_ index: Int) {
        guard sy_q8_available() != 0 else { return }
        let (m, n, k) = Self.shapes[index]
        var random = SeededFloats(seed: UInt64(100 + index))
        // A skewed input (mostly small, a few large, shifted): exercises the zero point.
        let x = random.array(m * k).enumerated().map { i, v in i % 37 == 0 ? v * 40 : v + 0.3 }
        let w = random.array(n * k, scale: 0.05)
        for bias in [nil, random.array(n)] {
            let fast = quantizedProduct(x, w, bias: bias, m: m, n: n, k: k, reference: false)
            let slow = quantizedProduct(x, w, bias: bias, m: m, n: n, k: k, reference: true)
            // The integer products are identical; the VNNI kernel scales them in float as
            // acc·s − (zp·s_r)·(Σw·s_c), whose rounding is relative to the larger of those terms,
            // of the order of the outputs' range: a wrong zero point or scale is off by ~1 there.
            let range = slow.map { abs($0) }.max() ?? 0
            for (a, b) in zip(fast, slow) {
                #expect(abs(a - b) <= 1e-5 * max(1, range), "\(a) vs \(b) (outputs up to \(range))")
            }
        }
    }

    @Test func zeroInputRowsGiveTheBias() {
        let (m, n, k) = (3, 64, 32)
        var random = SeededFloats(seed: 7)
        let w = random.array(n * k), bias = random.array(n)
        for reference in [true, false] where reference || sy_q8_available() != 0 {
            let y = quantizedProduct([Float](repeating: 0, count: m * k), w, bias: bias, m: m, n: n, k: k, reference: reference)
            #expect(y == Array((0..<m).map { _ in bias }.joined()))
        }
    }

    /// One input channel 60× larger than the rest (as in BERT's LayerNorm outputs): without
    /// migration it leaves the other channels a few levels; with calibrated migration the
    /// error drops several-fold.
    @Test func smoothingTamesAnOutlierChannel() throws {
        guard EncoderPrecision.int8Available else { return }
        let (m, n, k) = (8, 64, 64)
        var random = SeededFloats(seed: 11)
        var x = random.array(m * k)
        for r in 0..<m { x[r * k + 5] *= 60 }
        let w = random.array(n * k, scale: 0.1)
        let exact = exactProduct(x, w, bias: nil, m: m, n: n, k: k)
        var maxima = [Float](repeating: 0, count: k)
        for r in 0..<m { for j in 0..<k { maxima[j] = max(maxima[j], abs(x[r * k + j])) } }

        func run(_ matrix: QuantizedMatrix) -> [Float] {
            var y = [Float](repeating: 0, count: m * n)
            var q = [UInt8](repeating: 0, count: m * k)
            var scales = [Float](repeating: 0, count: m), zeros = [Int32](repeating: 0, count: m)
            matrix.multiply(x, rows: m, ldx: k, bias: nil, into: &y, ldy: n, scratch: &q, rowScales: &scales, rowZeroPoints: &zeros)
            return y
        }
        let plain = w.withUnsafeBufferPointer { QuantizedMatrix(weights: $0.baseAddress!, n: n, k: k) }
        let smoothed = w.withUnsafeBufferPointer { QuantizedMatrix(weights: $0.baseAddress!, n: n, k: k, inputMaxima: maxima) }
        let plainError = relativeError(run(plain), exact)
        let smoothedError = relativeError(run(smoothed), exact)
        #expect(smoothedError < plainError / 3, "plain \(plainError), smoothed \(smoothedError)")
        #expect(smoothedError < 0.01)
    }

    /// The residual pass quantises what the first pass left out; the two products together
    /// approach the exact one far more closely than the first alone (activation error
    /// shrinks ~255-fold, leaving the weights' rounding). A wrong residual sign or
    /// dequantisation would make the sum worse than the first pass, not better.
    @Test func residualPassRefinesTheProduct() throws {
        guard EncoderPrecision.int8Available else { return }
        let (m, n, k) = (5, 64, 384)
        var random = SeededFloats(seed: 23)
        let x = random.array(m * k).enumerated().map { i, v in i % 41 == 0 ? v * 25 : v + 0.2 }
        let w = random.array(n * k, scale: 0.1), bias = random.array(n)
        let exact = exactProduct(x, w, bias: bias, m: m, n: n, k: k)
        // Exact weights' product with int8 weights: the floor the activations can reach.
        let matrix = w.withUnsafeBufferPointer { QuantizedMatrix(weights: $0.baseAddress!, n: n, k: k) }
        var y = [Float](repeating: 0, count: m * n)
        var q = [UInt8](repeating: 0, count: m * k)
        var scales = [Float](repeating: 0, count: m), zeros = [Int32](repeating: 0, count: m)
        matrix.multiply(x, rows: m, ldx: k, bias: bias, into: &y, ldy: n, scratch: &q, rowScales: &scales, rowZeroPoints: &zeros)
        let firstError = relativeError(y, exact)

        var residual = [Float](repeating: 0, count: m * k), q2 = [UInt8](repeating: 0, count: m * k)
        var scales2 = [Float](repeating: 0, count: m), zeros2 = [Int32](repeating: 0, count: m)
        sy_q8_quantize_residual(x, Int32(m), Int32(k), Int32(k), nil, q, scales, zeros, &residual, &q2, &scales2, &zeros2)
        for r in 0..<m {
            // The residual of a rounding to the nearest level is at most half a level.
            let largest = residual[(r * k)..<((r + 1) * k)].map(abs).max() ?? 0
            #expect(largest <= scales[r] * 0.5001, "row \(r): residual \(largest) vs level \(scales[r])")
        }
        // The AVX-512 kernel rounds as the portable reference does.
        var residualRef = [Float](repeating: 0, count: m * k), q2Ref = [UInt8](repeating: 0, count: m * k)
        var scales2Ref = [Float](repeating: 0, count: m), zeros2Ref = [Int32](repeating: 0, count: m)
        sy_q8_quantize_residual_reference(x, Int32(m), Int32(k), Int32(k), nil, q, scales, zeros, &residualRef, &q2Ref, &scales2Ref,
                                          &zeros2Ref)
        #expect(residual == residualRef)
        #expect(scales2 == scales2Ref && zeros2 == zeros2Ref)
        #expect(zip(q2, q2Ref).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
        var extra = [Float](repeating: 0, count: m * n)
        matrix.multiply(quantized: q2, rows: m, rowScales: scales2, rowZeroPoints: zeros2, bias: nil, into: &extra, ldy: n)
        let refined = zip(y, extra).map { $0 + $1 }
        let refinedError = relativeError(refined, exact)
        #expect(refinedError < firstError / 2, "first pass \(firstError), with the residual pass \(refinedError)")
    }

    /// Every row-block size of the kernel (1…8 query rows), keys in whole and partial blocks of 16 and 32.
    @Test("fused attention matches softmax(QKᵀ/√d)·V", arguments: [1, 2, 3, 5, 7, 12, 16, 17, 24, 33, 70])
    func attentionMatchesNaive(_ n: Int) throws {
        guard VectorMath.useAVX512 else { return }
        var random = SeededFloats(seed: UInt64(n))
        checkAttention(random.array(n * 3 * 96, scale: 2), n: n)
    }

    /// All logits far below zero: the padding keys (score 0) must not count toward each row's
    /// maximum, or every exponential underflows to the same clamp and the weights come out uniform.
    @Test("fused attention with strongly negative logits", arguments: [17, 20, 40])
    func attentionWithNegativeLogits(_ n: Int) throws {
        guard VectorMath.useAVX512 else { return }
        let hidden = 96
        var random = SeededFloats(seed: 99)
        var qkv = random.array(n * 3 * hidden)
        for row in 0..<n {
            for e in 0..<hidden {
                qkv[row * 3 * hidden + e] = -5  // Q
                qkv[row * 3 * hidden + hidden + e] = 4 + random.next()  // K in [3, 5): logits -141…-200
            }
        }
        // Logits near −110 carry float rounding of ~1e-5 each, so the bound is looser.
        checkAttention(qkv, n: n, tolerance: 5e-5)
    }

    private func checkAttention(_ qkv: [Float], n: Int, tolerance: Double = 1e-5) {
        let (hidden, heads, d) = (96, 3, 32)
        let scale = 1 / Float(d).squareRoot()
        var context = [Float](repeating: .nan, count: n * hidden)
        var scratch = [Float](repeating: 0, count: sy_attention_scratch_floats(Int32(n)))
        sy_attention32(qkv, Int32(n), Int32(hidden), Int32(heads), scale, &context, &scratch)
        for head in 0..<heads {
            for i in 0..<n {
                var logits = [Double](repeating: 0, count: n)
                for j in 0..<n {
                    var dot = 0.0
                    for e in 0..<d {
                        dot += Double(qkv[i * 3 * hidden + head * d + e]) * Double(qkv[j * 3 * hidden + hidden + head * d + e])
                    }
                    logits[j] = dot * Double(scale)
                }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for e in 0..<d {
                    var expected = 0.0
                    for j in 0..<n { expected += weights[j] / total * Double(qkv[j * 3 * hidden + 2 * hidden + head * d + e]) }
                    let got = context[i * hidden + head * d + e]
                    #expect(abs(Double(got) - expected) < tolerance * max(1, abs(expected)), "n \(n) head \(head) row \(i) dim \(e)")
                }
            }
        }
    }

    /// The table GELU over the whole useful range, both interval ends included.
    @Test func tableGELUMatchesErfDefinition() throws {
        guard VectorMath.useAVX512 else { return }
        let n = 16 * 512
        var values = (0..<n).map { Float($0 - n / 2) / Float(n / 2) * 9 }  // [-9, 9) in steps of 1/455
        values[0] = 0
        values[1] = 5.656854  // 4·√2: the last interval's end
        values[2] = -5.656854
        values[3] = 40
        let input = values
        VectorMath.addBiasGELU(&values, rows: 1, n: n, bias: [Float](repeating: 0, count: n))
        var worst = 0.0
        for i in 0..<n {
            let x = Double(input[i])
            let expected = 0.5 * x * (1 + erf(x / 2.squareRoot()))
            worst = max(worst, abs(Double(values[i]) - expected) / max(1, abs(expected)))
        }
        #expect(worst < 1e-6, "worst relative error \(worst)")
        #expect(values[0] == 0)
        #expect(values[3] == 40)
    }

    /// LayerNorm + quantisation in one pass gives the same rows as the Swift LayerNorm followed
    /// by the reference quantiser (bytes may differ by one where rounding order differs).
    @Test func fusedLayerNormQuantiseMatchesSeparatePasses() throws {
        guard VectorMath.useAVX512 else { return }
        let (rows, n) = (9, 384)
        var random = SeededFloats(seed: 21)
        let x = random.array(rows * n, scale: 3), residual = random.array(rows * n, scale: 2)
        let bias = random.array(n, scale: 0.1), gamma = random.array(n).map { 1 + $0 / 4 }, beta = random.array(n, scale: 0.2)
        var channelScales = random.array(n).map { 0.5 + abs($0) }
        channelScales[7] = 0.02  // an outlier channel after migration
        var expected = residual, fused = residual
        VectorMath.addBiasResidualLayerNorm(x, bias: bias, residual: &expected, rows: rows, n: n, gamma: gamma,
                                            beta: beta, epsilon: 1e-12)
        var q = [UInt8](repeating: 0, count: rows * n), scales = [Float](repeating: 0, count: rows)
        var zeros = [Int32](repeating: 0, count: rows)
        sy_residual_layernorm(x, bias, &fused, Int32(rows), Int32(n), gamma, beta, 1e-12, channelScales, &q, &scales, &zeros)
        for i in 0..<(rows * n) { #expect(abs(fused[i] - expected[i]) < 1e-5 * max(1, abs(expected[i]))) }
        var refQ = [UInt8](repeating: 0, count: rows * n), refScales = scales, refZeros = zeros
        sy_q8_quantize_rows_reference(fused, Int32(rows), Int32(n), Int32(n), channelScales, &refQ, &refScales, &refZeros)
        #expect(scales == refScales)
        #expect(zeros == refZeros)
        let differing = zip(q, refQ).filter { abs(Int($0) - Int($1)) > 0 }.count
        #expect(zip(q, refQ).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
        #expect(differing <= rows * n / 100, "\(differing) bytes differ")
        // Without a quantisation target the FP32 rows are the same.
        var plain = residual
        sy_residual_layernorm(x, bias, &plain, Int32(rows), Int32(n), gamma, beta, 1e-12, nil, nil, nil, nil)
        #expect(plain == fused)
    }

    /// GELU + quantisation in one pass equals the two separate kernels exactly.
    @Test func fusedGELUQuantiseMatchesSeparatePasses() throws {
        guard VectorMath.useAVX512 else { return }
        let (rows, n) = (7, 1536)
        var random = SeededFloats(seed: 22)
        let input = random.array(rows * n, scale: 4), bias = random.array(n, scale: 0.3)
        let channelScales = random.array(n).map { 0.3 + abs($0) }
        var fused = input, separate = input
        var q = [UInt8](repeating: 0, count: rows * n), scales = [Float](repeating: 0, count: rows)
        var zeros = [Int32](repeating: 0, count: rows)
        sy_bias_gelu_quantize(&fused, Int32(rows), Int32(n), bias, channelScales, &q, &scales, &zeros)
        VectorMath.addBiasGELU(&separate, rows: rows, n: n, bias: bias)
        #expect(fused == separate)
        var refQ = q, refScales = scales, refZeros = zeros
        sy_q8_quantize_rows(separate, Int32(rows), Int32(n), Int32(n), channelScales, &refQ, &refScales, &refZeros)
        #expect(q == refQ)
        #expect(scales == refScales)
        #expect(zeros == refZeros)
        #expect(Set(q).count > 100)  // the rows really use the byte range
    }

    @Test func avx512GELUAndSoftmaxMatchTheirDefinitions() throws {
        guard VectorMath.useAVX512 else { return }
        var random = SeededFloats(seed: 3)
        let n = 48
        var values = random.array(2 * n, scale: 8)
        let bias = random.array(n, scale: 0.5)
        let input = values
        VectorMath.addBiasGELU(&values, rows: 2, n: n, bias: bias)
        for i in 0..<(2 * n) {
            let x = Double(input[i] + bias[i % n])
            let expected = 0.5 * x * (1 + erf(x / 2.squareRoot()))
            #expect(abs(Double(values[i]) - expected) < 1e-5 * max(1, abs(expected)))
        }
        for width in [1, 15, 16, 17, 40] {
            var rows = random.array(3 * width, scale: 20)
            let original = rows
            VectorMath.softmaxRows(&rows, rows: 3, n: width, stride: width)
            for r in 0..<3 {
                let slice = original[(r * width)..<((r + 1) * width)].map(Double.init)
                let top = slice.max()!
                let total = slice.map { Foundation.exp($0 - top) }.reduce(0, +)
                for j in 0..<width {
                    let expected = Foundation.exp(slice[j] - top) / total
                    #expect(abs(Double(rows[r * width + j]) - expected) < 1e-6)
                }
            }
        }
    }
}
