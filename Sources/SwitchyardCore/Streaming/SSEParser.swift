/// One server-sent event as the WHATWG EventSource algorithm assembles it.
public struct SSEEvent: Sendable, Equatable {
    public var event: String?
    public var data: String

    public init(event: String? = nil, data: String) {
        self.event = event
        self.data = data
    }
}

/// An incremental SSE decoder: feed it bytes as they arrive, get complete events out.
///
/// Upstream chunks split events anywhere (inside a line, between `\r` and `\n`), so the
/// parser keeps only the unfinished line and the event being assembled. It follows the
/// WHATWG rules: `\n`, `\r\n` and `\r` all end a line, a blank line dispatches, lines
/// starting with `:` are comments, one leading space after the colon is dropped, and
/// several `data:` lines join with `\n`.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var eventName: String?
    private var dataLines: [String] = []
    private var hasData = false

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if lastWasCR {
                lastWasCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                lastWasCR = true
                endLine(into: &events)
            case 0x0A:
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// Flushes a final event that was not followed by a blank line (a truncated stream).
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty { endLine(into: &events) }
        if hasData { events.append(SSEEvent(event: eventName, data: dataLines.joined(separator: "\n"))) }
        reset()
        return events
    }

    private mutating func reset() {
        eventName = nil
        dataLines.removeAll(keepingCapacity: true)
        hasData = false
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData { events.append(SSEEvent(event: eventName, data: dataLines.joined(separator: "\n"))) }
            reset()
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let field: String
        var value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var start = colon + 1
            if start < line.count, line[start] == 0x20 { start += 1 }
            value = String(decoding: line[start...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "data":
            dataLines.append(value)
            hasData = true
        case "event":
            eventName = value
        default:
            value = ""
        }
    }
}
