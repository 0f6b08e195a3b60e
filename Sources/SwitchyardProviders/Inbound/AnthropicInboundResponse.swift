import SwitchyardCore

/// Answers and errors in the shape Anthropic's Messages API gives them.
public enum AnthropicInboundResponse {
    /// A complete OpenAI chat completion as an Anthropic `message`.
    public static func message(fromOpenAI body: [UInt8], requestedModel: String) throws(GatewayError) -> JSONValue {
        let root = try parseUpstreamJSON(body)
        guard case .object(let choice)? = root["choices"]?.arrayValue?.first, case .object(let message)? = choice["message"] else {
            throw .badUpstreamBody("no choices[0].message")
        }
        var content: [JSONValue] = []
        if case .string(let text)? = message["content"], !text.isEmpty {
            content.append(["type": "text", "text": .string(text)])
        }
        for call in message["tool_calls"]?.arrayValue ?? [] {
            content.append(toolUse(id: call["id"]?.stringValue ?? "", name: call["function"]?["name"]?.stringValue ?? "", arguments: call["function"]?["arguments"]?.stringValue ?? "{}"))
        }
        let finish = choice["finish_reason"]?.stringValue.flatMap(FinishReason.init(rawValue:)) ?? .stop
        let usage = root["usage"].flatMap(OpenAIAdapter.decodeUsage) ?? Usage(promptTokens: 0, completionTokens: 0)
        var id = root["id"]?.stringValue ?? "msg_switchyard"
        if id.hasPrefix("chatcmpl-") { id = "msg_" + id.dropFirst("chatcmpl-".count) }
        return .object(
            JSONObject([
                ("id", .string(id)), ("type", "message"), ("role", "assistant"), ("model", .string(requestedModel)),
                ("content", .array(content)), ("stop_reason", .string(stopReason(finish))), ("stop_sequence", .null),
                ("usage", usageObject(usage)),
            ])
        )
    }

    static func toolUse(id: String, name: String, arguments: String) -> JSONValue {
        let input: JSONValue
        if case .object(let o)? = try? JSONParser.parse(arguments) { input = .object(o) } else { input = .object(JSONObject()) }
        return ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
    }

    static func stopReason(_ finish: FinishReason) -> String {
        switch finish {
        case .stop: return "end_turn"
        case .length: return "max_tokens"
        case .toolCalls: return "tool_use"
        case .contentFilter: return "refusal"
        }
    }

    static func usageObject(_ usage: Usage) -> JSONValue {
        let cached = min(usage.cachedTokens, usage.promptTokens)
        return .object(
            JSONObject([
                ("input_tokens", .int(usage.promptTokens - cached - usage.cacheCreationTokens > 0 ? usage.promptTokens - cached - usage.cacheCreationTokens : 0)),
                ("output_tokens", .int(usage.completionTokens)),
                ("cache_read_input_tokens", .int(cached)),
                ("cache_creation_input_tokens", .int(usage.cacheCreationTokens)),
            ])
        )
    }

    /// `{"type": "error", "error": {"type", "message"}}` with Anthropic's error types.
    public static func error(_ error: GatewayError) -> JSONValue {
        ["type": "error", "error": ["type": .string(errorType(status: error.status)), "message": .string(error.message)]]
    }

    public static func errorType(status: Int) -> String {
        switch status {
        case 400, 422: return "invalid_request_error"
        case 401: return "authentication_error"
        case 402: return "billing_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        case 504: return "timeout_error"
        default: return "api_error"
        }
    }
}

/// Turns the gateway's OpenAI SSE stream into Anthropic's event sequence:
/// `message_start`, then per content block `content_block_start`, `content_block_delta`…,
/// `content_block_stop`, then `message_delta` (stop reason and usage) and `message_stop`.
/// An in-stream error becomes an `error` event.
public struct AnthropicInboundStream: Sendable {
    private var decoder = OpenAIStreamDecoder()
    private let model: String
    private let id: String
    private let estimatedInputTokens: Int
    private var started = false
    private var openBlock: Int?
    private var openIsText = false
    private var nextBlock = 0
    private var blockForTool: [Int: Int] = [:]
    private var stopReason: FinishReason?
    private var usage: Usage?
    private var ended = false

    public init(model: String, id: String, estimatedInputTokens: Int) {
        self.model = model
        self.id = id
        self.estimatedInputTokens = estimatedInputTokens
    }

    /// Anthropic events for the next piece of the OpenAI stream.
    public mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        guard !ended else { return [] }
        var out: [UInt8] = []
        do {
            let events = try decoder.feed(bytes)
            for event in events { out += handle(event) }
        } catch {
            out += fail(error.message)
        }
        return out
    }

    /// The closing events once the OpenAI stream has ended.
    public mutating func finish() -> [UInt8] {
        guard !ended else { return [] }
        var out = startIfNeeded()
        do {
            for event in try decoder.finish() { out += handle(event) }
        } catch {
            return out + fail(error.message)
        }
        out += closeBlock()
        let usage = self.usage ?? Usage(promptTokens: estimatedInputTokens, completionTokens: 0)
        out += frame(
            "message_delta",
            [
                "type": "message_delta",
                "delta": ["stop_reason": .string(AnthropicInboundResponse.stopReason(stopReason ?? .stop)), "stop_sequence": .null],
                "usage": AnthropicInboundResponse.usageObject(usage),
            ])
        out += frame("message_stop", ["type": "message_stop"])
        ended = true
        return out
    }

    private mutating func handle(_ event: StreamEvent) -> [UInt8] {
        var out = startIfNeeded()
        switch event {
        case .textDelta(let text):
            if openBlock == nil || !openIsText {
                out += closeBlock()
                out += openBlockFrame(["type": "text", "text": ""], text: true)
            }
            out += frame("content_block_delta", ["type": "content_block_delta", "index": .int(openBlock!), "delta": ["type": "text_delta", "text": .string(text)]])
        case .toolCallStart(let index, let id, let name):
            out += closeBlock()
            out += openBlockFrame(["type": "tool_use", "id": .string(id), "name": .string(name), "input": .object(JSONObject())], text: false)
            blockForTool[index] = openBlock
        case .toolCallArguments(let index, let fragment):
            guard let block = blockForTool[index] else { break }
            out += frame(
                "content_block_delta",
                ["type": "content_block_delta", "index": .int(block), "delta": ["type": "input_json_delta", "partial_json": .string(fragment)]])
        case .finish(let reason):
            stopReason = reason
        case .usage(let u):
            usage = u
        }
        return out
    }

    private mutating func startIfNeeded() -> [UInt8] {
        guard !started else { return [] }
        started = true
        return frame(
            "message_start",
            [
                "type": "message_start",
                "message": [
                    "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": .array([]),
                    "stop_reason": .null, "stop_sequence": .null,
                    "usage": ["input_tokens": .int(estimatedInputTokens), "output_tokens": 0],
                ],
            ])
    }

    private mutating func openBlockFrame(_ block: JSONValue, text: Bool) -> [UInt8] {
        let index = nextBlock
        nextBlock += 1
        openBlock = index
        openIsText = text
        return frame("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": block])
    }

    private mutating func closeBlock() -> [UInt8] {
        guard let index = openBlock else { return [] }
        openBlock = nil
        return frame("content_block_stop", ["type": "content_block_stop", "index": .int(index)])
    }

    private mutating func fail(_ message: String) -> [UInt8] {
        ended = true
        return frame("error", ["type": "error", "error": ["type": "api_error", "message": .string(message)]])
    }

    private func frame(_ event: String, _ data: JSONValue) -> [UInt8] {
        Array("event: \(event)\ndata: ".utf8) + JSONWriter.bytes(data) + Array("\n\n".utf8)
    }
}
