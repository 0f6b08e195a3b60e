import Testing
@testable import SwitchyardCore

@Suite struct SSEParserTests {
    static let stream = "event: message_start\ndata: {\"a\":1}\n\n: comment\r\ndata: line1\r\ndata:line2\r\n\r\nevent: ping\rdata: {}\r\rdata: [DONE]\n\n"
    static let expected = [
        SSEEvent(event: "message_start", data: "{\"a\":1}"),
        SSEEvent(event: nil, data: "line1\nline2"),
        SSEEvent(event: "ping", data: "{}"),
        SSEEvent(event: nil, data: "[DONE]"),
    ]

    @Test func parsesWholeStream() {
        var parser = SSEParser()
        #expect(parser.feed(Array(Self.stream.utf8)) == Self.expected)
    }

    @Test func sameEventsWhateverTheChunkBoundaries() {
        let bytes = Array(Self.stream.utf8)
        for split in 0...bytes.count {
            for second in split...min(bytes.count, split + 7) {
                var parser = SSEParser()
                var events = parser.feed(bytes[0..<split])
                events += parser.feed(bytes[split..<second])
                events += parser.feed(bytes[second...])
                #expect(events == Self.expected, "split at \(split)/\(second)")
            }
        }
    }

    @Test func byteByByte() {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for b in Self.stream.utf8 { events += parser.feed([b]) }
        #expect(events == Self.expected)
    }

    @Test func finishFlushesUnterminatedEvent() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: partial".utf8)).isEmpty)
        #expect(parser.finish() == [SSEEvent(data: "partial")])
    }
}
