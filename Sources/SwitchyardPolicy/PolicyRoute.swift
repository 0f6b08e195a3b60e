/// Sends matching requests to a specific (typically fine-tuned) model: by keyword in the
/// user's text or by a task category the heuristic recognises.
public struct RouteRule: Codable, Sendable, Hashable {
    public var name: String
    /// Case-insensitive keywords (ASCII case folding), matched on word boundaries.
    public var keywords: [String]
    /// Task categories, e.g. `code`, `math`.
    public var categories: [TaskSignal]
    /// Model to use when the rule matches (must still pass every hard constraint).
    public var target: String

    public init(name: String, keywords: [String] = [], categories: [TaskSignal] = [], target: String) {
        self.name = name
        self.keywords = keywords
        self.categories = categories
        self.target = target
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        keywords = try c.decodeIfPresent([String].self, forKey: .keywords) ?? []
        categories = try c.decodeIfPresent([TaskSignal].self, forKey: .categories) ?? []
        target = try c.decode(String.self, forKey: .target)
    }

    private enum CodingKeys: String, CodingKey { case name, keywords, categories, target }
}

/// A virtual model name clients can request (e.g. `auto`, `support-bot`) that the policy
/// resolves to a concrete model.
public struct PolicyRoute: Codable, Sendable, Hashable {
    public var name: String
    /// Overrides the profile's strategy.
    public var strategy: RouteStrategy?
    /// Models this route may use, in preference order for `fixed`; empty = every catalog model.
    public var candidates: [String]
    /// Quality-router threshold; overrides the profile's.
    public var threshold: Double?
    /// Model for scores ≥ threshold (default: strongest allowed).
    public var strongModel: String?
    /// Model for scores < threshold (default: cheapest allowed, preferring the profile's traits).
    public var weakModel: String?
    /// Redaction mode for this route (only honoured if the profile allows redaction).
    public var redaction: RedactionMode?
    /// Keyword/category rules evaluated before the strategy, first match wins.
    public var rules: [RouteRule]
    /// Whether the request log keeps this route's prompt and answer text (off by default).
    public var logText: Bool
    /// The frontier model this route's savings are measured against (default: the gateway's).
    public var referenceModel: String?

    public init(
        name: String, strategy: RouteStrategy? = nil, candidates: [String] = [], threshold: Double? = nil,
        strongModel: String? = nil, weakModel: String? = nil, redaction: RedactionMode? = nil, rules: [RouteRule] = [],
        logText: Bool = false, referenceModel: String? = nil
    ) {
        self.logText = logText
        self.referenceModel = referenceModel
        self.name = name
        self.strategy = strategy
        self.candidates = candidates
        self.threshold = threshold
        self.strongModel = strongModel
        self.weakModel = weakModel
        self.redaction = redaction
        self.rules = rules
    }

    private enum CodingKeys: String, CodingKey {
        case name, strategy, candidates, threshold, strongModel = "strong_model", weakModel = "weak_model", redaction, rules
        case logText = "log_text", referenceModel = "reference_model"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        strategy = try c.decodeIfPresent(RouteStrategy.self, forKey: .strategy)
        candidates = try c.decodeIfPresent([String].self, forKey: .candidates) ?? []
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        strongModel = try c.decodeIfPresent(String.self, forKey: .strongModel)
        weakModel = try c.decodeIfPresent(String.self, forKey: .weakModel)
        redaction = try c.decodeIfPresent(RedactionMode.self, forKey: .redaction)
        rules = try c.decodeIfPresent([RouteRule].self, forKey: .rules) ?? []
        logText = try c.decodeIfPresent(Bool.self, forKey: .logText) ?? false
        referenceModel = try c.decodeIfPresent(String.self, forKey: .referenceModel)
    }
}
