/// The canonical chat request every adapter translates from.
///
/// It holds what the gateway must understand to translate between wire protocols or to
/// make a policy decision. `raw` keeps the client's original OpenAI-shaped body so that
/// OpenAI-compatible upstreams receive unknown fields untouched.
public struct ChatRequest: Sendable, Equatable {
    public var model: String
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var responseFormat: ResponseFormat?
    public var temperature: Double?
    public var topP: Double?
    /// `max_completion_tokens` when given, else `max_tokens`.
    public var maxTokens: Int?
    public var stop: [String]
    public var seed: Int?
    public var user: String?
    public var metadata: JSONObject?
    public var stream: Bool
    public var includeUsage: Bool
    public var raw: JSONObject

    public init(
        model: String, messages: [ChatMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil,
        parallelToolCalls: Bool? = nil, responseFormat: ResponseFormat? = nil, temperature: Double? = nil,
        topP: Double? = nil, maxTokens: Int? = nil, stop: [String] = [], seed: Int? = nil, user: String? = nil,
        metadata: JSONObject? = nil, stream: Bool = false, includeUsage: Bool = false, raw: JSONObject = JSONObject()
    ) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseFormat = responseFormat
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
        self.user = user
        self.metadata = metadata
        self.stream = stream
        self.includeUsage = includeUsage
        self.raw = raw
    }
}

public enum ChatRole: String, Sendable, Equatable, CaseIterable {
    case system, developer, user, assistant, tool
}

/// One piece of message content. Parts the gateway does not translate are kept as JSON.
public enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An image by URL or `data:` URL, with OpenAI's optional `detail`.
    case image(url: String, detail: String?)
    case other(JSONValue)

    public var text: String? { if case .text(let t) = self { return t } else { return nil } }
}

public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The arguments as the JSON text the model produced (OpenAI keeps them as a string).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public struct ChatMessage: Sendable, Equatable {
    public var role: ChatRole
    public var content: [ContentPart]
    /// True when the client sent `content` as a plain string; kept for faithful re-encoding.
    public var contentWasString: Bool
    public var name: String?
    public var toolCalls: [ToolCall]
    public var toolCallID: String?

    public init(
        role: ChatRole, content: [ContentPart], contentWasString: Bool = false, name: String? = nil,
        toolCalls: [ToolCall] = [], toolCallID: String? = nil
    ) {
        self.role = role
        self.content = content
        self.contentWasString = contentWasString
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public static func text(_ role: ChatRole, _ text: String) -> ChatMessage {
        ChatMessage(role: role, content: [.text(text)], contentWasString: true)
    }

    /// All text parts joined, the form most upstream protocols and detectors need.
    public var text: String {
        var result = ""
        for part in content {
            if case .text(let t) = part {
                if !result.isEmpty { result += "\n" }
                result += t
            }
        }
        return result
    }
}

public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// JSON Schema of the arguments.
    public var parameters: JSONValue?
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

public enum ToolChoice: Sendable, Equatable {
    case auto, none, required
    case function(String)
}

public enum ResponseFormat: Sendable, Equatable {
    case text
    case jsonObject
    case jsonSchema(name: String, schema: JSONValue?, strict: Bool?)
}

/// Why generation ended, in OpenAI's vocabulary; adapters map their own reasons to it.
public enum FinishReason: String, Sendable, Equatable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
}

/// Token counts of one call. `estimated` marks counts the gateway computed itself
/// because the upstream reported none.
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var reasoningTokens: Int
    public var cacheCreationTokens: Int
    public var estimated: Bool

    public init(
        promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0, reasoningTokens: Int = 0,
        cacheCreationTokens: Int = 0, estimated: Bool = false
    ) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
        self.cacheCreationTokens = cacheCreationTokens
        self.estimated = estimated
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}

/// A complete (non-streamed) answer in canonical form.
public struct ChatResponse: Sendable, Equatable {
    public var id: String
    public var model: String
    public var created: Int
    public var text: String?
    public var toolCalls: [ToolCall]
    public var finishReason: FinishReason
    public var usage: Usage?

    public init(
        id: String, model: String, created: Int, text: String?, toolCalls: [ToolCall] = [],
        finishReason: FinishReason, usage: Usage?
    ) {
        self.id = id
        self.model = model
        self.created = created
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// One step of a streamed answer in canonical form; adapters turn upstream SSE into these
/// and the OpenAI encoder turns them into `chat.completion.chunk` frames.
public enum StreamEvent: Sendable, Equatable {
    case textDelta(String)
    /// A new tool call at position `index` of the answer.
    case toolCallStart(index: Int, id: String, name: String)
    case toolCallArguments(index: Int, fragment: String)
    case finish(FinishReason)
    case usage(Usage)
}
