import Testing
import SwitchyardCore
import SwitchyardProviders

@Suite struct GeminiAdapterTests {
    @Test func translatesRequest() throws {
        let (req, bytes) = try request(
            """
            {"model":"client-name","messages":[
              {"role":"system","content":"sys"},
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c9","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]},
              {"role":"tool","tool_call_id":"c9","content":"cold"}],
             "tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"}}}}}],
             "tool_choice":{"type":"function","function":{"name":"weather"}},
             "max_tokens":33,"temperature":0.5,"stop":["Z"],"seed":4,
             "response_format":{"type":"json_schema","json_schema":{"name":"o","schema":{"type":"object","additionalProperties":false}}},
             "stream":true}
            """
        )
        let out = try GeminiAdapter().makeRequest(req, originalBody: bytes, target: target(.gemini))
        #expect(out.url == "http://h:1/v1beta/models/up-model:streamGenerateContent?alt=sse")
        #expect(header(out, "x-goog-api-key") == "k")
        let body = try bodyJSON(out)
        #expect(body["systemInstruction"] == ["parts": [["text": "sys"]]])
        let contents = try #require(body["contents"]?.arrayValue)
        #expect(contents.map { $0["role"]?.stringValue } == ["user", "model", "user"])
        #expect(contents[1]["parts"]?.arrayValue?.first == ["functionCall": ["name": "weather", "args": ["city": "Oslo"]]])
        #expect(contents[2]["parts"]?.arrayValue?.first == ["functionResponse": ["name": "weather", "response": ["result": "cold"]]])
        let declaration = body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first
        #expect(declaration?["parameters"]?["additionalProperties"] == nil)
        #expect(body["toolConfig"] == ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": ["weather"]]])
        let generation = body["generationConfig"]
        #expect(generation?["maxOutputTokens"] == 33)
        #expect(generation?["stopSequences"] == ["Z"])
        #expect(generation?["seed"] == 4)
        #expect(generation?["responseMimeType"] == "application/json")
        #expect(generation?["responseSchema"] == ["type": "object"])
    }

    @Test func decodesResponse() throws {
        let (req, _) = try request(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        let body = Array(
            #"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Oslo"}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":3,"totalTokenCount":11},"modelVersion":"gemini-2","responseId":"r1"}"#.utf8
        )
        let response = try GeminiAdapter().decodeResponse(body, request: req, target: target(.gemini))
        #expect(response.toolCalls.first?.name == "weather")
        #expect(response.toolCalls.first?.arguments == #"{"city":"Oslo"}"#)
        #expect(response.finishReason == .toolCalls)
        #expect(response.usage == Usage(promptTokens: 8, completionTokens: 3))
        let limited = Array(#"{"candidates":[{"content":{"parts":[{"text":"abc"}]},"finishReason":"MAX_TOKENS"}]}"#.utf8)
        #expect(try GeminiAdapter().decodeResponse(limited, request: req, target: target(.gemini)).finishReason == .length)
    }

    @Test func decodesStream() throws {
        let stream =
            "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}]}\r\n\r\n"
            + "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":2,\"totalTokenCount\":7}}\r\n\r\n"
        for size in [1, 9, 4096] {
            let events = normalized(try decodeStream(GeminiStreamDecoder(), stream, chunk: size))
            #expect(events == [.textDelta("Hello"), .finish(.stop), .usage(Usage(promptTokens: 5, completionTokens: 2))])
        }
    }

    @Test func errorMessageFromBody() {
        let body = Array(#"{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}"#.utf8)
        #expect(GeminiAdapter().errorMessage(status: 400, body: body) == "API key not valid")
    }
}
