import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// HTTP/1.1 response framing as bytes (RFC 9112): the status line and header block, body
/// chunks, the last chunk with trailers, and `100 Continue`.
///
/// Header names and values come from `HTTPFields`, which only holds valid names and
/// legalised values (no CR, LF or NUL), so they are written as they are.
enum HTTPResponseBytes {
    /// How answers are framed on one connection, from the request being answered.
    struct Framing: Sendable {
        var version: HTTPVersion
        /// The connection stays open after this answer.
        var keepAlive: Bool
        /// A `HEAD` request: the head describes a body that is not sent.
        var isHead: Bool

        init(version: HTTPVersion, keepAlive: Bool, isHead: Bool) {
            self.version = version
            self.keepAlive = keepAlive
            self.isHead = isHead
        }

        /// `closing`: the server closes the connection after this answer whatever the client asked.
        init(request: HTTPRequestHead, closing: Bool) {
            self.init(version: request.version, keepAlive: request.isKeepAlive && !closing, isHead: request.method == .HEAD)
        }

        /// HTTP/1.0 clients do not understand chunked bodies.
        var supportsChunked: Bool { version.major > 1 || (version.major == 1 && version.minor >= 1) }
    }

    /// How the body is delimited.
    enum BodyEncoding: Sendable, Equatable {
        /// No body may be sent: `HEAD`, 1xx, 204, 304.
        case none
        /// `content-length`: the whole body is known.
        case fixed
        /// `transfer-encoding: chunked`: a stream.
        case chunked
        /// A stream to an HTTP/1.0 client: the body ends when the connection closes.
        case untilClose
    }

    static func encoding(status: Int, contentLength: Int?, framing: Framing) -> BodyEncoding {
        if framing.isHead || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if contentLength != nil { return .fixed }
        return framing.supportsChunked ? .chunked : .untilClose
    }

    /// The status line and headers. The framing headers (`content-length`,
    /// `transfer-encoding`, `connection`) are the server's: a route's own are replaced.
    static func head(_ response: Response, encoding: BodyEncoding, framing: Framing, allocator: ByteBufferAllocator) -> ByteBuffer {
        let status = Int(response.status.code)
        // Statuses made from a bare code carry no phrase; the standard one is sent then.
        let reason = response.status.reasonPhrase.isEmpty ? HTTPResponseStatus(statusCode: status).reasonPhrase : response.status.reasonPhrase
        var out = allocator.buffer(capacity: 160 + reason.utf8.count + response.headers.count * 48)
        out.writeStaticString(framing.version.major == 1 && framing.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        // Status codes are three digits (RFC 9110 §15).
        let code = min(max(status, 100), 999)
        out.writeInteger(UInt8(ascii: "0") + UInt8(code / 100))
        out.writeInteger(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        out.writeInteger(UInt8(ascii: "0") + UInt8(code % 10))
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(reason)
        out.writeStaticString("\r\n")
        var hasDate = false
        for field in response.headers {
            let name = field.name
            if name == .contentLength || name == .transferEncoding || name == .connection { continue }
            if name == .date { hasDate = true }
            out.writeString(name.rawName)
            out.writeStaticString(": ")
            out.writeString(field.value)
            out.writeStaticString("\r\n")
        }
        if !hasDate {
            out.writeStaticString("date: ")
            out.writeString(HTTPDate.now)
            out.writeStaticString("\r\n")
        }
        switch encoding {
        case .fixed:
            writeContentLength(response.body.contentLength ?? 0, into: &out)
        case .chunked:
            out.writeStaticString("transfer-encoding: chunked\r\n")
        case .none:
            // A HEAD answer says how long the body would be.
            if framing.isHead, let length = response.body.contentLength { writeContentLength(length, into: &out) }
        case .untilClose:
            break
        }
        if !framing.keepAlive || encoding == .untilClose {
            out.writeStaticString("connection: close\r\n")
        } else if !framing.supportsChunked {
            // HTTP/1.0 closes by default; this client asked to keep the connection.
            out.writeStaticString("connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
        return out
    }

    /// One chunk of a chunked body: its size in hex, the bytes, CRLF. Empty parts must not
    /// be framed (a zero-size chunk ends the body).
    static func chunk(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = payload
        var out = allocator.buffer(capacity: payload.readableBytes + 20)
        writeHex(payload.readableBytes, into: &out)
        out.writeStaticString("\r\n")
        out.writeBuffer(&payload)
        out.writeStaticString("\r\n")
        return out
    }

    /// The zero-size chunk that ends a chunked body, with any trailer fields.
    static func lastChunk(trailers: HTTPFields?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 5)
        out.writeStaticString("0\r\n")
        for field in trailers ?? [:] {
            out.writeString(field.name.rawName)
            out.writeStaticString(": ")
            out.writeString(field.value)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
        return out
    }

    /// The interim answer to `Expect: 100-continue`.
    static func `continue`(version: HTTPVersion, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 25)
        out.writeStaticString(version.major == 1 && version.minor == 0 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n")
        return out
    }

    private static func writeContentLength(_ length: Int, into out: inout ByteBuffer) {
        out.writeStaticString("content-length: ")
        writeDecimal(length, into: &out)
        out.writeStaticString("\r\n")
    }

    static func writeDecimal(_ value: Int, into out: inout ByteBuffer) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var n = UInt(max(value, 0))
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[23 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            } while n > 0
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(24 - count)...]))
        }
    }

    static func writeHex(_ value: Int, into out: inout ByteBuffer) {
        let digits: StaticString = "0123456789abcdef"
        let n = UInt(max(value, 0))
        var shift = 0
        while shift + 4 < UInt.bitWidth, n >> (shift + 4) != 0 { shift += 4 }
        while true {
            out.writeInteger(digits.utf8Start[Int((n >> shift) & 0xF)])
            if shift == 0 { break }
            shift -= 4
        }
    }
}
