/// Learns, per model, how the gateway's prompt estimate relates to the provider's own
/// count, so that answers without usage (streams from servers that do not report it) are
/// priced close to what the same request costs non-streamed.
///
/// A least-squares line `actual ≈ slope × estimate + offset` over every observation.
/// The offset captures what the estimate cannot see (chat templates, default system
/// prompts); the slope the tokenizer's bytes per token. With a single distinct estimate
/// only the offset is learnt.
public struct PromptCalibration: Sendable, Equatable {
    private var n = 0.0
    private var sumX = 0.0
    private var sumY = 0.0
    private var sumXX = 0.0
    private var sumXY = 0.0

    public init() {}

    public var observations: Int { Int(n) }

    public mutating func observe(estimate: Int, actual: Int) {
        let x = Double(estimate)
        let y = Double(actual)
        n += 1
        sumX += x
        sumY += y
        sumXX += x * x
        sumXY += x * y
    }

    /// The calibrated count for a raw estimate; the estimate itself before any observation.
    public func apply(_ estimate: Int) -> Int {
        guard n > 0 else { return estimate }
        let x = Double(estimate)
        let meanX = sumX / n
        let meanY = sumY / n
        let varianceX = sumXX / n - meanX * meanX
        var slope = 1.0
        if varianceX > 1 {
            slope = (sumXY / n - meanX * meanY) / varianceX
            // A tokenizer is never wildly off four bytes per token; keep the fit sane.
            slope = min(max(slope, 0.5), 2)
        }
        let offset = meanY - slope * meanX
        return max(0, Int((slope * x + offset).rounded()))
    }
}
