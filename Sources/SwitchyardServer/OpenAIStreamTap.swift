import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// Watches an OpenAI-compatible SSE stream that is relayed byte for byte.
///
/// It reads the usage chunk (requested from the upstream even when the client did not ask),
/// drops that chunk when the client did not ask for it, and counts content chunks so that
/// a stream without usage can still be estimated. Chunks that hold only whole events and
/// nothing to drop are passed on as they are, without a copy.
struct OpenAIStreamTap {
    private(set) var usage: Usage?
    private(set) var contentChunks = 0
    private(set) var textBytes = 0
    /// The answer's text, kept only when the route logs text.
    private(set) var text = ""
    let forwardUsageChunk: Bool
    let collectText: Bool
    private var carry = ByteBuffer()

    init(forwardUsageChunk: Bool, collectText: Bool = false) {
        self.forwardUsageChunk = forwardUsageChunk
        self.collectText = collectText
    }

    /// The bytes of `chunk` the client should get now: complete events only.
    mutating func process(_ chunk: ByteBuffer) -> ByteBuffer {
        var input: ByteBuffer
        let copied: Bool
        if carry.readableBytes > 0 {
            var joined = carry
            var c = chunk
            joined.writeBuffer(&c)
            input = joined
            carry = ByteBuffer()
            copied = true
        } else {
            input = chunk
            copied = false
        }
        var kept: [Range<Int>] = []
        var dropped = false
        var consumed = 0
        input.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var i = 0
            let n = bytes.count
            while i + 1 < n {
                if bytes[i] == 0x0A && bytes[i + 1] == 0x0A {
                    let end = i + 2
                    if inspect(UnsafeBufferPointer(rebasing: bytes[start..<end])) { kept.append(start..<end) } else { dropped = true }
                    start = end
                    i = end
                    continue
                }
                if bytes[i] == 0x0D, i + 3 < n, bytes[i + 1] == 0x0A, bytes[i + 2] == 0x0D, bytes[i + 3] == 0x0A {
                    let end = i + 4
                    if inspect(UnsafeBufferPointer(rebasing: bytes[start..<end])) { kept.append(start..<end) } else { dropped = true }
                    start = end
                    i = end
                    continue
                }
                i += 1
            }
            consumed = start
        }
        let total = input.readableBytes
        if consumed < total {
            carry = input.getSlice(at: input.readerIndex + consumed, length: total - consumed) ?? ByteBuffer()
        }
        if !dropped && !copied && consumed == total { return chunk }
        var out = ByteBuffer()
        out.reserveCapacity(kept.reduce(0) { $0 + $1.count })
        for range in kept {
            var slice = input.getSlice(at: input.readerIndex + range.lowerBound, length: range.count)!
            out.writeBuffer(&slice)
        }
        return out
    }

    /// What is left at the end of the stream (an event without its closing blank line).
    mutating func finish() -> ByteBuffer {
        let rest = carry
        carry = ByteBuffer()
        if rest.readableBytes > 0 {
            _ = rest.withUnsafeReadableBytes { raw in inspect(raw.bindMemory(to: UInt8.self)) }
        }
        return rest
    }

    /// Looks at one event; false when it must not reach the client.
    private mutating func inspect(_ event: UnsafeBufferPointer<UInt8>) -> Bool {
        if let start = Self.valueStart(of: Self.contentKey, in: event), start < event.count, event[start] == UInt8(ascii: "\"") {
            let length = Self.stringLength(event, from: start + 1)
            if length > 0 {
                contentChunks += 1
                textBytes += length
                if collectText, let payload = Self.payload(event), let piece = (try? JSONParser.parse(payload))?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue {
                    text += piece
                }
            }
        }
        guard let start = Self.valueStart(of: Self.usageKey, in: event), start < event.count, event[start] == UInt8(ascii: "{") else {
            return true
        }
        // Only the chunk carrying usage is parsed in full.
        guard let payload = Self.payload(event), case .object(let object)? = try? JSONParser.parse(payload) else { return true }
        if let parsed = object["usage"].flatMap(OpenAIAdapter.decodeUsage) { usage = parsed }
        if forwardUsageChunk { return true }
        if case .array(let choices)? = object["choices"], !choices.isEmpty { return true }
        return false
    }

    /// The `data:` field of one event.
    private static func payload(_ event: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let dataStart = find(dataPrefix, in: event, from: 0) else { return nil }
        var payload = Array(event[(dataStart + dataPrefix.count)...])
        while let last = payload.last, last == 0x0A || last == 0x0D || last == 0x20 { payload.removeLast() }
        while let first = payload.first, first == 0x20 { payload.removeFirst() }
        return payload
    }

    private static let contentKey = Array("\"content\":".utf8)
    private static let usageKey = Array("\"usage\":".utf8)
    private static let dataPrefix = Array("data:".utf8)

    /// Index of the first non-space byte after `key`, if the key occurs.
    private static func valueStart(of key: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard var i = find(key, in: bytes, from: 0) else { return nil }
        i += key.count
        while i < bytes.count, bytes[i] == 0x20 { i += 1 }
        return i
    }

    private static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        let first = needle[0]
        var i = from
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < needle.count && bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Bytes of a JSON string body starting at `from` (just after the opening quote).
    private static func stringLength(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
        var i = from
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if bytes[i] == UInt8(ascii: "\"") { return i - from }
            i += 1
        }
        return i - from
    }
}
