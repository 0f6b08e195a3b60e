import SwitchyardCore

/// OpenAI and every OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama, DeepSeek,
/// Mistral, Together, Groq).
///
/// The client's body is forwarded byte for byte unless the model name must change, in
/// which case only that field is rewritten and every other field, known or not, is kept.
public struct OpenAIAdapter: ProviderAdapter {
    public init() {}

    public var speaksOpenAI: Bool { true }

    public func makeRequest(_ request: ChatRequest, originalBody: [UInt8], target: UpstreamTarget) throws(GatewayError) -> UpstreamHTTPRequest {
        var headers: [(String, String)] = [("content-type", "application/json")]
        if request.stream { headers.append(("accept", "text/event-stream")) }
        if let key = target.apiKey { headers.append(("authorization", "Bearer \(key)")) }
        headers += target.model.headers
        let body: [UInt8]
        // Streams are asked for their usage so that they can be priced like non-streamed
        // answers; the relay drops the extra chunk when the client did not ask for it.
        let injectUsage = request.stream && !request.includeUsage && target.model.requestStreamUsage
        if request.model == target.model.upstreamModel && !injectUsage {
            body = originalBody
        } else {
            var raw = request.raw
            raw["model"] = .string(target.model.upstreamModel)
            if injectUsage {
                var options = raw["stream_options"]?.objectValue ?? JSONObject()
                options["include_usage"] = .bool(true)
                raw["stream_options"] = .object(options)
            }
            body = JSONWriter.bytes(.object(raw))
        }
        return UpstreamHTTPRequest(url: target.deployment.baseURL + "/chat/completions", headers: headers, body: body)
    }

    public func decodeResponse(_ body: [UInt8], request: ChatRequest, target: UpstreamTarget) throws(GatewayError) -> ChatResponse {
        let root = try parseUpstreamJSON(body)
        guard case .array(let choices)? = root["choices"], case .object(let choice)? = choices.first,
            case .object(let message)? = choice["message"]
        else { throw .badUpstreamBody("no choices[0].message") }
        var calls: [ToolCall] = []
        if case .array(let raw)? = message["tool_calls"] {
            for item in raw {
                guard case .string(let id)? = item["id"], case .object(let fn)? = item["function"],
                    case .string(let name)? = fn["name"]
                else { continue }
                calls.append(ToolCall(id: id, name: name, arguments: fn["arguments"]?.stringValue ?? "{}"))
            }
        }
        let finish = choice["finish_reason"]?.stringValue.flatMap(FinishReason.init(rawValue:)) ?? (calls.isEmpty ? .stop : .toolCalls)
        return ChatResponse(
            id: root["id"]?.stringValue ?? "chatcmpl-switchyard",
            model: root["model"]?.stringValue ?? target.model.upstreamModel,
            created: root["created"]?.intValue ?? 0,
            text: message["content"]?.stringValue,
            toolCalls: calls,
            finishReason: finish,
            usage: root["usage"].flatMap(Self.decodeUsage)
        )
    }

    /// Usage from an OpenAI `usage` object (responses and the final stream chunk).
    public static func decodeUsage(_ value: JSONValue) -> Usage? {
        guard case .object(let u) = value, let prompt = u["prompt_tokens"]?.intValue else { return nil }
        return Usage(
            promptTokens: prompt,
            completionTokens: u["completion_tokens"]?.intValue ?? 0,
            cachedTokens: u["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
            reasoningTokens: u["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0
        )
    }

    public func makeStreamDecoder() -> any UpstreamStreamDecoder { OpenAIStreamDecoder() }

    public func errorMessage(status: Int, body: [UInt8]) -> String? {
        guard let root = try? parseUpstreamJSON(body) else { return nil }
        if let message = root["error"]?["message"]?.stringValue { return message }
        return root["error"]?.stringValue ?? root["message"]?.stringValue ?? root["detail"]?.stringValue
    }
}

/// Reads OpenAI `chat.completion.chunk` frames into canonical events. Used when the
/// gateway must look inside an OpenAI-compatible stream (usage, redaction); plain relays
/// forward the bytes instead.
public struct OpenAIStreamDecoder: UpstreamStreamDecoder {
    private var parser = SSEParser()
    private var sawDone = false
    private var sawFinish = false

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) throws(GatewayError) -> [StreamEvent] {
        var events: [StreamEvent] = []
        for event in parser.feed(bytes) {
            if event.data == "[DONE]" {
                sawDone = true
                continue
            }
            guard case .object(let chunk)? = try? JSONParser.parse(event.data) else { continue }
            if case .object(let error)? = chunk["error"] {
                throw GatewayError(
                    status: 502, type: "upstream_error", code: error["code"]?.stringValue ?? "upstream_stream_error",
                    message: error["message"]?.stringValue ?? "The upstream reported an error mid-stream."
                )
            }
            if case .array(let choices)? = chunk["choices"], case .object(let choice)? = choices.first {
                if case .object(let delta)? = choice["delta"] {
                    if case .string(let text)? = delta["content"], !text.isEmpty { events.append(.textDelta(text)) }
                    if case .array(let calls)? = delta["tool_calls"] {
                        for call in calls {
                            let index = call["index"]?.intValue ?? 0
                            if case .string(let id)? = call["id"] {
                                events.append(.toolCallStart(index: index, id: id, name: call["function"]?["name"]?.stringValue ?? ""))
                            }
                            if case .string(let args)? = call["function"]?["arguments"], !args.isEmpty {
                                events.append(.toolCallArguments(index: index, fragment: args))
                            }
                        }
                    }
                }
                if case .string(let reason)? = choice["finish_reason"] {
                    sawFinish = true
                    events.append(.finish(FinishReason(rawValue: reason) ?? .stop))
                }
            }
            if let usage = chunk["usage"].flatMap(OpenAIAdapter.decodeUsage) { events.append(.usage(usage)) }
        }
        return events
    }

    public mutating func finish() throws(GatewayError) -> [StreamEvent] {
        _ = parser.finish()
        if !sawDone && !sawFinish {
            throw GatewayError(status: 502, type: "upstream_error", code: "stream_truncated", message: "The upstream closed the stream before it finished.")
        }
        return []
    }
}
