import SwitchyardCore

/// Clients of Anthropic's Messages API (`POST /v1/messages`, the official `anthropic`
/// SDKs) talk to the gateway in their own protocol: their request is rewritten into the
/// OpenAI shape the rest of the gateway speaks, validated by the same decoder, and the
/// answer is translated back (`AnthropicInboundResponse`, `AnthropicInboundStream`).
public enum AnthropicInboundRequest {
    /// The OpenAI-shaped body for an Anthropic Messages request.
    public static func openAIBody(_ json: JSONValue) throws(GatewayError) -> JSONObject {
        guard case .object(let root) = json else { throw .invalidRequest("The request body must be a JSON object.") }
        var out = JSONObject()
        guard case .string(let model)? = root["model"] else { throw .invalidRequest("model: Field required", param: "model") }
        out["model"] = .string(model)
        guard let maxTokens = root["max_tokens"]?.intValue else { throw .invalidRequest("max_tokens: Field required", param: "max_tokens") }
        guard maxTokens >= 1 else { throw .invalidRequest("max_tokens: must be at least 1", param: "max_tokens") }
        out["max_tokens"] = .int(maxTokens)
        var messages: [JSONValue] = []
        switch root["system"] {
        case nil, .null?: break
        case .string(let text)?: if !text.isEmpty { messages.append(["role": "system", "content": .string(text)]) }
        case .array(let blocks)?:
            let text = try blocks.map { block throws(GatewayError) -> String in
                guard block["type"]?.stringValue == "text", let t = block["text"]?.stringValue else {
                    throw .invalidRequest("system: only text blocks are supported", param: "system")
                }
                return t
            }.joined(separator: "\n")
            if !text.isEmpty { messages.append(["role": "system", "content": .string(text)]) }
        case let other?: throw .invalidRequest("system: expected a string or text blocks, got \(other.typeName)", param: "system")
        }
        guard case .array(let turns)? = root["messages"] else { throw .invalidRequest("messages: Field required", param: "messages") }
        if turns.isEmpty { throw .invalidRequest("messages: at least one message is required", param: "messages") }
        for (i, turn) in turns.enumerated() {
            messages += try translate(turn, index: i)
        }
        out["messages"] = .array(messages)
        if let t = root["temperature"], !t.isNull { out["temperature"] = t }
        if let p = root["top_p"], !p.isNull { out["top_p"] = p }
        if case .array(let stops)? = root["stop_sequences"], !stops.isEmpty { out["stop"] = .array(stops) }
        if case .string(let user)? = root["metadata"]?["user_id"] { out["user"] = .string(user) }
        if case .array(let tools)? = root["tools"], !tools.isEmpty {
            out["tools"] = .array(
                try tools.enumerated().map { (i, tool) throws(GatewayError) -> JSONValue in
                    guard case .string(let name)? = tool["name"] else { throw .invalidRequest("tools.\(i).name: Field required", param: "tools") }
                    var function = JSONObject([("name", .string(name))])
                    if case .string(let d)? = tool["description"] { function["description"] = .string(d) }
                    function["parameters"] = tool["input_schema"] ?? ["type": "object", "properties": .object(JSONObject())]
                    return ["type": "function", "function": .object(function)]
                })
        }
        if case .object(let choice)? = root["tool_choice"] {
            switch choice["type"]?.stringValue {
            case "auto": out["tool_choice"] = "auto"
            case "any": out["tool_choice"] = "required"
            case "none": out["tool_choice"] = "none"
            case "tool":
                guard case .string(let name)? = choice["name"] else { throw .invalidRequest("tool_choice.name: Field required", param: "tool_choice") }
                out["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            default: throw .invalidRequest("tool_choice.type: expected auto, any, tool or none", param: "tool_choice")
            }
            if choice["disable_parallel_tool_use"]?.boolValue == true { out["parallel_tool_calls"] = false }
        }
        if root["stream"]?.boolValue == true {
            out["stream"] = true
            // The message_delta event carries usage, so the gateway always asks for it.
            out["stream_options"] = ["include_usage": true]
        }
        return out
    }

    /// One Anthropic turn becomes one or more OpenAI messages: tool results are messages
    /// of their own (role `tool`), before the rest of the user's turn.
    static func translate(_ turn: JSONValue, index i: Int) throws(GatewayError) -> [JSONValue] {
        guard case .string(let role)? = turn["role"], role == "user" || role == "assistant" else {
            throw .invalidRequest("messages.\(i).role: expected 'user' or 'assistant'", param: "messages")
        }
        switch turn["content"] {
        case .string(let text)?:
            return [["role": .string(role), "content": .string(text)]]
        case .array(let blocks)?:
            var out: [JSONValue] = []
            var parts: [JSONValue] = []
            var texts: [String] = []
            var calls: [JSONValue] = []
            for (j, block) in blocks.enumerated() {
                let path = "messages.\(i).content.\(j)"
                switch block["type"]?.stringValue {
                case "text":
                    let text = block["text"]?.stringValue ?? ""
                    texts.append(text)
                    parts.append(["type": "text", "text": .string(text)])
                case "image" where role == "user":
                    guard case .object(let source)? = block["source"] else { throw .invalidRequest("\(path).source: Field required", param: "messages") }
                    let url: String
                    switch source["type"]?.stringValue {
                    case "base64":
                        url = "data:\(source["media_type"]?.stringValue ?? "image/png");base64,\(source["data"]?.stringValue ?? "")"
                    case "url":
                        url = source["url"]?.stringValue ?? ""
                    default: throw .invalidRequest("\(path).source.type: expected base64 or url", param: "messages")
                    }
                    parts.append(["type": "image_url", "image_url": ["url": .string(url)]])
                case "tool_use" where role == "assistant":
                    guard case .string(let id)? = block["id"], case .string(let name)? = block["name"] else {
                        throw .invalidRequest("\(path): tool_use blocks need id and name", param: "messages")
                    }
                    calls.append([
                        "id": .string(id), "type": "function",
                        "function": ["name": .string(name), "arguments": .string(JSONWriter.string(block["input"] ?? .object(JSONObject())))],
                    ])
                case "tool_result" where role == "user":
                    guard case .string(let id)? = block["tool_use_id"] else { throw .invalidRequest("\(path).tool_use_id: Field required", param: "messages") }
                    var content: String
                    switch block["content"] {
                    case .string(let s)?: content = s
                    case .array(let inner)?: content = inner.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
                    default: content = ""
                    }
                    if block["is_error"]?.boolValue == true { content = "Error: " + content }
                    out.append(["role": "tool", "tool_call_id": .string(id), "content": .string(content)])
                case "thinking", "redacted_thinking":
                    continue
                case let type:
                    throw .invalidRequest("\(path).type: '\(type ?? "missing")' is not supported in a \(role) turn", param: "messages")
                }
            }
            if role == "assistant" {
                var message = JSONObject([("role", "assistant")])
                message["content"] = texts.isEmpty ? .null : .string(texts.joined())
                if !calls.isEmpty { message["tool_calls"] = .array(calls) }
                if !texts.isEmpty || !calls.isEmpty { out.append(.object(message)) }
            } else if !parts.isEmpty {
                out.append(["role": "user", "content": .array(parts)])
            }
            return out
        default:
            throw .invalidRequest("messages.\(i).content: expected a string or an array of blocks", param: "messages")
        }
    }
}
