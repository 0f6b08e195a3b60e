/// Shape of the BERT encoder behind all-MiniLM-L6-v2 (from its `config.json`).
///
/// Fixed rather than parsed: the encoder's kernels assume these sizes
/// (hidden and intermediate widths multiples of 16), and loading checks every
/// tensor's shape against them.
struct BertConfiguration: Sendable {
    var vocabularySize = 30522
    var hiddenSize = 384
    var layerCount = 6
    var headCount = 12
    var intermediateSize = 1536
    var maxPositions = 512
    var typeVocabularySize = 2
    var layerNormEpsilon: Float = 1e-12
    /// sentence-transformers' `max_seq_length` for this model.
    var maxSequenceLength = 256

    var headSize: Int { hiddenSize / headCount }
}
