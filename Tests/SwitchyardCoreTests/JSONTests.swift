import Testing
@testable import SwitchyardCore

@Suite struct JSONParserTests {
    @Test func parsesNestedDocumentPreservingOrderAndNumbers() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":[true,false,null,"x"],"n":12345678901234567890,"f":-1.5e3}"#)
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o.keys == ["b", "a", "n", "f"])
        #expect(o["n"] == .number("12345678901234567890"))
        #expect(o["f"]?.doubleValue == -1500)
        #expect(JSONWriter.string(value) == #"{"b":1,"a":[true,false,null,"x"],"n":12345678901234567890,"f":-1.5e3}"#)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["a\"b\\c\/d\n\t\u00e9\ud83d\ude00"]"#)
        #expect(value == .array([.string("a\"b\\c/d\n\té😀")]))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"abc", "{\"a\" 1}", "[1 2]", "\"\u{01}\"",
        "\"\\ud800\"", "\"\\x\"", "{} {}", "nul", "[\"\\u12\"]",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func rejectsExcessiveNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        let value = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value["a"] == .number("3"))
        #expect(value.objectValue?.count == 2)
    }

    @Test func writerEscapesControlCharactersAndRoundTrips() throws {
        let original: JSONValue = ["text": .string("line\nbreak \u{07} \"quoted\" ünï"), "list": [1, 2.5, nil, true]]
        let bytes = JSONWriter.bytes(original)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\\u0007"))
        #expect(try JSONParser.parse(bytes) == original)
    }

    @Test func parseErrorCarriesOffset() {
        do {
            _ = try JSONParser.parse(#"{"a": [1, 2,, 3]}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 12)
        }
    }
}

@Suite struct UsageScannerTests {
    func scan(_ text: String) -> String? {
        Array(text.utf8).withUnsafeBytes { raw in UsageScanner.usageObject(in: raw).map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func findsTheTopLevelUsageObject() {
        let body = #"{"id":"x","choices":[{"message":{"content":"the word \"usage\": {fake} here"}}],"usage": {"prompt_tokens":5,"completion_tokens_details":{"reasoning_tokens":2},"n":[1,{"a":"}"}]}}"#
        #expect(scan(body) == #"{"prompt_tokens":5,"completion_tokens_details":{"reasoning_tokens":2},"n":[1,{"a":"}"}]}"#)
        #expect(scan(#"{"usage":null}"#) == nil)
        #expect(scan(#"{"choices":[]}"#) == nil)
        #expect(scan(#"{"usage":{"prompt_tokens":1"#) == nil)
        #expect(scan("") == nil)
    }
}
