/// Reads an OpenAI Chat Completions request body into the canonical `ChatRequest`,
/// validating each field the gateway relies on.
///
/// Validation errors name the offending parameter the way OpenAI does (`messages[2].role`),
/// so SDK users see where their request went wrong.
public enum OpenAIRequestDecoder {
    public static func decode(_ body: JSONValue) throws(GatewayError) -> ChatRequest {
        guard case .object(let root) = body else {
            throw .invalidRequest("The request body must be a JSON object, got \(body.typeName).")
        }
        guard let modelValue = root["model"] else { throw .invalidRequest("Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter") }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model")
        }
        guard let messagesValue = root["messages"] else {
            throw .invalidRequest("Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let rawMessages) = messagesValue else {
            throw .invalidRequest("'messages' must be an array, got \(messagesValue.typeName).", param: "messages")
        }
        if rawMessages.isEmpty {
            throw .invalidRequest("'messages' must contain at least one message.", param: "messages")
        }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(rawMessages.count)
        for (i, raw) in rawMessages.enumerated() {
            messages.append(try decodeMessage(raw, path: "messages[\(i)]"))
        }
        var request = ChatRequest(model: model, messages: messages, raw: root)
        if let tools = root["tools"], !tools.isNull { request.tools = try decodeTools(tools) }
        if let choice = root["tool_choice"], !choice.isNull { request.toolChoice = try decodeToolChoice(choice) }
        request.parallelToolCalls = try optionalBool(root, "parallel_tool_calls")
        if let format = root["response_format"], !format.isNull { request.responseFormat = try decodeResponseFormat(format) }
        request.temperature = try optionalNumber(root, "temperature", range: 0...2)
        request.topP = try optionalNumber(root, "top_p", range: 0...1)
        let maxTokens = try optionalInt(root, "max_tokens", minimum: 1)
        let maxCompletion = try optionalInt(root, "max_completion_tokens", minimum: 1)
        request.maxTokens = maxCompletion ?? maxTokens
        if let stop = root["stop"], !stop.isNull {
            switch stop {
            case .string(let s): request.stop = [s]
            case .array(let items):
                request.stop = try items.enumerated().map { (i, item) throws(GatewayError) -> String in
                    guard case .string(let s) = item else { throw .invalidRequest("'stop[\(i)]' must be a string.", param: "stop") }
                    return s
                }
                if request.stop.count > 4 { throw .invalidRequest("'stop' accepts at most 4 sequences.", param: "stop") }
            default: throw .invalidRequest("'stop' must be a string or an array of strings.", param: "stop")
            }
        }
        if let seed = root["seed"], !seed.isNull {
            guard let value = seed.intValue else { throw .invalidRequest("'seed' must be an integer.", param: "seed") }
            request.seed = value
        }
        if let user = root["user"], !user.isNull {
            guard case .string(let s) = user else { throw .invalidRequest("'user' must be a string.", param: "user") }
            request.user = s
        }
        if let metadata = root["metadata"], !metadata.isNull {
            guard case .object(let o) = metadata else { throw .invalidRequest("'metadata' must be an object.", param: "metadata") }
            request.metadata = o
        }
        request.stream = try optionalBool(root, "stream") ?? false
        if let options = root["stream_options"], !options.isNull {
            guard case .object(let o) = options else {
                throw .invalidRequest("'stream_options' must be an object.", param: "stream_options")
            }
            if !request.stream {
                throw .invalidRequest("'stream_options' is only allowed when 'stream' is true.", param: "stream_options")
            }
            request.includeUsage = try optionalBool(o, "include_usage", path: "stream_options.include_usage") ?? false
        }
        _ = try optionalInt(root, "n", minimum: 1)
        return request
    }

    static func decodeMessage(_ raw: JSONValue, path: String) throws(GatewayError) -> ChatMessage {
        guard case .object(let o) = raw else { throw .invalidRequest("'\(path)' must be an object.", param: path) }
        guard case .string(let roleName)? = o["role"] else {
            throw .invalidRequest("Missing or invalid '\(path).role'.", param: "\(path).role")
        }
        guard let role = ChatRole(rawValue: roleName) else {
            throw .invalidRequest(
                "Invalid value '\(roleName)' for '\(path).role': expected one of system, developer, user, assistant, tool.",
                param: "\(path).role"
            )
        }
        var message = ChatMessage(role: role, content: [])
        switch o["content"] {
        case nil, .null?:
            if role != .assistant {
                throw .invalidRequest("'\(path).content' is required for \(roleName) messages.", param: "\(path).content")
            }
        case .string(let s)?:
            message.content = [.text(s)]
            message.contentWasString = true
        case .array(let parts)?:
            for (j, part) in parts.enumerated() {
                message.content.append(try decodePart(part, path: "\(path).content[\(j)]"))
            }
        case let other?:
            throw .invalidRequest("'\(path).content' must be a string or an array, got \(other.typeName).", param: "\(path).content")
        }
        if case .string(let name)? = o["name"] { message.name = name }
        if role == .tool {
            guard case .string(let id)? = o["tool_call_id"] else {
                throw .invalidRequest("'\(path).tool_call_id' is required for tool messages.", param: "\(path).tool_call_id")
            }
            message.toolCallID = id
        }
        if role == .assistant, let calls = o["tool_calls"], !calls.isNull {
            guard case .array(let items) = calls else {
                throw .invalidRequest("'\(path).tool_calls' must be an array.", param: "\(path).tool_calls")
            }
            for (j, item) in items.enumerated() {
                let p = "\(path).tool_calls[\(j)]"
                guard case .string(let id)? = item["id"], case .object(let fn)? = item["function"],
                    case .string(let name)? = fn["name"]
                else { throw .invalidRequest("'\(p)' must have 'id' and 'function.name'.", param: p) }
                let arguments: String
                switch fn["arguments"] {
                case .string(let s)?: arguments = s
                case nil, .null?: arguments = "{}"
                case let other?: arguments = JSONWriter.string(other)
                }
                message.toolCalls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
        }
        return message
    }

    static func decodePart(_ raw: JSONValue, path: String) throws(GatewayError) -> ContentPart {
        guard case .object(let o) = raw, case .string(let type)? = o["type"] else {
            throw .invalidRequest("'\(path)' must be an object with a 'type'.", param: path)
        }
        switch type {
        case "text":
            guard case .string(let t)? = o["text"] else { throw .invalidRequest("'\(path).text' must be a string.", param: "\(path).text") }
            return .text(t)
        case "image_url":
            guard case .object(let image)? = o["image_url"], case .string(let url)? = image["url"] else {
                throw .invalidRequest("'\(path).image_url.url' must be a string.", param: "\(path).image_url")
            }
            return .image(url: url, detail: image["detail"]?.stringValue)
        default:
            return .other(raw)
        }
    }

    static func decodeTools(_ raw: JSONValue) throws(GatewayError) -> [ToolDefinition] {
        guard case .array(let items) = raw else { throw .invalidRequest("'tools' must be an array.", param: "tools") }
        var tools: [ToolDefinition] = []
        for (i, item) in items.enumerated() {
            let p = "tools[\(i)]"
            guard case .object(let o) = item else { throw .invalidRequest("'\(p)' must be an object.", param: p) }
            guard case .string("function")? = o["type"] else {
                throw .invalidRequest("'\(p).type' must be 'function'.", param: "\(p).type")
            }
            guard case .object(let fn)? = o["function"], case .string(let name)? = fn["name"], !name.isEmpty else {
                throw .invalidRequest("'\(p).function.name' must be a non-empty string.", param: "\(p).function.name")
            }
            let parameters = fn["parameters"]
            if let parameters, !parameters.isNull, parameters.objectValue == nil {
                throw .invalidRequest("'\(p).function.parameters' must be a JSON Schema object.", param: "\(p).function.parameters")
            }
            tools.append(
                ToolDefinition(
                    name: name, description: fn["description"]?.stringValue,
                    parameters: parameters?.isNull == true ? nil : parameters, strict: fn["strict"]?.boolValue
                )
            )
        }
        return tools
    }

    static func decodeToolChoice(_ raw: JSONValue) throws(GatewayError) -> ToolChoice {
        switch raw {
        case .string("auto"): return .auto
        case .string("none"): return .none
        case .string("required"): return .required
        case .object(let o):
            if case .object(let fn)? = o["function"], case .string(let name)? = fn["name"] { return .function(name) }
            throw .invalidRequest("'tool_choice.function.name' must be a string.", param: "tool_choice")
        default:
            throw .invalidRequest("'tool_choice' must be 'auto', 'none', 'required' or a function object.", param: "tool_choice")
        }
    }

    static func decodeResponseFormat(_ raw: JSONValue) throws(GatewayError) -> ResponseFormat {
        guard case .object(let o) = raw, case .string(let type)? = o["type"] else {
            throw .invalidRequest("'response_format' must be an object with a 'type'.", param: "response_format")
        }
        switch type {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard case .object(let spec)? = o["json_schema"], case .string(let name)? = spec["name"] else {
                throw .invalidRequest("'response_format.json_schema.name' is required.", param: "response_format.json_schema")
            }
            return .jsonSchema(name: name, schema: spec["schema"], strict: spec["strict"]?.boolValue)
        default:
            throw .invalidRequest(
                "Invalid 'response_format.type' '\(type)': expected text, json_object or json_schema.",
                param: "response_format.type"
            )
        }
    }

    static func optionalBool(_ o: JSONObject, _ key: String, path: String? = nil) throws(GatewayError) -> Bool? {
        guard let v = o[key], !v.isNull else { return nil }
        guard case .bool(let b) = v else { throw .invalidRequest("'\(path ?? key)' must be a boolean.", param: path ?? key) }
        return b
    }

    static func optionalNumber(_ o: JSONObject, _ key: String, range: ClosedRange<Double>) throws(GatewayError) -> Double? {
        guard let v = o[key], !v.isNull else { return nil }
        guard let d = v.doubleValue else { throw .invalidRequest("'\(key)' must be a number.", param: key) }
        guard range.contains(d) else {
            throw .invalidRequest("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d).", param: key)
        }
        return d
    }

    static func optionalInt(_ o: JSONObject, _ key: String, minimum: Int) throws(GatewayError) -> Int? {
        guard let v = o[key], !v.isNull else { return nil }
        guard let i = v.intValue else { throw .invalidRequest("'\(key)' must be an integer.", param: key) }
        guard i >= minimum else { throw .invalidRequest("'\(key)' must be at least \(minimum), got \(i).", param: key) }
        return i
    }
}
