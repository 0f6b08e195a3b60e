import CEncoderKernels

/// The BERT forward pass over a *packed* batch: all sequences' tokens are
/// stacked into one matrix so every dense layer is a single large GEMM with no
/// padding, and only attention is computed per sequence. Ends with mean
/// pooling and L2 normalisation (sentence-transformers' Pooling + Normalize).
enum BertEncoderForward {
    /// `output[rows×n] = input[rows×k]·Wᵀ (+ bias)` in the weights' precision. `prequantized`:
    /// the row kernel that wrote `input` also left it quantised for these weights in the workspace.
    @inline(__always)
    private static func dense(
        _ weights: BertWeights.Dense, _ input: UnsafeMutablePointer<Float>, rows: Int, k: Int, n: Int,
        bias: UnsafePointer<Float>?, into output: UnsafeMutablePointer<Float>, _ workspace: BertWorkspace,
        prequantized: Bool = false, refine: [Range<Int>]
    ) {
        defer {
            if case .int8(let matrix) = weights {
                for rows in refine {
                    addResidualProduct(matrix, input + rows.lowerBound * k, rows: rows, k: k, n: n,
                                       into: output + rows.lowerBound * n, workspace)
                }
            }
        }
        switch weights {
        case .float32(let w):
            BLAS.gemm(m: rows, n: n, k: k, a: input, lda: k, b: w, ldb: k, transposeB: true, c: output, ldc: n)
            if let bias { VectorMath.addBias(output, rows: rows, n: n, bias: bias) }
        case .int8(let matrix) where prequantized:
            matrix.multiply(quantized: workspace.quantized, rows: rows, rowScales: workspace.rowScales,
                            rowZeroPoints: workspace.rowZeroPoints, bias: bias, into: output, ldy: n)
        case .int8(let matrix):
            matrix.multiply(input, rows: rows, ldx: k, bias: bias, into: output, ldy: n,
                            scratch: workspace.quantized, rowScales: workspace.rowScales,
                            rowZeroPoints: workspace.rowZeroPoints)
        }
    }

    /// Sequences up to this many tokens (`[CLS]` and `[SEP]` included) get a second, residual
    /// pass in every int8 product, which brings their activations to about 16-bit resolution.
    ///
    /// Mean pooling averages the per-token quantisation noise away in long sequences, but
    /// not in short ones: over 1200 routing prompts the int8 path's worst cosines against
    /// FP32 were mostly short texts, and two reference fixtures fell below 0.999: the empty
    /// string (0.9972) and a CJK/Hangul sentence (0.9987). The second pass costs little in
    /// absolute terms (the texts are short) and leaves the 64-token decision latency and
    /// batch throughput on longer prompts unchanged.
    static let refinedSequenceLength = 32

    /// `output[rows] += (x − dequant(q))[rows]·Wᵀ`: the product of what quantising `input`
    /// left out, for rows whose quantised form is in the workspace (as `dense` leaves it).
    private static func addResidualProduct(
        _ matrix: QuantizedMatrix, _ input: UnsafePointer<Float>, rows: Range<Int>, k: Int, n: Int,
        into output: UnsafeMutablePointer<Float>, _ workspace: BertWorkspace
    ) {
        let m = rows.count
        workspace.reserveRefinement(tokens: m)
        let start = rows.lowerBound
        sy_q8_quantize_residual(input, Int32(m), Int32(k), Int32(k), matrix.inputScales,
                                workspace.quantized + start * k, workspace.rowScales + start,
                                workspace.rowZeroPoints + start, workspace.residual, workspace.residualQuantized,
                                workspace.residualScales, workspace.residualZeroPoints)
        matrix.multiply(quantized: workspace.residualQuantized, rows: m, rowScales: workspace.residualScales,
                        rowZeroPoints: workspace.residualZeroPoints, bias: nil, into: workspace.residualOutput, ldy: n)
        let extra = workspace.residualOutput
        var i = 0
        let count = m * n
        while i < count {
            VectorMath.store(VectorMath.load(output + i) + VectorMath.load(extra + i), output + i)
            i += VectorMath.width
        }
    }

    /// `residual = LayerNorm(x + bias + residual)`; when `next` is an int8 matrix and the fused
    /// kernel is available, the rows are also quantised for it. Returns whether they were.
    @inline(__always)
    private static func layerNorm(
        _ x: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, residual: UnsafeMutablePointer<Float>, rows: Int,
        n: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
        next: BertWeights.Dense?, _ workspace: BertWorkspace
    ) -> Bool {
        #if arch(x86_64)
        if VectorMath.useAVX512 {
            if case .int8(let matrix)? = next {
                sy_residual_layernorm(x, bias, residual, Int32(rows), Int32(n), gamma, beta, epsilon,
                                      matrix.inputScales, workspace.quantized, workspace.rowScales,
                                      workspace.rowZeroPoints)
                return true
            }
            sy_residual_layernorm(x, bias, residual, Int32(rows), Int32(n), gamma, beta, epsilon, nil, nil, nil, nil)
            return false
        }
        #endif
        VectorMath.addBiasResidualLayerNorm(x, bias: bias, residual: residual, rows: rows, n: n, gamma: gamma,
                                            beta: beta, epsilon: epsilon)
        return false
    }

    /// `data = gelu(data + bias)`; quantised for `next` as in `layerNorm`. Returns whether it was.
    @inline(__always)
    private static func biasGELU(
        _ data: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>,
        next: BertWeights.Dense, _ workspace: BertWorkspace
    ) -> Bool {
        #if arch(x86_64)
        if VectorMath.useAVX512, case .int8(let matrix) = next {
            sy_bias_gelu_quantize(data, Int32(rows), Int32(n), bias, matrix.inputScales, workspace.quantized,
                                  workspace.rowScales, workspace.rowZeroPoints)
            return true
        }
        #endif
        VectorMath.addBiasGELU(data, rows: rows, n: n, bias: bias)
        return false
    }

    /// Returns one normalised embedding per sequence in `sequences`.
    /// `observe`, when given, sees each dense layer's input before the product (calibration).
    static func run(
        sequences: [[Int32]], weights: BertWeights, workspace: BertWorkspace,
        observe: ((_ layer: Int, _ slot: BertWeights.DenseSlot, _ input: UnsafePointer<Float>, _ rows: Int, _ k: Int) -> Void)? = nil
    ) -> [[Float]] {
        let c = weights.configuration
        let h = c.hiddenSize, h3 = 3 * h, inter = c.intermediateSize, dh = c.headSize
        var offsets: [Int] = []
        var total = 0
        var longest = 0
        for s in sequences {
            offsets.append(total)
            total += s.count
            longest = max(longest, s.count)
        }
        guard total > 0 else { return sequences.map { _ in [Float](repeating: 0, count: h) } }
        workspace.reserve(tokens: total, longestSequence: longest)
        // Rows of the short sequences that get the residual pass (int8 only).
        let refine: [Range<Int>] = weights.precision == .int8
            ? sequences.indices.compactMap { s in
                let n = sequences[s].count
                return n > 0 && n <= refinedSequenceLength ? offsets[s]..<(offsets[s] + n) : nil
            }
            : []
        let hidden = workspace.hidden, qkv = workspace.qkv, context = workspace.context
        let projected = workspace.projected, intermediate = workspace.intermediate, scores = workspace.scores

        // Embeddings: word + position (+ token type 0, as the LayerNorm's bias), then LayerNorm.
        for (s, ids) in sequences.enumerated() {
            for (position, id) in ids.enumerated() {
                let row = hidden + (offsets[s] + position) * h
                let word = weights.wordEmbeddings + Int(id) * h
                let pos = weights.positionEmbeddings + position * h
                var i = 0
                while i < h {
                    VectorMath.store(VectorMath.load(word + i) + VectorMath.load(pos + i), row + i)
                    i += VectorMath.width
                }
            }
        }
        // Whether the workspace holds the next dense product's input already quantised.
        var quantized = layerNorm(
            nil, bias: weights.tokenTypeEmbeddings, residual: hidden, rows: total, n: h,
            gamma: weights.embeddingNormGamma, beta: weights.embeddingNormBeta, epsilon: c.layerNormEpsilon,
            next: weights.layers.first?.qkvWeight, workspace)

        let scale = 1 / Float(dh).squareRoot()
        for (index, layer) in weights.layers.enumerated() {
            // Q, K, V for all tokens in one GEMM.
            observe?(index, .qkv, hidden, total, h)
            dense(layer.qkvWeight, hidden, rows: total, k: h, n: h3, bias: layer.qkvBias, into: qkv, workspace,
                  prequantized: quantized, refine: refine)
            // Self-attention, per sequence and head.
            for (s, ids) in sequences.enumerated() {
                let n = ids.count
                let base = offsets[s]
                #if arch(x86_64)
                if VectorMath.useAVX512 && dh == 32 {
                    sy_attention32(qkv + base * h3, Int32(n), Int32(h), Int32(c.headCount), scale, context + base * h, scores)
                    continue
                }
                #endif
                for head in 0..<c.headCount {
                    let q = qkv + base * h3 + head * dh
                    let k = q + h
                    let v = q + 2 * h
                    BLAS.gemm(m: n, n: n, k: dh, alpha: scale, a: q, lda: h3, b: k, ldb: h3, transposeB: true, c: scores, ldc: n)
                    VectorMath.softmaxRows(scores, rows: n, n: n, stride: n)
                    BLAS.gemm(m: n, n: dh, k: n, a: scores, lda: n, b: v, ldb: h3, transposeB: false,
                              c: context + base * h + head * dh, ldc: h)
                }
            }
            observe?(index, .attentionOut, context, total, h)
            dense(layer.attentionOutWeight, context, rows: total, k: h, n: h, bias: nil, into: projected, workspace, refine: refine)
            quantized = layerNorm(
                projected, bias: layer.attentionOutBias, residual: hidden, rows: total, n: h,
                gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: c.layerNormEpsilon,
                next: layer.intermediateWeight, workspace)
            // Feed-forward.
            observe?(index, .intermediate, hidden, total, h)
            dense(layer.intermediateWeight, hidden, rows: total, k: h, n: inter, bias: nil, into: intermediate,
                  workspace, prequantized: quantized, refine: refine)
            quantized = biasGELU(intermediate, rows: total, n: inter, bias: layer.intermediateBias,
                                 next: layer.outputWeight, workspace)
            observe?(index, .output, intermediate, total, inter)
            dense(layer.outputWeight, intermediate, rows: total, k: inter, n: h, bias: nil, into: projected,
                  workspace, prequantized: quantized, refine: refine)
            let next = index + 1 < weights.layers.count ? weights.layers[index + 1].qkvWeight : nil
            quantized = layerNorm(
                projected, bias: layer.outputBias, residual: hidden, rows: total, n: h,
                gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: c.layerNormEpsilon,
                next: next, workspace)
        }

        // Mean pooling over each sequence's tokens, then L2 normalisation.
        return sequences.indices.map { s in
            let n = sequences[s].count
            var pooled = [Float](repeating: 0, count: h)
            guard n > 0 else { return pooled }
            pooled.withUnsafeMutableBufferPointer { out in
                let o = out.baseAddress!
                for t in 0..<n {
                    let row = hidden + (offsets[s] + t) * h
                    var i = 0
                    while i < h {
                        VectorMath.store(VectorMath.load(o + i) + VectorMath.load(row + i), o + i)
                        i += VectorMath.width
                    }
                }
                var squares: Double = 0
                for i in 0..<h {
                    o[i] /= Float(n)
                    squares += Double(o[i]) * Double(o[i])
                }
                let inverse = Float(1 / max(squares.squareRoot(), 1e-12))
                for i in 0..<h { o[i] *= inverse }
            }
            return pooled
        }
    }
}
