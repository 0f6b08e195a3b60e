/// Whether a model's weights are open (self-hostable) or closed (vendor-only).
public enum ModelOpenness: String, Codable, Sendable, Hashable { case open, closed }

/// Where a model runs. Only `local` (infrastructure we operate) may see confidential data.
public enum ModelHosting: String, Codable, Sendable, Hashable { case local, cloud }

/// Coarse quality tier; profiles can allow tiers instead of naming models.
public enum QualityTier: String, Codable, Sendable, Hashable, Comparable, CaseIterable {
    case small, medium, large, frontier
    var rank: Int {
        switch self {
        case .small: return 0
        case .medium: return 1
        case .large: return 2
        case .frontier: return 3
        }
    }
    public static func < (a: QualityTier, b: QualityTier) -> Bool { a.rank < b.rank }
}

/// A candidate trait a profile can prefer (`budget` prefers open or local models).
public enum CandidateTrait: String, Codable, Sendable, Hashable {
    case open, closed, local, cloud
}

/// What a model can do; requests needing a capability a model lacks never go there.
public struct ModelCapabilities: Codable, Sendable, Hashable {
    public var tools: Bool
    public var jsonSchema: Bool
    public var images: Bool

    public init(tools: Bool = false, jsonSchema: Bool = false, images: Bool = false) {
        self.tools = tools
        self.jsonSchema = jsonSchema
        self.images = images
    }

    public static let all = ModelCapabilities(tools: true, jsonSchema: true, images: true)
    public static let none = ModelCapabilities()

    private enum CodingKeys: String, CodingKey { case tools, jsonSchema = "json_schema", images }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tools = try c.decodeIfPresent(Bool.self, forKey: .tools) ?? false
        jsonSchema = try c.decodeIfPresent(Bool.self, forKey: .jsonSchema) ?? false
        images = try c.decodeIfPresent(Bool.self, forKey: .images) ?? false
    }
}

/// One model the policy may choose, as the gateway's catalog describes it. The policy knows
/// nothing about providers or URLs; it only needs these facts to decide.
public struct PolicyCandidate: Codable, Sendable, Hashable {
    public var name: String
    public var openness: ModelOpenness
    public var hosting: ModelHosting
    public var capabilities: ModelCapabilities
    /// Context window in tokens.
    public var contextWindow: Int
    /// USD per million input tokens.
    public var inputPricePerMTok: Double
    /// USD per million output tokens.
    public var outputPricePerMTok: Double
    public var tier: QualityTier
    /// Finer ordering within a tier; higher is stronger.
    public var qualityRank: Int
    /// Filled in by the gateway from its health checks / circuit breakers.
    public var healthy: Bool

    public init(
        name: String, openness: ModelOpenness, hosting: ModelHosting, capabilities: ModelCapabilities = .none,
        contextWindow: Int, inputPricePerMTok: Double = 0, outputPricePerMTok: Double = 0, tier: QualityTier,
        qualityRank: Int = 0, healthy: Bool = true
    ) {
        self.name = name
        self.openness = openness
        self.hosting = hosting
        self.capabilities = capabilities
        self.contextWindow = contextWindow
        self.inputPricePerMTok = inputPricePerMTok
        self.outputPricePerMTok = outputPricePerMTok
        self.tier = tier
        self.qualityRank = qualityRank
        self.healthy = healthy
    }

    /// Price used by `cheapest`: input + output per Mtok.
    public var blendedPrice: Double { inputPricePerMTok + outputPricePerMTok }

    public func has(_ t: CandidateTrait) -> Bool {
        switch t {
        case .open: return openness == .open
        case .closed: return openness == .closed
        case .local: return hosting == .local
        case .cloud: return hosting == .cloud
        }
    }

    private enum CodingKeys: String, CodingKey {
        case name, openness, hosting, capabilities, contextWindow = "context_window"
        case inputPricePerMTok = "input_price_per_mtok", outputPricePerMTok = "output_price_per_mtok"
        case tier, qualityRank = "quality_rank", healthy
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        openness = try c.decode(ModelOpenness.self, forKey: .openness)
        hosting = try c.decode(ModelHosting.self, forKey: .hosting)
        capabilities = try c.decodeIfPresent(ModelCapabilities.self, forKey: .capabilities) ?? .none
        contextWindow = try c.decode(Int.self, forKey: .contextWindow)
        inputPricePerMTok = try c.decodeIfPresent(Double.self, forKey: .inputPricePerMTok) ?? 0
        outputPricePerMTok = try c.decodeIfPresent(Double.self, forKey: .outputPricePerMTok) ?? 0
        tier = try c.decode(QualityTier.self, forKey: .tier)
        qualityRank = try c.decodeIfPresent(Int.self, forKey: .qualityRank) ?? 0
        healthy = try c.decodeIfPresent(Bool.self, forKey: .healthy) ?? true
    }
}
