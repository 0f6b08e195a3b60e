/// All encoder weights in one immutable, owned allocation.
///
/// Fused Q/K/V projections (one GEMM instead of three) are built at load
/// time; tensors stay in PyTorch's `[out, in]` layout and are used through
/// transposed GEMMs, so no other rearrangement is needed. In int8 precision the
/// dense matrices are kept only in packed int8 form (a quarter of the memory).
final class BertWeights: @unchecked Sendable {
    /// The four dense products of a layer, in order.
    enum DenseSlot: Int, CaseIterable {
        case qkv, attentionOut, intermediate, output
    }

    /// A dense layer's weight matrix, in the precision the encoder runs.
    enum Dense {
        case float32(UnsafePointer<Float>)
        case int8(QuantizedMatrix)
    }

    struct Layer {
        var qkvWeight: Dense  // [3·hidden, hidden]
        var qkvBias: UnsafePointer<Float>  // [3·hidden]
        var attentionOutWeight: Dense  // [hidden, hidden]
        var attentionOutBias: UnsafePointer<Float>
        var attentionNormGamma: UnsafePointer<Float>
        var attentionNormBeta: UnsafePointer<Float>
        var intermediateWeight: Dense  // [intermediate, hidden]
        var intermediateBias: UnsafePointer<Float>
        var outputWeight: Dense  // [hidden, intermediate]
        var outputBias: UnsafePointer<Float>
        var outputNormGamma: UnsafePointer<Float>
        var outputNormBeta: UnsafePointer<Float>
    }

    let configuration: BertConfiguration
    let precision: EncoderPrecision
    let wordEmbeddings: UnsafePointer<Float>  // [vocab, hidden]
    let positionEmbeddings: UnsafePointer<Float>  // [maxPositions, hidden]
    let tokenTypeEmbeddings: UnsafePointer<Float>  // [2, hidden]
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [Layer]
    private let storage: UnsafeMutablePointer<Float>

    /// Loads the weights from `file`. For `int8`, `inputMaxima[layer][slot]` (see
    /// `DenseSlot`) gives each dense layer's calibrated input ranges for smoothing.
    init(
        file: SafeTensorsFile, configuration c: BertConfiguration, precision: EncoderPrecision,
        inputMaxima: [[[Float]]]? = nil
    ) throws {
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil
            && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        let h = c.hiddenSize, i = c.intermediateSize
        var total = c.vocabularySize * h + c.maxPositions * h + c.typeVocabularySize * h + 2 * h
        let denseFloats = precision == .float32 ? 3 * h * h + h * h + i * h + h * i : 0
        total += c.layerCount * (denseFloats + 3 * h + h + 2 * h + i + h + 2 * h)
        // 64-byte aligned: every tensor's size is a multiple of 16 floats, so each row starts on
        // a cache line and no vector load straddles two.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: total * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: total)
        var cursor = 0
        var succeeded = false
        defer { if !succeeded { UnsafeMutableRawPointer(storage).deallocate() } }

        func take(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
            let values = try file.floats(prefix + name, shape: shape)
            let destination = storage + cursor
            values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: values.count) }
            cursor += values.count
            return UnsafePointer(destination)
        }
        func takeConcatenated(_ names: [String], _ shape: [Int]) throws -> UnsafePointer<Float> {
            let start = storage + cursor
            for name in names { _ = try take(name, shape) }
            return UnsafePointer(start)
        }
        /// A dense matrix (`names` stacked along the output dimension), kept in `precision`.
        func dense(_ names: [String], _ shape: [Int], layer: Int, slot: DenseSlot) throws -> Dense {
            switch precision {
            case .float32:
                return .float32(try takeConcatenated(names, shape))
            case .int8:
                var values: [Float] = []
                for name in names { values += try file.floats(prefix + name, shape: shape) }
                return .int8(values.withUnsafeBufferPointer {
                    QuantizedMatrix(weights: $0.baseAddress!, n: shape[0] * names.count, k: shape[1],
                                    inputMaxima: inputMaxima?[layer][slot.rawValue])
                })
            }
        }

        wordEmbeddings = try take("embeddings.word_embeddings.weight", [c.vocabularySize, h])
        positionEmbeddings = try take("embeddings.position_embeddings.weight", [c.maxPositions, h])
        tokenTypeEmbeddings = try take("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, h])
        embeddingNormGamma = try take("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try take("embeddings.LayerNorm.bias", [h])
        var layers: [Layer] = []
        for l in 0..<c.layerCount {
            let p = "encoder.layer.\(l)."
            let qkv = ["query", "key", "value"].map { p + "attention.self.\($0)" }
            layers.append(Layer(
                qkvWeight: try dense(qkv.map { $0 + ".weight" }, [h, h], layer: l, slot: .qkv),
                qkvBias: try takeConcatenated(qkv.map { $0 + ".bias" }, [h]),
                attentionOutWeight: try dense([p + "attention.output.dense.weight"], [h, h], layer: l, slot: .attentionOut),
                attentionOutBias: try take(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try take(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try take(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try dense([p + "intermediate.dense.weight"], [i, h], layer: l, slot: .intermediate),
                intermediateBias: try take(p + "intermediate.dense.bias", [i]),
                outputWeight: try dense([p + "output.dense.weight"], [h, i], layer: l, slot: .output),
                outputBias: try take(p + "output.dense.bias", [h]),
                outputNormGamma: try take(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try take(p + "output.LayerNorm.bias", [h])))
        }
        precondition(cursor == total, "weight arena size mismatch")
        self.layers = layers
        self.storage = storage
        self.configuration = c
        self.precision = precision
        succeeded = true
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }
}
