import Testing
@testable import SwitchyardCore
@testable import SwitchyardProviders

/// The Anthropic Messages edge: requests become OpenAI-shaped bodies the gateway's own
/// decoder accepts, answers and streams go back in Anthropic's shapes.
@Suite struct AnthropicInboundTests {
    func translate(_ text: String) throws -> JSONObject {
        try AnthropicInboundRequest.openAIBody(try JSONParser.parse(Array(text.utf8)))
    }

    @Test func requestBecomesOpenAIShaped() throws {
        let body = try translate(
            #"""
            {"model":"m","max_tokens":64,"system":[{"type":"text","text":"Be brief."}],"stream":true,
             "tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[
               {"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"QUJD"}}]},
               {"role":"assistant","content":[{"type":"text","text":"calling"},{"type":"tool_use","id":"tu_1","name":"f","input":{"a":1}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":[{"type":"text","text":"42"}],"is_error":true},{"type":"text","text":"and?"}]}
             ]}
            """#)
        let request = try OpenAIRequestDecoder.decode(.object(body))
        #expect(request.maxTokens == 64)
        #expect(request.stream && request.includeUsage)
        #expect(request.toolChoice == .required && request.parallelToolCalls == false)
        #expect(request.messages.map(\.role) == [.system, .user, .assistant, .tool, .user])
        #expect(request.messages[0].text == "Be brief.")
        #expect(request.messages[1].content[1] == .image(url: "data:image/jpeg;base64,QUJD", detail: nil))
        #expect(request.messages[2].toolCalls == [ToolCall(id: "tu_1", name: "f", arguments: #"{"a":1}"#)])
        #expect(request.messages[3].toolCallID == "tu_1" && request.messages[3].text == "Error: 42")
        #expect(request.messages[4].text == "and?")
    }

    @Test func invalidRequestsName() {
        #expect(throws: GatewayError.self) { try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#) }
        #expect(throws: GatewayError.self) { try translate(#"{"model":"m","max_tokens":5,"messages":[]}"#) }
        #expect(throws: GatewayError.self) { try translate(#"{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#) }
        #expect(throws: GatewayError.self) {
            try translate(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"b","input":{}}]}]}"#)
        }
    }

    @Test func completionBecomesMessage() throws {
        let openAI = #"{"id":"chatcmpl-abc","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":2}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":3}}}"#
        let message = try AnthropicInboundResponse.message(fromOpenAI: Array(openAI.utf8), requestedModel: "auto")
        #expect(message["id"]?.stringValue == "msg_abc")
        #expect(message["model"]?.stringValue == "auto")
        #expect(message["stop_reason"]?.stringValue == "tool_use")
        #expect(message["content"]?.arrayValue?.count == 2)
        #expect(message["content"]?.arrayValue?[1]["input"]?["x"]?.intValue == 2)
        #expect(message["usage"]?["input_tokens"]?.intValue == 7)
        #expect(message["usage"]?["cache_read_input_tokens"]?.intValue == 3)
        #expect(message["usage"]?["output_tokens"]?.intValue == 4)
        #expect(AnthropicInboundResponse.error(GatewayError(status: 429, type: "x", message: "slow"))["error"]?["type"]?.stringValue == "rate_limit_error")
    }

    @Test func streamBecomesEventSequence() throws {
        var stream = AnthropicInboundStream(model: "auto", id: "msg_1", estimatedInputTokens: 9)
        let openAI =
            #"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"He"}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"content":"y"}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":""}}]}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"# + "\n\n"
            + #"data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":5}}"# + "\n\n" + "data: [DONE]\n\n"
        var out = stream.feed(Array(openAI.utf8))
        out += stream.finish()
        var parser = SSEParser()
        let events = parser.feed(out)
        #expect(
            events.map { $0.event ?? "" } == [
                "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
            ])
        let start = try JSONParser.parse(Array(events[0].data.utf8))
        #expect(start["message"]?["usage"]?["input_tokens"]?.intValue == 9)
        let tool = try JSONParser.parse(Array(events[5].data.utf8))
        #expect(tool["index"]?.intValue == 1 && tool["content_block"]?["name"]?.stringValue == "f")
        let delta = try JSONParser.parse(Array(events[8].data.utf8))
        #expect(delta["delta"]?["stop_reason"]?.stringValue == "tool_use")
        #expect(delta["usage"]?["input_tokens"]?.intValue == 11 && delta["usage"]?["output_tokens"]?.intValue == 5)
        #expect(stream.finish().isEmpty)
    }

    @Test func midStreamErrorBecomesErrorEvent() {
        var stream = AnthropicInboundStream(model: "m", id: "msg_2", estimatedInputTokens: 1)
        let out = stream.feed(Array((#"data: {"error":{"message":"upstream died","type":"upstream_error"}}"# + "\n\n").utf8))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("event: error") && text.contains("upstream died"))
        #expect(stream.finish().isEmpty)
    }
}
