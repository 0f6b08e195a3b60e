/// All encoder weights in one immutable, owned allocation.
///
/// Fused Q/K/V projections (one GEMM instead of three) are built at load
/// time; tensors stay in PyTorch's `[out, in]` layout and are used through
/// transposed GEMMs, so no other rearrangement is needed.
final class BertWeights: @unchecked Sendable {
    struct Layer {
        var qkvWeight: UnsafePointer<Float>  // [3·hidden, hidden]
        var qkvBias: UnsafePointer<Float>  // [3·hidden]
        var attentionOutWeight: UnsafePointer<Float>  // [hidden, hidden]
        var attentionOutBias: UnsafePointer<Float>
        var attentionNormGamma: UnsafePointer<Float>
        var attentionNormBeta: UnsafePointer<Float>
        var intermediateWeight: UnsafePointer<Float>  // [intermediate, hidden]
        var intermediateBias: UnsafePointer<Float>
        var outputWeight: UnsafePointer<Float>  // [hidden, intermediate]
        var outputBias: UnsafePointer<Float>
        var outputNormGamma: UnsafePointer<Float>
        var outputNormBeta: UnsafePointer<Float>
    }

    let configuration: BertConfiguration
    let wordEmbeddings: UnsafePointer<Float>  // [vocab, hidden]
    let positionEmbeddings: UnsafePointer<Float>  // [maxPositions, hidden]
    let tokenTypeEmbeddings: UnsafePointer<Float>  // [2, hidden]
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [Layer]
    private let storage: UnsafeMutablePointer<Float>

    init(file: SafeTensorsFile, configuration c: BertConfiguration) throws {
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil
            && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        let h = c.hiddenSize, i = c.intermediateSize
        var total = c.vocabularySize * h + c.maxPositions * h + c.typeVocabularySize * h + 2 * h
        total += c.layerCount * (3 * h * h + 3 * h + h * h + h + 2 * h + i * h + i + h * i + h + 2 * h)
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: total)
        var cursor = 0
        var succeeded = false
        defer { if !succeeded { storage.deallocate() } }

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
                qkvWeight: try takeConcatenated(qkv.map { $0 + ".weight" }, [h, h]),
                qkvBias: try takeConcatenated(qkv.map { $0 + ".bias" }, [h]),
                attentionOutWeight: try take(p + "attention.output.dense.weight", [h, h]),
                attentionOutBias: try take(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try take(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try take(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try take(p + "intermediate.dense.weight", [i, h]),
                intermediateBias: try take(p + "intermediate.dense.bias", [i]),
                outputWeight: try take(p + "output.dense.weight", [h, i]),
                outputBias: try take(p + "output.dense.bias", [h]),
                outputNormGamma: try take(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try take(p + "output.LayerNorm.bias", [h])))
        }
        precondition(cursor == total, "weight arena size mismatch")
        self.layers = layers
        self.storage = storage
        self.configuration = c
        succeeded = true
    }

    deinit { storage.deallocate() }
}
