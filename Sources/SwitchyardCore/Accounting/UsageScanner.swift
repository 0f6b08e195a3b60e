/// Finds the top-level `"usage"` object of an OpenAI-shaped JSON body without parsing the
/// whole answer: the gateway reads usage from every response it relays, and answers can be
/// long while usage is a few dozen bytes at the end.
public enum UsageScanner {
    /// The bytes of the value of the last `"usage"` key whose value is an object; nil when
    /// there is none (or it is `null`).
    public static func usageObject(in body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let key: [UInt8] = Array("\"usage\"".utf8)
        guard body.count > key.count else { return nil }
        var i = body.count - key.count
        while i >= 0 {
            if body[i] == key[0] && matches(body, at: i, key) {
                var j = i + key.count
                while j < body.count, isSpace(body[j]) { j += 1 }
                if j < body.count, body[j] == UInt8(ascii: ":") {
                    j += 1
                    while j < body.count, isSpace(body[j]) { j += 1 }
                    if j < body.count, body[j] == UInt8(ascii: "{"), let end = objectEnd(body, from: j) {
                        return UnsafeRawBufferPointer(rebasing: body[j..<end])
                    }
                }
            }
            i -= 1
        }
        return nil
    }

    private static func matches(_ body: UnsafeRawBufferPointer, at i: Int, _ key: [UInt8]) -> Bool {
        for k in 0..<key.count where body[i + k] != key[k] { return false }
        return true
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// One past the `}` closing the object that starts at `start`, honouring strings.
    private static func objectEnd(_ body: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var depth = 0
        var inString = false
        var i = start
        while i < body.count {
            let b = body[i]
            if inString {
                if b == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
            } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                depth += 1
            } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return nil
    }
}
