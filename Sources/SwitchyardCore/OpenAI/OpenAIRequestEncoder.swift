/// Encodes canonical messages back into OpenAI's request shape. Used when the gateway
/// had to change message content (redaction), so the client's bytes can't be relayed.
public enum OpenAIRequestEncoder {
    public static func message(_ m: ChatMessage) -> JSONValue {
        var o = JSONObject([("role", .string(m.role.rawValue))])
        if m.contentWasString, m.content.count == 1, case .text(let t) = m.content[0] {
            o["content"] = .string(t)
        } else if m.content.isEmpty {
            o["content"] = .null
        } else {
            o["content"] = .array(m.content.map(part))
        }
        if let name = m.name { o["name"] = .string(name) }
        if let id = m.toolCallID { o["tool_call_id"] = .string(id) }
        if !m.toolCalls.isEmpty {
            o["tool_calls"] = .array(
                m.toolCalls.map { call in
                    .object(
                        JSONObject([
                            ("id", .string(call.id)), ("type", "function"),
                            ("function", .object(JSONObject([("name", .string(call.name)), ("arguments", .string(call.arguments))]))),
                        ])
                    )
                }
            )
        }
        return .object(o)
    }

    static func part(_ p: ContentPart) -> JSONValue {
        switch p {
        case .text(let t): return .object(JSONObject([("type", "text"), ("text", .string(t))]))
        case .image(let url, let detail):
            var image = JSONObject([("url", .string(url))])
            if let detail { image["detail"] = .string(detail) }
            return .object(JSONObject([("type", "image_url"), ("image_url", .object(image))]))
        case .other(let raw): return raw
        }
    }
}
