import SwitchyardCore

/// Google's Gemini API (`models/{model}:generateContent` and
/// `:streamGenerateContent?alt=sse`).
///
/// Assistant turns become `model` turns, tool results become `functionResponse` parts
/// (Gemini matches them by function name, so the name is looked up from the earlier tool
/// call), and JSON Schema keywords Gemini rejects are dropped from tool and response schemas.
public struct GeminiAdapter: ProviderAdapter {
    public init() {}

    public var speaksOpenAI: Bool { false }

    public func makeRequest(_ request: ChatRequest, originalBody: [UInt8], target: UpstreamTarget) throws(GatewayError) -> UpstreamHTTPRequest {
        var headers: [(String, String)] = [("content-type", "application/json")]
        if let key = target.apiKey { headers.append(("x-goog-api-key", key)) }
        headers += target.model.headers
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        let url = "\(target.deployment.baseURL)/v1beta/models/\(target.model.upstreamModel):\(method)"
        return UpstreamHTTPRequest(url: url, headers: headers, body: JSONWriter.bytes(.object(try encodeBody(request))))
    }

    func encodeBody(_ request: ChatRequest) throws(GatewayError) -> JSONObject {
        var system: [String] = []
        var contents: [(role: String, parts: [JSONValue])] = []
        var toolNames: [String: String] = [:]
        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append((role, parts))
            }
        }
        for message in request.messages {
            switch message.role {
            case .system, .developer:
                system.append(message.text)
            case .user:
                append("user", try message.content.map(Self.part))
            case .assistant:
                var parts: [JSONValue] = []
                let text = message.text
                if !text.isEmpty { parts.append(.object(JSONObject([("text", .string(text))]))) }
                for call in message.toolCalls {
                    toolNames[call.id] = call.name
                    parts.append(.object(JSONObject([("functionCall", .object(JSONObject([("name", .string(call.name)), ("args", AnthropicAdapter.argumentsObject(call.arguments))])))])))
                }
                append("model", parts)
            case .tool:
                let name = message.toolCallID.flatMap { toolNames[$0] } ?? message.name ?? "tool"
                let response: JSONValue
                if case .object(let o)? = try? JSONParser.parse(message.text) {
                    response = .object(o)
                } else {
                    response = .object(JSONObject([("result", .string(message.text))]))
                }
                append("user", [.object(JSONObject([("functionResponse", .object(JSONObject([("name", .string(name)), ("response", response)])))]))])
            }
        }
        var body = JSONObject()
        body["contents"] = .array(contents.map { .object(JSONObject([("role", .string($0.role)), ("parts", .array($0.parts))])) })
        let systemText = system.filter { !$0.isEmpty }.joined(separator: "\n\n")
        if !systemText.isEmpty {
            body["systemInstruction"] = .object(JSONObject([("parts", .array([.object(JSONObject([("text", .string(systemText))]))]))]))
        }
        if !request.tools.isEmpty {
            let declarations: [JSONValue] = request.tools.map { tool in
                var d = JSONObject([("name", .string(tool.name))])
                if let desc = tool.description { d["description"] = .string(desc) }
                if let p = tool.parameters { d["parameters"] = Self.geminiSchema(p) }
                return .object(d)
            }
            body["tools"] = .array([.object(JSONObject([("functionDeclarations", .array(declarations))]))])
            var config: JSONObject?
            switch request.toolChoice {
            case .auto?: config = JSONObject([("mode", "AUTO")])
            case .none?: config = JSONObject([("mode", "NONE")])
            case .required?: config = JSONObject([("mode", "ANY")])
            case .function(let name)?: config = JSONObject([("mode", "ANY"), ("allowedFunctionNames", .array([.string(name)]))])
            case nil: config = nil
            }
            if let config { body["toolConfig"] = .object(JSONObject([("functionCallingConfig", .object(config))])) }
        }
        var generation = JSONObject()
        if let t = request.temperature { generation["temperature"] = .double(t) }
        if let p = request.topP { generation["topP"] = .double(p) }
        if let m = request.maxTokens { generation["maxOutputTokens"] = .int(m) }
        if !request.stop.isEmpty { generation["stopSequences"] = .array(request.stop.map(JSONValue.string)) }
        if let seed = request.seed { generation["seed"] = .int(seed) }
        switch request.responseFormat {
        case .jsonObject?:
            generation["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema, _)?:
            generation["responseMimeType"] = "application/json"
            if let schema { generation["responseSchema"] = Self.geminiSchema(schema) }
        case .text?, nil:
            break
        }
        if generation.count > 0 { body["generationConfig"] = .object(generation) }
        return body
    }

    /// Gemini accepts an OpenAPI subset of JSON Schema; these keywords make it reject the request.
    static let unsupportedSchemaKeys: Set<String> = ["additionalProperties", "$schema", "$id", "strict", "$defs", "definitions"]

    static func geminiSchema(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o where !unsupportedSchemaKeys.contains(k) { out[k] = geminiSchema(v) }
            return .object(out)
        case .array(let items):
            return .array(items.map(geminiSchema))
        default:
            return value
        }
    }

    static func part(_ part: ContentPart) throws(GatewayError) -> JSONValue {
        switch part {
        case .text(let t):
            return .object(JSONObject([("text", .string(t))]))
        case .image(let url, _):
            if let (mime, data) = parseDataURL(url) {
                return .object(JSONObject([("inlineData", .object(JSONObject([("mimeType", .string(mime)), ("data", .string(data))])))]))
            }
            return .object(JSONObject([("fileData", .object(JSONObject([("mimeType", .string(mimeType(forURL: url))), ("fileUri", .string(url))])))]))
        case .other(let raw):
            let type = raw["type"]?.stringValue ?? "unknown"
            throw .invalidRequest("Content parts of type '\(type)' cannot be sent to a Gemini model.", param: "messages")
        }
    }

    static func mimeType(forURL url: String) -> String {
        let lower = url.lowercased()
        if lower.hasSuffix(".png") { return "image/png" }
        if lower.hasSuffix(".webp") { return "image/webp" }
        if lower.hasSuffix(".gif") { return "image/gif" }
        return "image/jpeg"
    }

    static func finishReason(_ raw: String?, hasToolCalls: Bool) -> FinishReason? {
        guard let raw else { return nil }
        switch raw {
        case "MAX_TOKENS": return .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": return .contentFilter
        default: return hasToolCalls ? .toolCalls : .stop
        }
    }

    static func usage(_ value: JSONValue?) -> Usage? {
        guard case .object(let u)? = value, let prompt = u["promptTokenCount"]?.intValue else { return nil }
        let thoughts = u["thoughtsTokenCount"]?.intValue ?? 0
        return Usage(
            promptTokens: prompt, completionTokens: (u["candidatesTokenCount"]?.intValue ?? 0) + thoughts,
            cachedTokens: u["cachedContentTokenCount"]?.intValue ?? 0, reasoningTokens: thoughts
        )
    }

    public func decodeResponse(_ body: [UInt8], request: ChatRequest, target: UpstreamTarget) throws(GatewayError) -> ChatResponse {
        let root = try parseUpstreamJSON(body)
        var text = ""
        var calls: [ToolCall] = []
        var finish: FinishReason = .stop
        if case .array(let candidates)? = root["candidates"], case .object(let candidate)? = candidates.first {
            if case .array(let parts)? = candidate["content"]?["parts"] {
                for part in parts {
                    if case .string(let t)? = part["text"], part["thought"]?.boolValue != true { text += t }
                    if case .object(let call)? = part["functionCall"] {
                        calls.append(
                            ToolCall(id: "call_\(calls.count)", name: call["name"]?.stringValue ?? "", arguments: JSONWriter.string(call["args"] ?? .object(JSONObject())))
                        )
                    }
                }
            }
            finish = Self.finishReason(candidate["finishReason"]?.stringValue, hasToolCalls: !calls.isEmpty) ?? .stop
        } else if root["promptFeedback"]?["blockReason"] != nil {
            finish = .contentFilter
        } else {
            throw .badUpstreamBody("no candidates")
        }
        return ChatResponse(
            id: root["responseId"]?.stringValue ?? "gemini",
            model: root["modelVersion"]?.stringValue ?? target.model.upstreamModel,
            created: 0,
            text: text.isEmpty && !calls.isEmpty ? nil : text,
            toolCalls: calls,
            finishReason: finish,
            usage: Self.usage(root["usageMetadata"])
        )
    }

    public func makeStreamDecoder() -> any UpstreamStreamDecoder { GeminiStreamDecoder() }

    public func errorMessage(status: Int, body: [UInt8]) -> String? {
        if let root = try? parseUpstreamJSON(body) { return root["error"]?["message"]?.stringValue }
        // Gemini sometimes answers errors as a one-element array.
        if case .array(let items)? = try? JSONParser.parse(body), let first = items.first {
            return first["error"]?["message"]?.stringValue
        }
        return nil
    }
}

/// Reads Gemini's SSE stream, where every event is a whole `GenerateContentResponse`
/// holding the next slice of text or complete function calls; the last one carries the
/// finish reason and usage.
public struct GeminiStreamDecoder: UpstreamStreamDecoder {
    private var parser = SSEParser()
    private var toolCount = 0
    private var usage: Usage?
    private var finished = false

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) throws(GatewayError) -> [StreamEvent] {
        var events: [StreamEvent] = []
        for event in parser.feed(bytes) {
            guard case .object(let chunk)? = try? JSONParser.parse(event.data) else { continue }
            if case .object(let error)? = chunk["error"] {
                throw GatewayError(
                    status: 502, type: "upstream_error", code: error["status"]?.stringValue ?? "upstream_stream_error",
                    message: error["message"]?.stringValue ?? "The upstream reported an error mid-stream."
                )
            }
            if let u = GeminiAdapter.usage(chunk["usageMetadata"]) { usage = u }
            guard case .array(let candidates)? = chunk["candidates"], case .object(let candidate)? = candidates.first else {
                if chunk["promptFeedback"]?["blockReason"] != nil, !finished {
                    finished = true
                    events.append(.finish(.contentFilter))
                }
                continue
            }
            if case .array(let parts)? = candidate["content"]?["parts"] {
                for part in parts {
                    if case .string(let t)? = part["text"], part["thought"]?.boolValue != true, !t.isEmpty { events.append(.textDelta(t)) }
                    if case .object(let call)? = part["functionCall"] {
                        let index = toolCount
                        toolCount += 1
                        events.append(.toolCallStart(index: index, id: "call_\(index)", name: call["name"]?.stringValue ?? ""))
                        events.append(.toolCallArguments(index: index, fragment: JSONWriter.string(call["args"] ?? .object(JSONObject()))))
                    }
                }
            }
            if let reason = GeminiAdapter.finishReason(candidate["finishReason"]?.stringValue, hasToolCalls: toolCount > 0), !finished {
                finished = true
                events.append(.finish(reason))
            }
        }
        return events
    }

    public mutating func finish() throws(GatewayError) -> [StreamEvent] {
        _ = parser.finish()
        guard finished else {
            throw GatewayError(status: 502, type: "upstream_error", code: "stream_truncated", message: "The upstream closed the stream before a finish reason.")
        }
        return usage.map { [.usage($0)] } ?? []
    }
}
