import SwitchyardCore

/// Anthropic's Messages API (`POST /v1/messages`).
///
/// OpenAI system and developer messages become the `system` prompt, tool results become
/// `tool_result` blocks inside user turns, and consecutive turns of one role are merged
/// because Anthropic requires user and assistant turns to alternate. Anthropic has no
/// `response_format`; JSON modes are asked for in the system prompt instead.
public struct AnthropicAdapter: ProviderAdapter {
    public init() {}

    public var speaksOpenAI: Bool { false }

    /// Used when neither the request nor the model config sets a limit; Anthropic requires one.
    public static let defaultMaxTokens = 4096

    public func makeRequest(_ request: ChatRequest, originalBody: [UInt8], target: UpstreamTarget) throws(GatewayError) -> UpstreamHTTPRequest {
        var headers: [(String, String)] = [
            ("content-type", "application/json"),
            ("anthropic-version", target.model.anthropicVersion),
        ]
        if let key = target.apiKey { headers.append(("x-api-key", key)) }
        if request.stream { headers.append(("accept", "text/event-stream")) }
        headers += target.model.headers
        let body = try encodeBody(request, target: target)
        return UpstreamHTTPRequest(url: target.deployment.baseURL + "/v1/messages", headers: headers, body: JSONWriter.bytes(.object(body)))
    }

    func encodeBody(_ request: ChatRequest, target: UpstreamTarget) throws(GatewayError) -> JSONObject {
        var systemParts: [String] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        for message in request.messages {
            switch message.role {
            case .system, .developer:
                systemParts.append(message.text)
            case .user:
                append("user", try message.content.map(Self.block))
            case .assistant:
                var blocks: [JSONValue] = []
                let text = message.text
                if !text.isEmpty { blocks.append(.object(JSONObject([("type", "text"), ("text", .string(text))]))) }
                for call in message.toolCalls {
                    blocks.append(
                        .object(JSONObject([("type", "tool_use"), ("id", .string(call.id)), ("name", .string(call.name)), ("input", Self.argumentsObject(call.arguments))]))
                    )
                }
                append("assistant", blocks)
            case .tool:
                let result = JSONObject([
                    ("type", "tool_result"),
                    ("tool_use_id", .string(message.toolCallID ?? "")),
                    ("content", .string(message.text)),
                ])
                append("user", [.object(result)])
            }
        }
        switch request.responseFormat {
        case .jsonObject?:
            systemParts.append("Respond with a single valid JSON object and nothing else.")
        case .jsonSchema(let name, let schema, _)?:
            let schemaText = schema.map(JSONWriter.string) ?? "{}"
            systemParts.append("Respond with a single valid JSON object named \(name) that conforms to this JSON Schema, and nothing else: \(schemaText)")
        case .text?, nil:
            break
        }
        var body = JSONObject()
        body["model"] = .string(target.model.upstreamModel)
        body["max_tokens"] = .int(request.maxTokens ?? target.model.maxOutputTokens ?? Self.defaultMaxTokens)
        let system = systemParts.filter { !$0.isEmpty }.joined(separator: "\n\n")
        if !system.isEmpty { body["system"] = .string(system) }
        body["messages"] = .array(turns.map { .object(JSONObject([("role", .string($0.role)), ("content", .array($0.blocks))])) })
        if let t = request.temperature { body["temperature"] = .double(min(t, 1)) }
        if let p = request.topP { body["top_p"] = .double(p) }
        if !request.stop.isEmpty { body["stop_sequences"] = .array(request.stop.map(JSONValue.string)) }
        if !request.tools.isEmpty && request.toolChoice != ToolChoice.none {
            body["tools"] = .array(
                request.tools.map { tool in
                    var t = JSONObject([("name", .string(tool.name))])
                    if let d = tool.description { t["description"] = .string(d) }
                    t["input_schema"] = tool.parameters ?? .object(JSONObject([("type", "object"), ("properties", .object(JSONObject()))]))
                    return .object(t)
                }
            )
            var choice: JSONObject?
            switch request.toolChoice {
            case .auto?: choice = JSONObject([("type", "auto")])
            case .required?: choice = JSONObject([("type", "any")])
            case .function(let name)?: choice = JSONObject([("type", "tool"), ("name", .string(name))])
            case .none?, nil: choice = nil
            }
            if request.parallelToolCalls == false {
                choice = choice ?? JSONObject([("type", "auto")])
                choice?["disable_parallel_tool_use"] = true
            }
            if let choice { body["tool_choice"] = .object(choice) }
        }
        if let user = request.user { body["metadata"] = .object(JSONObject([("user_id", .string(user))])) }
        if request.stream { body["stream"] = true }
        return body
    }

    static func block(_ part: ContentPart) throws(GatewayError) -> JSONValue {
        switch part {
        case .text(let t):
            return .object(JSONObject([("type", "text"), ("text", .string(t))]))
        case .image(let url, _):
            if let (mediaType, data) = parseDataURL(url) {
                return .object(JSONObject([("type", "image"), ("source", .object(JSONObject([("type", "base64"), ("media_type", .string(mediaType)), ("data", .string(data))])))]))
            }
            return .object(JSONObject([("type", "image"), ("source", .object(JSONObject([("type", "url"), ("url", .string(url))])))]))
        case .other(let raw):
            let type = raw["type"]?.stringValue ?? "unknown"
            throw .invalidRequest("Content parts of type '\(type)' cannot be sent to an Anthropic model.", param: "messages")
        }
    }

    /// Tool-call arguments arrive as JSON text; Anthropic wants an object.
    static func argumentsObject(_ text: String) -> JSONValue {
        if case .object(let o)? = try? JSONParser.parse(text) { return .object(o) }
        return .object(JSONObject())
    }

    static func finishReason(_ stopReason: String?) -> FinishReason {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": return .length
        case "tool_use": return .toolCalls
        case "refusal": return .contentFilter
        default: return .stop
        }
    }

    static func usage(_ value: JSONValue?) -> Usage? {
        guard case .object(let u)? = value else { return nil }
        let input = u["input_tokens"]?.intValue ?? 0
        let cacheRead = u["cache_read_input_tokens"]?.intValue ?? 0
        let cacheWrite = u["cache_creation_input_tokens"]?.intValue ?? 0
        return Usage(
            promptTokens: input + cacheRead + cacheWrite, completionTokens: u["output_tokens"]?.intValue ?? 0,
            cachedTokens: cacheRead, cacheCreationTokens: cacheWrite
        )
    }

    public func decodeResponse(_ body: [UInt8], request: ChatRequest, target: UpstreamTarget) throws(GatewayError) -> ChatResponse {
        let root = try parseUpstreamJSON(body)
        guard case .array(let content)? = root["content"] else { throw .badUpstreamBody("no 'content' array") }
        var text = ""
        var calls: [ToolCall] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                calls.append(
                    ToolCall(
                        id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "",
                        arguments: JSONWriter.string(block["input"] ?? .object(JSONObject()))
                    )
                )
            default: continue
            }
        }
        return ChatResponse(
            id: root["id"]?.stringValue ?? "msg",
            model: root["model"]?.stringValue ?? target.model.upstreamModel,
            created: 0,
            text: text.isEmpty && !calls.isEmpty ? nil : text,
            toolCalls: calls,
            finishReason: Self.finishReason(root["stop_reason"]?.stringValue),
            usage: Self.usage(root["usage"])
        )
    }

    public func makeStreamDecoder() -> any UpstreamStreamDecoder { AnthropicStreamDecoder() }

    public func errorMessage(status: Int, body: [UInt8]) -> String? {
        guard let root = try? parseUpstreamJSON(body) else { return nil }
        return root["error"]?["message"]?.stringValue
    }
}

/// Reads Anthropic's event sequence (`message_start`, `content_block_start/delta/stop`,
/// `message_delta`, `message_stop`, `ping`, `error`) into canonical events.
public struct AnthropicStreamDecoder: UpstreamStreamDecoder {
    private var parser = SSEParser()
    private var usage = Usage(promptTokens: 0, completionTokens: 0)
    /// Anthropic numbers all content blocks; OpenAI numbers tool calls only.
    private var toolIndexByBlock: [Int: Int] = [:]
    private var stopped = false

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) throws(GatewayError) -> [StreamEvent] {
        var events: [StreamEvent] = []
        for event in parser.feed(bytes) {
            guard case .object(let payload)? = try? JSONParser.parse(event.data) else { continue }
            let type = payload["type"]?.stringValue ?? event.event ?? ""
            switch type {
            case "message_start":
                if let u = AnthropicAdapter.usage(payload["message"]?["usage"]) { usage = u }
            case "content_block_start":
                if case .object(let block)? = payload["content_block"], block["type"]?.stringValue == "tool_use" {
                    let blockIndex = payload["index"]?.intValue ?? 0
                    let toolIndex = toolIndexByBlock.count
                    toolIndexByBlock[blockIndex] = toolIndex
                    events.append(.toolCallStart(index: toolIndex, id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? ""))
                } else if case .string(let text)? = payload["content_block"]?["text"], !text.isEmpty {
                    events.append(.textDelta(text))
                }
            case "content_block_delta":
                guard case .object(let delta)? = payload["delta"] else { continue }
                switch delta["type"]?.stringValue {
                case "text_delta":
                    if case .string(let text)? = delta["text"] { events.append(.textDelta(text)) }
                case "input_json_delta":
                    let blockIndex = payload["index"]?.intValue ?? 0
                    if case .string(let fragment)? = delta["partial_json"], !fragment.isEmpty, let toolIndex = toolIndexByBlock[blockIndex] {
                        events.append(.toolCallArguments(index: toolIndex, fragment: fragment))
                    }
                default: continue
                }
            case "message_delta":
                if case .object(let u)? = payload["usage"] {
                    if let out = u["output_tokens"]?.intValue { usage.completionTokens = out }
                    if let input = u["input_tokens"]?.intValue {
                        usage.promptTokens = input + usage.cachedTokens + usage.cacheCreationTokens
                    }
                }
                if case .string(let reason)? = payload["delta"]?["stop_reason"] {
                    events.append(.finish(AnthropicAdapter.finishReason(reason)))
                }
            case "message_stop":
                stopped = true
                events.append(.usage(usage))
            case "error":
                let kind = payload["error"]?["type"]?.stringValue ?? "api_error"
                throw GatewayError(
                    status: kind == "overloaded_error" ? 503 : 502, type: "upstream_error", code: kind,
                    message: payload["error"]?["message"]?.stringValue ?? "The upstream reported an error mid-stream."
                )
            default:
                continue
            }
        }
        return events
    }

    public mutating func finish() throws(GatewayError) -> [StreamEvent] {
        _ = parser.finish()
        if !stopped {
            throw GatewayError(status: 502, type: "upstream_error", code: "stream_truncated", message: "The upstream closed the stream before message_stop.")
        }
        return []
    }
}
