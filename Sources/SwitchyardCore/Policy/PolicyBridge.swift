import SwitchyardPolicy

extension ModelConfig {
    /// The model as the policy engine sees it, with its current health.
    public func policyCandidate(healthy: Bool) -> PolicyCandidate {
        PolicyCandidate(
            name: name, openness: openness == .open ? .open : .closed, hosting: hosting == .local ? .local : .cloud,
            capabilities: ModelCapabilities(tools: capabilities.tools, jsonSchema: capabilities.jsonSchema, images: capabilities.images),
            contextWindow: contextWindow ?? 1_000_000_000, inputPricePerMTok: price.inputPerMTok, outputPricePerMTok: price.outputPerMTok,
            tier: tier, qualityRank: qualityRank, healthy: healthy
        )
    }
}

/// Every piece of text in a chat request, in a fixed order, with where it came from.
///
/// Detection must see all of it (system prompts, tool results, content parts, tool-call
/// arguments), and redaction must put masked text back exactly where it was taken from.
public struct RequestTexts: Sendable {
    public enum Slot: Sendable, Equatable {
        case content(message: Int, part: Int)
        case toolArguments(message: Int, call: Int)
    }

    public private(set) var texts: [PolicyText] = []
    public private(set) var slots: [Slot] = []

    public init(_ request: ChatRequest) {
        texts.reserveCapacity(request.messages.count)
        for (i, message) in request.messages.enumerated() {
            let role: PolicyText.Role
            switch message.role {
            case .system, .developer: role = .system
            case .user: role = .user
            case .assistant: role = .assistant
            case .tool: role = .tool
            }
            for (j, part) in message.content.enumerated() {
                if case .text(let t) = part {
                    texts.append(PolicyText(role: role, text: t, path: "messages[\(i)].content[\(j)]"))
                    slots.append(.content(message: i, part: j))
                }
            }
            for (j, call) in message.toolCalls.enumerated() {
                texts.append(PolicyText(role: role, text: call.arguments, path: "messages[\(i)].tool_calls[\(j)].function.arguments"))
                slots.append(.toolArguments(message: i, call: j))
            }
        }
    }

    /// The request with each text replaced (same order as `texts`); the raw body's
    /// `messages` is rebuilt too, so OpenAI-compatible upstreams get the new text.
    public func applying(_ replacements: [PolicyText], to request: ChatRequest) -> ChatRequest {
        var out = request
        for (slot, replacement) in zip(slots, replacements) {
            switch slot {
            case .content(let m, let p): out.messages[m].content[p] = .text(replacement.text)
            case .toolArguments(let m, let c): out.messages[m].toolCalls[c].arguments = replacement.text
            }
        }
        out.raw["messages"] = .array(out.messages.map(OpenAIRequestEncoder.message))
        return out
    }
}

extension ChatRequest {
    /// What a model must be able to do to serve this request.
    public var policyNeeds: CapabilityNeeds {
        var bytes = 0
        var images = false
        for message in messages {
            bytes += 16
            for part in message.content {
                switch part {
                case .text(let t): bytes += t.utf8.count
                case .image: images = true
                case .other: bytes += 64
                }
            }
            for call in message.toolCalls { bytes += call.arguments.utf8.count + call.name.utf8.count }
        }
        for tool in tools { bytes += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + 64 }
        var schema = false
        if case .jsonSchema? = responseFormat { schema = true }
        return CapabilityNeeds(
            tools: !tools.isEmpty && toolChoice != ToolChoice.none, jsonSchema: schema, images: images,
            // About four bytes per token for English text; the context check needs a bound, not a count.
            estimatedPromptTokens: bytes / 4, maxOutputTokens: maxTokens ?? 0
        )
    }
}

extension ChatResponse {
    /// The answer with redaction placeholders replaced by the original values.
    public func restoring(_ mapping: RedactionMapping) -> ChatResponse {
        var out = self
        out.text = text.map(mapping.restore)
        out.toolCalls = toolCalls.map { ToolCall(id: $0.id, name: $0.name, arguments: mapping.restore($0.arguments)) }
        return out
    }
}
