import Testing
@testable import SwitchyardCore

@Suite struct OpenAIRequestDecoderTests {
    func decode(_ text: String) throws -> ChatRequest {
        try OpenAIRequestDecoder.decode(try JSONParser.parse(text))
    }

    @Test func decodesFullRequest() throws {
        let request = try decode(
            """
            {"model":"m","messages":[
              {"role":"developer","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA","detail":"low"}}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"x\\":1}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"42"}],
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"function","function":{"name":"f"}},
             "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}},
             "temperature":0.2,"top_p":0.9,"max_tokens":50,"max_completion_tokens":60,"stop":"END","seed":7,"user":"u",
             "metadata":{"k":"v"},"stream":true,"stream_options":{"include_usage":true},"vendor_extension":{"keep":1}}
            """
        )
        #expect(request.messages.map(\.role) == [.developer, .user, .assistant, .tool])
        #expect(request.messages[1].content == [.text("hi"), .image(url: "data:image/png;base64,AAA", detail: "low")])
        #expect(request.messages[2].toolCalls == [ToolCall(id: "c1", name: "f", arguments: "{\"x\":1}")])
        #expect(request.messages[3].toolCallID == "c1")
        #expect(request.toolChoice == .function("f"))
        #expect(request.responseFormat == .jsonSchema(name: "out", schema: ["type": "object"], strict: true))
        #expect(request.maxTokens == 60)
        #expect(request.stop == ["END"])
        #expect(request.seed == 7)
        #expect(request.stream && request.includeUsage)
        #expect(request.raw["vendor_extension"] == ["keep": 1])
    }

    static let invalid: [(String, String?)] = [
        (#"[]"#, nil),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model"),
        (#"{"model":"m"}"#, "messages"),
        (#"{"model":"m","messages":[]}"#, "messages"),
        (#"{"model":"m","messages":"hi"}"#, "messages"),
        (#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role"),
        (#"{"model":"m","messages":[{"role":"user"}]}"#, "messages[0].content"),
        (#"{"model":"m","messages":[{"role":"user","content":5}]}"#, "messages[0].content"),
        (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}"#, "temperature"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#, "stream_options"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}"#, "tools[0].function.name"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}"#, "response_format.type"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#, "stop"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidFieldsNamingTheParameter(_ body: String, _ param: String?) throws {
        do {
            _ = try decode(body)
            Issue.record("accepted \(body)")
        } catch let error as GatewayError {
            #expect(error.status == 400)
            #expect(error.type == "invalid_request_error")
            #expect(error.param == param)
        }
    }

    @Test func errorBodyHasOpenAIShape() {
        let body = GatewayError.modelNotFound("nope").openAIBody
        #expect(body["error"]?["type"] == "invalid_request_error")
        #expect(body["error"]?["code"] == "model_not_found")
        #expect(body["error"]?["param"] == "model")
        #expect(body["error"]?["message"]?.stringValue?.contains("nope") == true)
    }
}
