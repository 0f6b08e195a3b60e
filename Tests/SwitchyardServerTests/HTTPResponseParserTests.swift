import NIOCore
import NIOHTTP1
import Testing
@testable import SwitchyardServer

/// The upstream client's response parser: every framing a model server uses, split at
/// every possible byte boundary, and the malformed answers it must refuse.
@Suite struct HTTPResponseParserTests {
    /// What a response came to: status, a header, the body, and how it ended.
    struct Outcome: Equatable {
        var status = 0
        var contentType: String?
        var body = ""
        var ends: [Bool] = []
    }

    func parse(_ pieces: [String], headRequest: Bool = false, eof: Bool = false) throws -> Outcome {
        var parser = HTTPResponseParser()
        parser.expectResponse(toHeadRequest: headRequest)
        var outcome = Outcome()
        func record(_ event: HTTPResponseParser.Event) {
            switch event {
            case .head(let head):
                outcome.status = Int(head.status.code)
                outcome.contentType = head.headers.first(name: "content-type")
            case .body(let part): outcome.body += String(buffer: part)
            case .end(let keepAlive): outcome.ends.append(keepAlive)
            }
        }
        for piece in pieces { try parser.feed(ByteBuffer(string: piece), record) }
        if eof { try parser.feedEOF(record) }
        return outcome
    }

    /// The response fed whole, then in two pieces at every split point, then byte by byte.
    func everySplit(_ raw: String, eof: Bool = false) throws -> [Outcome] {
        let bytes = Array(raw.utf8)
        var outcomes = [try parse([raw], eof: eof)]
        for cut in 1..<bytes.count {
            outcomes.append(try parse([String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)], eof: eof))
        }
        outcomes.append(try parse(bytes.map { String(decoding: [$0], as: UTF8.self) }, eof: eof))
        return outcomes
    }

    @Test func aLengthDelimitedBodyAtEverySplit() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
        for outcome in try everySplit(raw) {
            #expect(outcome == Outcome(status: 200, contentType: "application/json", body: "{\"ok\":true}", ends: [true]))
        }
    }

    @Test func aChunkedStreamWithExtensionsAndTrailersAtEverySplit() throws {
        let raw = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            + "7\r\ndata: 1\r\na;ext=x\r\n\ndata: 22\n\r\n0\r\nx-trailer: y\r\n\r\n"
        for outcome in try everySplit(raw) {
            #expect(outcome == Outcome(status: 200, contentType: "text/event-stream", body: "data: 1\ndata: 22\n", ends: [true]))
        }
    }

    @Test func aBodyWithoutLengthRunsUntilTheClose() throws {
        for outcome in try everySplit("HTTP/1.0 200 OK\r\n\r\nall of it", eof: true) {
            #expect(outcome == Outcome(status: 200, body: "all of it", ends: [false]))
        }
    }

    @Test func interimAnswersAreSkipped() throws {
        let raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
        #expect(try parse([raw]) == Outcome(status: 201, body: "ok", ends: [true]))
    }

    @Test func connectionCloseAndBodylessAnswers() throws {
        #expect(try parse(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"]).ends == [false])
        #expect(try parse(["HTTP/1.1 204 No Content\r\n\r\n"]) == Outcome(status: 204, ends: [true]))
        #expect(try parse(["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"], headRequest: true) == Outcome(status: 200, ends: [true]))
        #expect(try parse(["HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n"]) == Outcome(status: 429, ends: [true]))
    }

    @Test func framingFieldsAreReadInAnyCaseAndAsLists() throws {
        // Field names and tokens are case-insensitive; values may be comma lists (RFC 9110 §5.3).
        #expect(try parse(["HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"]) == Outcome(status: 200, body: "ab", ends: [true]))
        #expect(try parse(["HTTP/1.1 200 OK\r\nContent-Length: 2 , 2\r\n\r\nab"]) == Outcome(status: 200, body: "ab", ends: [true]))
        #expect(try parse(["HTTP/1.1 200 OK\r\nconnection: upgrade, CLOSE\r\ncontent-length: 0\r\n\r\n"]).ends == [false])
        #expect(try parse(["HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 0\r\n\r\n"]).ends == [true])
        #expect(try parse(["HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"]).ends == [false])
        // A coding other than chunked last: the body runs until the close.
        #expect(try parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\nraw"], eof: true) == Outcome(status: 200, body: "raw", ends: [false]))
    }

    @Test func malformedAnswersAreRefused() {
        let bad = [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nxy",
        ]
        for raw in bad {
            #expect(throws: HTTPResponseParser.Failure.self, "\(raw)") { try parse([raw]) }
        }
    }

    @Test func anAnswerCutShortIsAFailureNotAnEnd() {
        #expect(throws: HTTPResponseParser.Failure.self) { try parse(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"], eof: true) }
        #expect(throws: HTTPResponseParser.Failure.self) { try parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"], eof: true) }
        #expect(throws: HTTPResponseParser.Failure.self) { try parse(["HTTP/1.1 200"], eof: true) }
    }

    @Test func aHeadWithoutEndIsBoundedInSize() {
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "x-filler: 0123456789\r\n", count: 4000)
        #expect(throws: HTTPResponseParser.Failure.self) { try parse([endless]) }
    }

    @Test func chunkSizes() throws {
        func size(_ text: String) throws -> Int { try HTTPResponseParser.parseChunkSize(ByteBuffer(string: text).readableBytesView) }
        #expect(try size("0") == 0)
        #expect(try size("1A") == 26)
        #expect(try size("ff;name=value") == 255)
        #expect(throws: HTTPResponseParser.Failure.self) { try size("") }
        #expect(throws: HTTPResponseParser.Failure.self) { try size("-1") }
        #expect(throws: HTTPResponseParser.Failure.self) { try size("1234567890abcdef0") }
    }
}
