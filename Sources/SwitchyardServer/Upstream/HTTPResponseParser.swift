import NIOCore
import NIOHTTP1

/// An incremental HTTP/1.1 response parser for the plain upstream client (RFC 9112
/// §4–7): status line and fields, then a body framed by `content-length`, by chunks, or by
/// the connection's close.
///
/// Body parts are slices of the bytes read from the socket, never copies; only the head and
/// chunk-size lines are collected when they span reads. It replaces NIO's decoder on the
/// upstream side: relaying a stream chunk by chunk, that decoder's generic machinery was
/// about a seventh of the gateway's user-space CPU.
struct HTTPResponseParser {
    enum Event {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        /// The response is complete; `keepAlive` says whether the connection can carry another.
        case end(keepAlive: Bool)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    private var state = State.head
    /// Bytes of a head or a chunk line that has not arrived whole.
    private var pending: ByteBuffer?
    private var keepAlive = true
    private var isHeadRequest = false
    /// Longest head (status line and fields) accepted.
    static let maxHeadBytes = 64 * 1024
    /// Longest chunk-size or trailer line accepted.
    static let maxLineBytes = 8 * 1024

    /// Ready for the answer to a new request; a `HEAD` request's answer has no body.
    mutating func expectResponse(toHeadRequest: Bool) {
        state = .head
        pending = nil
        keepAlive = true
        isHeadRequest = toHeadRequest
    }

    /// True between the start of a response and its end.
    var inResponse: Bool {
        if case .done = state { return false }
        return true
    }

    /// Consumes `input`, calling `emit` for each event in order.
    mutating func feed(_ input: ByteBuffer, _ emit: (Event) throws -> Void) throws {
        var input = input
        if var buffered = pending {
            pending = nil
            buffered.writeBuffer(&input)
            input = buffered
        }
        while input.readableBytes > 0 {
            switch state {
            case .head:
                guard let end = Self.find(Self.crlfcrlf, in: input) else {
                    guard input.readableBytes <= Self.maxHeadBytes else { throw Failure(description: "response head over \(Self.maxHeadBytes) bytes") }
                    pending = input
                    return
                }
                let parsed = try input.withUnsafeReadableBytes { try Self.parseHead(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
                input.moveReaderIndex(forwardBy: end + 4)
                // Interim answers (100 Continue, 103 Early Hints) precede the real one.
                if (100..<200).contains(parsed.head.status.code) { continue }
                try emit(.head(parsed.head))
                try startBody(parsed, emit)
            case .fixed(let remaining):
                let part = input.readSlice(length: min(remaining, input.readableBytes))!
                try emit(.body(part))
                let left = remaining - part.readableBytes
                if left == 0 {
                    state = .done
                    try emit(.end(keepAlive: keepAlive))
                } else {
                    state = .fixed(remaining: left)
                }
            case .chunkSize:
                guard let line = try takeLine(&input) else { return }
                let size = try Self.parseChunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let part = input.readSlice(length: min(remaining, input.readableBytes))!
                try emit(.body(part))
                let left = remaining - part.readableBytes
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
            case .chunkDataEnd:
                guard let line = try takeLine(&input) else { return }
                guard line.isEmpty else { throw Failure(description: "chunk data longer than its size") }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped: nothing the gateway relays uses them.
                guard let line = try takeLine(&input) else { return }
                if line.isEmpty {
                    state = .done
                    try emit(.end(keepAlive: keepAlive))
                }
            case .untilClose:
                try emit(.body(input))
                return
            case .done:
                throw Failure(description: "bytes after the end of the response")
            }
        }
    }

    /// The connection closed. Ends a body that lasts until the close; anything else cut
    /// short is a failure for the caller to report.
    mutating func feedEOF(_ emit: (Event) throws -> Void) throws {
        switch state {
        case .untilClose:
            state = .done
            try emit(.end(keepAlive: false))
        case .done:
            return
        case .head where pending == nil:
            throw Failure(description: "the upstream closed the connection before answering")
        default:
            throw Failure(description: "the upstream closed the connection mid-answer")
        }
    }

    private mutating func startBody(_ parsed: ParsedHead, _ emit: (Event) throws -> Void) throws {
        let framing = parsed.framing
        keepAlive = parsed.head.version == .http1_1 ? !framing.connectionClose : framing.connectionKeepAlive && !framing.connectionClose
        let status = parsed.head.status.code
        if isHeadRequest || status == 204 || status == 304 {
            state = .done
            try emit(.end(keepAlive: keepAlive))
            return
        }
        // RFC 9112 §6.3: a transfer coding wins over a length; a coding other than chunked
        // last means the body runs until the close.
        if framing.hasTransferCoding {
            if framing.lastCodingIsChunked {
                state = .chunkSize
            } else {
                keepAlive = false
                state = .untilClose
            }
            return
        }
        if let problem = framing.invalidLength { throw Failure(description: "invalid content-length \(problem)") }
        if let length = framing.contentLength {
            if length == 0 {
                state = .done
                try emit(.end(keepAlive: keepAlive))
            } else {
                state = .fixed(remaining: length)
            }
            return
        }
        keepAlive = false
        state = .untilClose
    }

    /// One CRLF-terminated line, without its CRLF; nil (and the bytes kept) when it has not
    /// arrived whole.
    private mutating func takeLine(_ input: inout ByteBuffer) throws -> ByteBufferView? {
        guard let end = Self.find(Self.crlf, in: input) else {
            guard input.readableBytes <= Self.maxLineBytes else { throw Failure(description: "chunk line over \(Self.maxLineBytes) bytes") }
            pending = input
            input.moveReaderIndex(forwardBy: input.readableBytes)
            return nil
        }
        let line = input.readableBytesView.prefix(end)
        input.moveReaderIndex(forwardBy: end + 2)
        return line
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    /// Offset of `pattern` in the readable bytes.
    private static func find(_ pattern: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            let count = bytes.count - pattern.count
            guard count >= 0 else { return nil }
            var i = 0
            while i <= count {
                if bytes[i] == 13 {
                    var match = true
                    for j in 1..<pattern.count where bytes[i + j] != pattern[j] {
                        match = false
                        break
                    }
                    if match { return i }
                }
                i += 1
            }
            return nil
        }
    }

    /// `1a;ext=1` → 26. Extensions are ignored.
    static func parseChunkSize(_ line: ByteBufferView) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw Failure(description: "invalid chunk size") }
                return size
            default:
                throw Failure(description: "invalid chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw Failure(description: "chunk size too large") }
            size = size << 4 | value
        }
        guard digits > 0 else { throw Failure(description: "invalid chunk size") }
        return size
    }

    /// What the fields say about the body and the connection, noted while the head is parsed.
    struct Framing {
        var contentLength: Int?
        /// The offending `content-length` values, when they are not one valid length.
        var invalidLength: String?
        var hasTransferCoding = false
        var lastCodingIsChunked = false
        var connectionClose = false
        var connectionKeepAlive = false
    }

    struct ParsedHead {
        var head: HTTPResponseHead
        var framing: Framing
    }

    /// `HTTP/1.1 200 OK` and the fields after it (the head without its final empty line).
    static func parseHead(_ bytes: UnsafeRawBufferPointer) throws -> ParsedHead {
        var lines = LineIterator(bytes: bytes)
        guard let statusLine = lines.next(), statusLine.count >= 12 else { throw Failure(description: "invalid status line") }
        let s = statusLine
        let prefix: StaticString = "HTTP/1."
        for i in 0..<7 where s[i] != prefix.utf8Start[i] { throw Failure(description: "invalid status line") }
        guard s[7] == UInt8(ascii: "0") || s[7] == UInt8(ascii: "1"), s[8] == UInt8(ascii: " ") else {
            throw Failure(description: "invalid status line")
        }
        var code = 0
        for byte in s[9..<12] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw Failure(description: "invalid status code") }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100, s.count == 12 || s[12] == UInt8(ascii: " ") else { throw Failure(description: "invalid status line") }
        let reason = s.count > 13 ? String(decoding: UnsafeRawBufferPointer(rebasing: s[13...]), as: UTF8.self) : ""
        var headers = HTTPHeaders()
        var framing = Framing()
        var lengths: [Substring] = []
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon != line.startIndex else {
                throw Failure(description: "invalid header line")
            }
            let name = UnsafeRawBufferPointer(rebasing: line[line.startIndex..<colon])
            // No whitespace in or before a field name, and no obsolete line folding (RFC 9112 §5).
            guard !name.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) else {
                throw Failure(description: "invalid header name")
            }
            var start = colon + 1
            var end = line.endIndex
            while start < end, line[start] == UInt8(ascii: " ") || line[start] == UInt8(ascii: "\t") { start += 1 }
            while end > start, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\t") { end -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: line[start..<end])
            let valueString = String(decoding: value, as: UTF8.self)
            if Self.equalsLowercase(name, "content-length") {
                for part in valueString.split(separator: ",", omittingEmptySubsequences: false) { lengths.append(part) }
            } else if Self.equalsLowercase(name, "transfer-encoding") {
                for coding in Self.tokens(value) {
                    framing.hasTransferCoding = true
                    framing.lastCodingIsChunked = Self.equalsLowercase(coding, "chunked")
                }
            } else if Self.equalsLowercase(name, "connection") {
                for token in Self.tokens(value) {
                    if Self.equalsLowercase(token, "close") { framing.connectionClose = true }
                    if Self.equalsLowercase(token, "keep-alive") { framing.connectionKeepAlive = true }
                }
            }
            headers.add(name: String(decoding: name, as: UTF8.self), value: valueString)
        }
        if !lengths.isEmpty {
            let trimmed = lengths.map { $0.trimmingOWS() }
            if let length = Int(trimmed[0]), length >= 0, trimmed.allSatisfy({ $0 == trimmed[0] }) {
                framing.contentLength = length
            } else {
                framing.invalidLength = trimmed.joined(separator: ",")
            }
        }
        let version = s[7] == UInt8(ascii: "1") ? HTTPVersion.http1_1 : HTTPVersion.http1_0
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code, reasonPhrase: reason), headers: headers)
        return ParsedHead(head: head, framing: framing)
    }

    /// Whether `bytes` spell `lowercase` in any letter case (`lowercase` is ASCII lower case).
    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for i in 0..<bytes.count {
            var byte = bytes[i]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[i] { return false }
        }
        return true
    }

    /// The comma-separated elements of a field value, trimmed, empty ones skipped.
    static func tokens(_ value: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
            var a = start
            var b = end
            while a < b, value[a] == UInt8(ascii: " ") || value[a] == UInt8(ascii: "\t") { a += 1 }
            while b > a, value[b - 1] == UInt8(ascii: " ") || value[b - 1] == UInt8(ascii: "\t") { b -= 1 }
            if b > a { out.append(UnsafeRawBufferPointer(rebasing: value[a..<b])) }
            start = end + 1
        }
        return out
    }

    /// CRLF-separated lines of a head (its final empty line already cut off).
    private struct LineIterator {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func next() -> Slice<UnsafeRawBufferPointer>? {
            guard position < bytes.count else { return nil }
            var end = position
            while end < bytes.count {
                if bytes[end] == 13, end + 1 < bytes.count, bytes[end + 1] == 10 { break }
                end += 1
            }
            let line = bytes[position..<end]
            position = end < bytes.count ? end + 2 : end
            return line
        }
    }
}

private extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingOWS() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
