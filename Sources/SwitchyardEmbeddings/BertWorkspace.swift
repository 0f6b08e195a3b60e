import CEncoderKernels

/// Scratch buffers for one forward pass, reused across calls.
///
/// Sized for a number of packed tokens and a longest sequence; grown on demand.
/// A workspace is used by one caller at a time (the encoder hands them out
/// from a locked pool), which is what makes the encoder safe to share.
final class BertWorkspace: @unchecked Sendable {
    private(set) var tokenCapacity = 0
    private(set) var sequenceCapacity = 0
    private(set) var hidden: UnsafeMutablePointer<Float>  // [tokens, hidden]
    private(set) var qkv: UnsafeMutablePointer<Float>  // [tokens, 3·hidden]
    private(set) var context: UnsafeMutablePointer<Float>  // [tokens, hidden]
    private(set) var projected: UnsafeMutablePointer<Float>  // [tokens, hidden]
    private(set) var intermediate: UnsafeMutablePointer<Float>  // [tokens, intermediate]
    private(set) var scores: UnsafeMutablePointer<Float>  // [seq, seq]
    /// Int8 precision only: a dense layer's quantised input and its per-row scales.
    private(set) var quantized: UnsafeMutablePointer<UInt8>  // [tokens, intermediate]
    private(set) var rowScales: UnsafeMutablePointer<Float>  // [tokens]
    private(set) var rowZeroPoints: UnsafeMutablePointer<Int32>  // [tokens]
    /// Int8 precision only, for the short sequences whose products get a second, residual
    /// pass (see `BertEncoderForward.refinedSequenceLength`): the residual, its quantised
    /// form and scales, and the second product's output.
    private(set) var refineCapacity = 0
    private(set) var residual: UnsafeMutablePointer<Float>  // [refine, intermediate]
    private(set) var residualQuantized: UnsafeMutablePointer<UInt8>  // [refine, intermediate]
    private(set) var residualScales: UnsafeMutablePointer<Float>  // [refine]
    private(set) var residualZeroPoints: UnsafeMutablePointer<Int32>  // [refine]
    private(set) var residualOutput: UnsafeMutablePointer<Float>  // [refine, max(3·hidden, intermediate)]
    private let configuration: BertConfiguration

    init(configuration: BertConfiguration) {
        self.configuration = configuration
        hidden = Self.aligned(0)
        qkv = Self.aligned(0)
        context = Self.aligned(0)
        projected = Self.aligned(0)
        intermediate = Self.aligned(0)
        scores = .allocate(capacity: 0)
        quantized = .allocate(capacity: 0)
        rowScales = .allocate(capacity: 0)
        rowZeroPoints = .allocate(capacity: 0)
        residual = Self.aligned(0)
        residualQuantized = .allocate(capacity: 0)
        residualScales = .allocate(capacity: 0)
        residualZeroPoints = .allocate(capacity: 0)
        residualOutput = Self.aligned(0)
    }

    /// Room for the residual pass over `tokens` rows at a time.
    func reserveRefinement(tokens: Int) {
        guard tokens > refineCapacity else { return }
        let width = max(configuration.intermediateSize, 3 * configuration.hiddenSize)
        for buffer in [residual, residualOutput] { UnsafeMutableRawPointer(buffer).deallocate() }
        residualQuantized.deallocate()
        residualScales.deallocate()
        residualZeroPoints.deallocate()
        residual = Self.aligned(tokens * width)
        residualOutput = Self.aligned(tokens * width)
        residualQuantized = .allocate(capacity: tokens * width)
        residualScales = .allocate(capacity: tokens)
        residualZeroPoints = .allocate(capacity: tokens)
        refineCapacity = tokens
    }

    func reserve(tokens: Int, longestSequence: Int) {
        let h = configuration.hiddenSize
        if tokens > tokenCapacity {
            let capacity = max(tokens, 64)
            for buffer in [hidden, qkv, context, projected, intermediate] { UnsafeMutableRawPointer(buffer).deallocate() }
            rowScales.deallocate()
            quantized.deallocate()
            rowZeroPoints.deallocate()
            hidden = Self.aligned(capacity * h)
            qkv = Self.aligned(capacity * 3 * h)
            context = Self.aligned(capacity * h)
            projected = Self.aligned(capacity * h)
            intermediate = Self.aligned(capacity * configuration.intermediateSize)
            quantized = .allocate(capacity: capacity * configuration.intermediateSize)
            rowScales = .allocate(capacity: capacity)
            rowZeroPoints = .allocate(capacity: capacity)
            tokenCapacity = capacity
        }
        if longestSequence > sequenceCapacity {
            scores.deallocate()
            // Room for either attention path: the score matrix, or the fused kernel's scratch.
            scores = .allocate(capacity: max(longestSequence * longestSequence,
                                             sy_attention_scratch_floats(Int32(longestSequence))))
            sequenceCapacity = longestSequence
        }
    }

    /// Activation rows are multiples of 64 bytes, so with a 64-byte-aligned base every vector
    /// load in the kernels stays within one cache line (a straddling load costs two).
    private static func aligned(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit {
        for buffer in [hidden, qkv, context, projected, intermediate, residual, residualOutput] {
            UnsafeMutableRawPointer(buffer).deallocate()
        }
        for buffer in [scores, rowScales, residualScales] { buffer.deallocate() }
        quantized.deallocate()
        residualQuantized.deallocate()
        rowZeroPoints.deallocate()
        residualZeroPoints.deallocate()
    }
}
