/// Puts original values back into a streamed answer whose prompt was redacted.
///
/// Chunks arrive in arbitrary pieces (`"… [EMA"`, `"IL_1] …"`), so text from the last `[`
/// that could still become a known placeholder is held back until it either completes
/// (replaced) or cannot match any more (emitted as is). Everything else is emitted at once;
/// the hold-back is never longer than the longest placeholder. ``finish()`` flushes the rest.
public struct StreamingRestorer: Sendable {
    private let originals: [[UInt8]: [UInt8]]
    private let maxLength: Int
    private var pending: [UInt8] = []

    public init(mapping: RedactionMapping) {
        var o: [[UInt8]: [UInt8]] = [:]
        for (k, v) in mapping.originals { o[Array(k.utf8)] = Array(v.utf8) }
        originals = o
        maxLength = o.keys.map(\.count).max() ?? 0
    }

    /// Bytes currently held back.
    public var heldBack: Int { pending.count }

    /// True when `s` is a proper prefix of some placeholder.
    private func couldBecomePlaceholder(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count < maxLength else { return false }
        for k in originals.keys where k.count > s.count && k.starts(with: s) { return true }
        return false
    }

    /// Feeds one chunk; returns the text that can be emitted now.
    public mutating func feed(_ chunk: String) -> String {
        if originals.isEmpty { return chunk }
        pending.append(contentsOf: chunk.utf8)
        return String(decoding: drain(final: false), as: UTF8.self)
    }

    /// Flushes whatever is held back (an incomplete placeholder is emitted verbatim).
    public mutating func finish() -> String {
        let out = drain(final: true)
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func drain(final: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pending.count)
        var i = 0
        let n = pending.count
        var flushedTo = 0
        while i < n {
            guard pending[i] == UInt8(ascii: "[") else {
                i += 1
                continue
            }
            // Find the closing bracket within placeholder length.
            var j = i + 1
            while j < n && j - i < maxLength && pending[j] != UInt8(ascii: "]") && pending[j] != UInt8(ascii: "[") { j += 1 }
            if j < n && pending[j] == UInt8(ascii: "]"), let orig = originals[Array(pending[i...j])] {
                out.append(contentsOf: pending[flushedTo..<i])
                out.append(contentsOf: orig)
                i = j + 1
                flushedTo = i
                continue
            }
            if j >= n && !final && couldBecomePlaceholder(pending[i..<n]) {
                // Possible partial placeholder at the end: keep it for the next chunk.
                out.append(contentsOf: pending[flushedTo..<i])
                pending.removeFirst(i)
                return out
            }
            i += 1
        }
        out.append(contentsOf: pending[flushedTo..<n])
        pending.removeAll(keepingCapacity: true)
        return out
    }
}
