/// One piece of text from a request, extracted by the gateway from system/user/assistant/tool
/// messages and content parts. Every text is classified; roles matter only for the quality
/// score and route rules (which read user and system texts).
public struct PolicyText: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, Codable { case system, user, assistant, tool }

    public var role: Role
    public var text: String
    /// Where the text came from, e.g. `messages[2].content[1]`; lets the gateway write redacted text back.
    public var path: String

    public init(role: Role, text: String, path: String = "") {
        self.role = role
        self.text = text
        self.path = path
    }
}

/// What the request needs from a model.
public struct CapabilityNeeds: Sendable, Hashable {
    public var tools: Bool
    public var jsonSchema: Bool
    public var images: Bool
    /// Estimated prompt tokens (gateway's estimate); with `maxOutputTokens` compared to the context window.
    public var estimatedPromptTokens: Int
    public var maxOutputTokens: Int

    public init(tools: Bool = false, jsonSchema: Bool = false, images: Bool = false, estimatedPromptTokens: Int = 0, maxOutputTokens: Int = 0) {
        self.tools = tools
        self.jsonSchema = jsonSchema
        self.images = images
        self.estimatedPromptTokens = estimatedPromptTokens
        self.maxOutputTokens = maxOutputTokens
    }
}

/// Everything the policy needs to know about one request.
public struct PolicyRequest: Sendable {
    /// The client's `model` field: a concrete model, a route name, or `nil` for the default.
    public var model: String?
    public var texts: [PolicyText]
    public var needs: CapabilityNeeds
    /// Data class declared by the caller (e.g. `x-switchyard-data-class` header); can only make things stricter.
    public var headerDataClass: DataClass?
    /// Redaction requested by the caller; honoured only where the profile allows redaction.
    public var redaction: RedactionMode?
    /// A quality score computed elsewhere (e.g. by a router service), used when no router closure is given.
    public var routerScore: Double?

    public init(
        model: String? = nil, texts: [PolicyText], needs: CapabilityNeeds = CapabilityNeeds(), headerDataClass: DataClass? = nil,
        redaction: RedactionMode? = nil, routerScore: Double? = nil
    ) {
        self.model = model
        self.texts = texts
        self.needs = needs
        self.headerDataClass = headerDataClass
        self.redaction = redaction
        self.routerScore = routerScore
    }
}
