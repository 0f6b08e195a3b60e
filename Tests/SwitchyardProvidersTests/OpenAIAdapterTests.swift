import Testing
import SwitchyardCore
import SwitchyardProviders

@Suite struct OpenAIAdapterTests {
    @Test func relaysOriginalBytesWhenModelNameMatches() throws {
        let json = #"{"model":"up-model","messages":[{"role":"user","content":"hi"}],  "x_unknown":{"a":[1,2]}}"#
        let (req, bytes) = try request(json)
        let out = try OpenAIAdapter().makeRequest(req, originalBody: bytes, target: target(.openai))
        #expect(out.body == bytes)
        #expect(out.url == "http://h:1/chat/completions")
        #expect(header(out, "authorization") == "Bearer k")
    }

    @Test func rewritesOnlyTheModelKeepingUnknownFields() throws {
        let (req, bytes) = try request(#"{"model":"client-name","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2]},"seed":123456789012345678}"#)
        let out = try OpenAIAdapter().makeRequest(req, originalBody: bytes, target: target(.openai))
        let body = try bodyJSON(out)
        #expect(body["model"] == "up-model")
        #expect(body["x_unknown"] == ["a": [1, 2]])
        #expect(body["seed"] == .number("123456789012345678"))
    }

    @Test func decodesStreamWithToolCallsAndUsage() throws {
        let stream = """
            data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

            data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]},"finish_reason":null}]}

            data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":"}}]},"finish_reason":null}]}

            data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":null}]}

            data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

            data: {"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}

            data: [DONE]


            """
        for size in [1, 7, 64, 10_000] {
            let events = normalized(try decodeStream(OpenAIStreamDecoder(), stream, chunk: size))
            #expect(
                events == [
                    .toolCallStart(index: 0, id: "call_1", name: "get"), .toolCallArguments(index: 0, fragment: "{\"a\":1}"),
                    .finish(.toolCalls), .usage(Usage(promptTokens: 9, completionTokens: 4)),
                ]
            )
        }
    }

    @Test func truncatedStreamIsAnError() {
        #expect(throws: GatewayError.self) {
            _ = try decodeStream(OpenAIStreamDecoder(), "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", chunk: 100)
        }
    }

    @Test func errorMessageFromBody() {
        let body = Array(#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#.utf8)
        #expect(OpenAIAdapter().errorMessage(status: 429, body: body) == "Rate limit reached")
    }
}

@Suite struct OpenAIChunkEncoderTests {
    @Test func producesOpenAISequenceWithUsageOnlyWhenAsked() throws {
        for includeUsage in [false, true] {
            var encoder = OpenAIChunkEncoder(id: "chatcmpl-1", model: "m", created: 1, includeUsage: includeUsage)
            var bytes: [UInt8] = []
            for e: StreamEvent in [.textDelta("Hel"), .textDelta("lo"), .finish(.stop), .usage(Usage(promptTokens: 3, completionTokens: 2))] {
                bytes += encoder.encode(e)
            }
            bytes += encoder.finish()
            var parser = SSEParser()
            let events = parser.feed(bytes)
            #expect(events.last?.data == "[DONE]")
            let chunks = try events.dropLast().map { try JSONParser.parse($0.data) }
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "Hello")
            let usageChunks = chunks.filter { $0["usage"]?.objectValue != nil }
            #expect(usageChunks.count == (includeUsage ? 1 : 0))
            if includeUsage {
                #expect(usageChunks[0]["choices"] == .array([]))
                #expect(usageChunks[0]["usage"]?["total_tokens"] == 5)
            }
            #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
        }
    }
}
