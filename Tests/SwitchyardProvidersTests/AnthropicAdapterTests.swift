import Testing
import SwitchyardCore
import SwitchyardProviders

@Suite struct AnthropicAdapterTests {
    @Test func translatesMessagesToolsAndOptions() throws {
        let (req, bytes) = try request(
            """
            {"model":"client-name","messages":[
              {"role":"system","content":"sys"},{"role":"developer","content":"dev"},
              {"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,QUJD"}}]},
              {"role":"assistant","content":"checking","tool_calls":[{"id":"t1","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
              {"role":"tool","tool_call_id":"t1","content":"sunny"},
              {"role":"user","content":"thanks"}],
             "tools":[{"type":"function","function":{"name":"weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "tool_choice":"required","parallel_tool_calls":false,"temperature":1.7,"stop":["X"],"user":"u1","stream":true}
            """
        )
        let out = try AnthropicAdapter().makeRequest(req, originalBody: bytes, target: target(.anthropic))
        #expect(out.url == "http://h:1/v1/messages")
        #expect(header(out, "x-api-key") == "k")
        #expect(header(out, "anthropic-version") == "2023-06-01")
        let body = try bodyJSON(out)
        #expect(body["model"] == "up-model")
        #expect(body["max_tokens"] == 1000)
        #expect(body["system"] == "sys\n\ndev")
        #expect(body["temperature"] == 1)
        #expect(body["stop_sequences"] == ["X"])
        #expect(body["stream"] == true)
        #expect(body["metadata"]?["user_id"] == "u1")
        #expect(body["tool_choice"] == ["type": "any", "disable_parallel_tool_use": true])
        #expect(body["tools"]?.arrayValue?.first?["input_schema"]?["type"] == "object")
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["user", "assistant", "user"])
        #expect(messages[0]["content"]?.arrayValue?[1]["source"] == ["type": "base64", "media_type": "image/jpeg", "data": "QUJD"])
        #expect(messages[1]["content"]?.arrayValue?[1] == ["type": "tool_use", "id": "t1", "name": "weather", "input": ["city": "Paris"]])
        let lastTurn = try #require(messages[2]["content"]?.arrayValue)
        #expect(lastTurn[0] == ["type": "tool_result", "tool_use_id": "t1", "content": "sunny"])
        #expect(lastTurn[1] == ["type": "text", "text": "thanks"])
    }

    @Test func jsonModeGoesIntoSystemPrompt() throws {
        let (req, bytes) = try request(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        let body = try bodyJSON(try AnthropicAdapter().makeRequest(req, originalBody: bytes, target: target(.anthropic)))
        #expect(body["system"]?.stringValue?.contains("JSON") == true)
    }

    @Test func decodesResponseWithToolUseAndCacheUsage() throws {
        let (req, _) = try request(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        let body = Array(
            #"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":4,"cache_creation_input_tokens":2}}"#.utf8
        )
        let response = try AnthropicAdapter().decodeResponse(body, request: req, target: target(.anthropic))
        #expect(response.text == "Let me check.")
        #expect(response.toolCalls == [ToolCall(id: "toolu_1", name: "weather", arguments: #"{"city":"Paris"}"#)])
        #expect(response.finishReason == .toolCalls)
        #expect(response.usage == Usage(promptTokens: 16, completionTokens: 5, cachedTokens: 4, cacheCreationTokens: 2))
    }

    static let stream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type":"ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"f","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":":1}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":7}}

        event: message_stop
        data: {"type":"message_stop"}


        """

    @Test func decodesEventSequenceWhateverTheChunking() throws {
        for size in [1, 3, 50, 100_000] {
            let events = normalized(try decodeStream(AnthropicStreamDecoder(), Self.stream, chunk: size))
            #expect(
                events == [
                    .textDelta("Hi there"), .toolCallStart(index: 0, id: "toolu_9", name: "f"),
                    .toolCallArguments(index: 0, fragment: "{\"a\":1}"), .finish(.toolCalls),
                    .usage(Usage(promptTokens: 12, completionTokens: 7)),
                ],
                "chunk size \(size)"
            )
        }
    }

    @Test func midStreamErrorThrows() {
        let text = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        do {
            _ = try decodeStream(AnthropicStreamDecoder(), text, chunk: 1000)
            Issue.record("no error")
        } catch let error as GatewayError {
            #expect(error.code == "overloaded_error")
            #expect(error.message == "Overloaded")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func streamWithoutMessageStopIsTruncated() {
        #expect(throws: GatewayError.self) {
            _ = try decodeStream(AnthropicStreamDecoder(), "event: ping\ndata: {\"type\":\"ping\"}\n\n", chunk: 10)
        }
    }
}
