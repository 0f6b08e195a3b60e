/// Encodes canonical answers as OpenAI Chat Completions objects, the shape every client
/// of the gateway receives whatever protocol the upstream spoke.
public enum OpenAIResponseEncoder {
    public static func usageJSON(_ usage: Usage) -> JSONValue {
        .object(
            JSONObject([
                ("prompt_tokens", .int(usage.promptTokens)),
                ("completion_tokens", .int(usage.completionTokens)),
                ("total_tokens", .int(usage.totalTokens)),
                ("prompt_tokens_details", .object(JSONObject([("cached_tokens", .int(usage.cachedTokens))]))),
                ("completion_tokens_details", .object(JSONObject([("reasoning_tokens", .int(usage.reasoningTokens))]))),
            ])
        )
    }

    static func toolCallsJSON(_ calls: [ToolCall]) -> JSONValue {
        .array(
            calls.map { call in
                .object(
                    JSONObject([
                        ("id", .string(call.id)),
                        ("type", "function"),
                        ("function", .object(JSONObject([("name", .string(call.name)), ("arguments", .string(call.arguments))]))),
                    ])
                )
            }
        )
    }

    public static func completion(_ response: ChatResponse) -> JSONValue {
        var message = JSONObject()
        message["role"] = "assistant"
        message["content"] = response.text.map(JSONValue.string) ?? .null
        if !response.toolCalls.isEmpty { message["tool_calls"] = toolCallsJSON(response.toolCalls) }
        message["refusal"] = .null
        let choice = JSONObject([
            ("index", 0),
            ("message", .object(message)),
            ("logprobs", .null),
            ("finish_reason", .string(response.finishReason.rawValue)),
        ])
        var root = JSONObject([
            ("id", .string(response.id)),
            ("object", "chat.completion"),
            ("created", .int(response.created)),
            ("model", .string(response.model)),
            ("choices", .array([.object(choice)])),
        ])
        if let usage = response.usage { root["usage"] = usageJSON(usage) }
        return .object(root)
    }
}

/// Turns canonical stream events into OpenAI `chat.completion.chunk` SSE frames.
///
/// It follows the sequence OpenAI clients expect: a first chunk carrying the assistant
/// role, content or tool-call deltas, a chunk with the finish reason, then — only when the
/// client asked with `stream_options.include_usage` — a chunk with empty `choices` and the
/// usage, and finally `data: [DONE]`.
public struct OpenAIChunkEncoder: Sendable {
    public let id: String
    public let model: String
    public let created: Int
    public let includeUsage: Bool
    private var sentRole = false
    private var finished = false
    private var pendingUsage: Usage?

    public init(id: String, model: String, created: Int, includeUsage: Bool) {
        self.id = id
        self.model = model
        self.created = created
        self.includeUsage = includeUsage
    }

    private func frame(delta: JSONObject, finish: FinishReason?) -> [UInt8] {
        var root = JSONObject([
            ("id", .string(id)),
            ("object", "chat.completion.chunk"),
            ("created", .int(created)),
            ("model", .string(model)),
            (
                "choices",
                .array([
                    .object(
                        JSONObject([
                            ("index", 0),
                            ("delta", .object(delta)),
                            ("logprobs", .null),
                            ("finish_reason", finish.map { .string($0.rawValue) } ?? .null),
                        ])
                    )
                ])
            ),
        ])
        if includeUsage { root["usage"] = .null }
        return SSE.dataFrame(JSONWriter.bytes(.object(root)))
    }

    /// Frames for one event; several when the role chunk must come first.
    public mutating func encode(_ event: StreamEvent) -> [UInt8] {
        var out: [UInt8] = []
        if !sentRole {
            sentRole = true
            out += frame(delta: JSONObject([("role", "assistant"), ("content", "")]), finish: nil)
        }
        switch event {
        case .textDelta(let text):
            if !text.isEmpty { out += frame(delta: JSONObject([("content", .string(text))]), finish: nil) }
        case .toolCallStart(let index, let callID, let name):
            let call = JSONObject([
                ("index", .int(index)),
                ("id", .string(callID)),
                ("type", "function"),
                ("function", .object(JSONObject([("name", .string(name)), ("arguments", "")]))),
            ])
            out += frame(delta: JSONObject([("tool_calls", .array([.object(call)]))]), finish: nil)
        case .toolCallArguments(let index, let fragment):
            let call = JSONObject([
                ("index", .int(index)),
                ("function", .object(JSONObject([("arguments", .string(fragment))]))),
            ])
            out += frame(delta: JSONObject([("tool_calls", .array([.object(call)]))]), finish: nil)
        case .finish(let reason):
            if !finished {
                finished = true
                out += frame(delta: JSONObject(), finish: reason)
            }
        case .usage(let usage):
            pendingUsage = usage
        }
        return out
    }

    /// The closing frames: the usage chunk (when requested and known) and `[DONE]`.
    public mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !sentRole { out += encode(.textDelta("")) }
        if !finished { out += encode(.finish(.stop)) }
        if includeUsage, let usage = pendingUsage {
            let root = JSONObject([
                ("id", .string(id)),
                ("object", "chat.completion.chunk"),
                ("created", .int(created)),
                ("model", .string(model)),
                ("choices", .array([])),
                ("usage", OpenAIResponseEncoder.usageJSON(usage)),
            ])
            out += SSE.dataFrame(JSONWriter.bytes(.object(root)))
        }
        out += SSE.done
        return out
    }

    /// An error frame for failures after the stream has started (the status line is gone by then).
    public static func errorFrame(_ error: GatewayError) -> [UInt8] {
        SSE.dataFrame(JSONWriter.bytes(error.openAIBody))
    }
}

/// Server-sent-events framing helpers shared by encoders.
public enum SSE {
    public static let done: [UInt8] = Array("data: [DONE]\n\n".utf8)

    public static func dataFrame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        out += "data: ".utf8
        out += payload
        out += "\n\n".utf8
        return out
    }

    public static func eventFrame(_ event: String, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = Array("event: \(event)\ndata: ".utf8)
        out += payload
        out += "\n\n".utf8
        return out
    }
}
