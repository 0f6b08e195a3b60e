import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing
@testable import SwitchyardServer

/// The server's own response framing: what goes on the wire for each kind of answer, and
/// that a route cannot break the framing with headers of its own.
@Suite struct HTTPResponseBytesTests {
    let allocator = ByteBufferAllocator()

    func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    func head(_ response: Response, _ framing: HTTPResponseBytes.Framing) -> (String, HTTPResponseBytes.BodyEncoding) {
        let encoding = HTTPResponseBytes.encoding(status: Int(response.status.code), contentLength: response.body.contentLength, framing: framing)
        return (text(HTTPResponseBytes.head(response, encoding: encoding, framing: framing, allocator: allocator)), encoding)
    }

    let http11 = HTTPResponseBytes.Framing(version: .http1_1, keepAlive: true, isHead: false)

    @Test func aKnownLengthAnswerHasItsLengthAndADate() {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let response = Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"a\":1}")))
        let (bytes, encoding) = head(response, http11)
        #expect(encoding == .fixed)
        #expect(bytes.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ndate: "))
        #expect(bytes.hasSuffix(" GMT\r\ncontent-length: 7\r\n\r\n"))
        #expect(!bytes.contains("connection"))
    }

    @Test func aStatusMadeFromACodeGetsTheStandardReasonPhrase() {
        let response = Response(status: HTTPResponse.Status(code: 404), body: ResponseBody(byteBuffer: ByteBuffer()))
        #expect(head(response, http11).0.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        let teapot = Response(status: HTTPResponse.Status(code: 599), body: ResponseBody(byteBuffer: ByteBuffer()))
        #expect(head(teapot, http11).0.hasPrefix("HTTP/1.1 599 "))
    }

    @Test func aRouteCannotSetTheFramingHeaders() {
        var headers = HTTPFields()
        headers[.contentLength] = "999"
        headers[.transferEncoding] = "gzip"
        headers[.connection] = "upgrade"
        let response = Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "abc")))
        let (bytes, _) = head(response, http11)
        #expect(bytes.contains("content-length: 3\r\n"))
        #expect(!bytes.contains("999"))
        #expect(!bytes.lowercased().contains("transfer-encoding"))
        #expect(!bytes.contains("upgrade"))
    }

    @Test func aStreamIsChunkedForHTTP11AndDelimitedByTheCloseForHTTP10() {
        let stream = Response(status: .ok, body: ResponseBody { writer in try await writer.finish(nil) })
        let (chunked, encoding) = head(stream, http11)
        #expect(encoding == .chunked)
        #expect(chunked.hasSuffix("transfer-encoding: chunked\r\n\r\n"))
        let old = HTTPResponseBytes.Framing(version: .http1_0, keepAlive: true, isHead: false)
        let (untilClose, oldEncoding) = head(stream, old)
        #expect(oldEncoding == .untilClose)
        #expect(untilClose.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!untilClose.contains("chunked"))
        #expect(untilClose.hasSuffix("connection: close\r\n\r\n"))
    }

    @Test func connectionHeadersFollowTheClient() {
        let response = Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "x")))
        let closing = HTTPResponseBytes.Framing(version: .http1_1, keepAlive: false, isHead: false)
        #expect(head(response, closing).0.hasSuffix("connection: close\r\n\r\n"))
        let keptHTTP10 = HTTPResponseBytes.Framing(version: .http1_0, keepAlive: true, isHead: false)
        #expect(head(response, keptHTTP10).0.hasSuffix("connection: keep-alive\r\n\r\n"))
    }

    @Test func headAnswersAndBodylessStatusesCarryNoBody() {
        let response = Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "hello")))
        let headRequest = HTTPResponseBytes.Framing(version: .http1_1, keepAlive: true, isHead: true)
        let (bytes, encoding) = head(response, headRequest)
        #expect(encoding == .none)
        #expect(bytes.contains("content-length: 5\r\n"))
        let noContent = Response(status: .noContent, body: ResponseBody(byteBuffer: ByteBuffer()))
        let (empty, emptyEncoding) = head(noContent, http11)
        #expect(emptyEncoding == .none)
        #expect(!empty.contains("content-length") && !empty.contains("chunked"))
    }

    @Test func chunksCarryTheirSizeInHex() {
        #expect(text(HTTPResponseBytes.chunk(ByteBuffer(string: "data: x\n\n"), allocator: allocator)) == "9\r\ndata: x\n\n\r\n")
        let big = String(repeating: "a", count: 0x1ABC)
        #expect(text(HTTPResponseBytes.chunk(ByteBuffer(string: big), allocator: allocator)).hasPrefix("1abc\r\naaa"))
        #expect(text(HTTPResponseBytes.lastChunk(trailers: nil, allocator: allocator)) == "0\r\n\r\n")
        var trailers = HTTPFields()
        trailers[HTTPField.Name("x-usage")!] = "12"
        #expect(text(HTTPResponseBytes.lastChunk(trailers: trailers, allocator: allocator)) == "0\r\nx-usage: 12\r\n\r\n")
    }

    @Test func numbersAreWrittenExactly() {
        for value in [0, 7, 10, 4096, 1_000_000_007, Int(Int32.max) * 4] {
            var decimal = allocator.buffer(capacity: 0)
            HTTPResponseBytes.writeDecimal(value, into: &decimal)
            #expect(text(decimal) == String(value))
            var hex = allocator.buffer(capacity: 0)
            HTTPResponseBytes.writeHex(value, into: &hex)
            #expect(text(hex) == String(value, radix: 16))
        }
    }

    @Test func continueMatchesTheClientsVersion() {
        #expect(text(HTTPResponseBytes.continue(version: .http1_1, allocator: allocator)) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(text(HTTPResponseBytes.continue(version: .http1_0, allocator: allocator)) == "HTTP/1.0 100 Continue\r\n\r\n")
    }
}
