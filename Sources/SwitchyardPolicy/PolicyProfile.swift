/// How a route picks among the candidates that are allowed.
public enum RouteStrategy: String, Codable, Sendable, Hashable, CaseIterable {
    /// First allowed candidate in the route's listed order.
    case fixed
    /// Lowest blended price.
    case cheapest
    /// Highest tier, then quality rank.
    case strongest
    /// Strong model when the quality score reaches the threshold, weak model otherwise.
    case qualityRouter = "quality-router"
    /// Start on the weak model; the decision lists the escalation ladder for the gateway.
    case cascade
}

/// Whether prompts are masked so that cloud models may see requests that would otherwise be
/// confidential.
public enum RedactionMode: String, Codable, Sendable, Hashable {
    /// Never mask; confidential requests stay local.
    case off
    /// Mask for cloud targets only when a detection made the request confidential.
    case whenNeeded = "when-needed"
    /// Mask every detection for cloud targets, whatever its class.
    case always
}

/// A profile's answer to "this key's budget cannot cover the request".
public enum BudgetAction: String, Codable, Sendable, Hashable, CaseIterable {
    /// 429 `budget_exceeded`.
    case refuse
    /// Serve it from the open/local tier instead, and say so in `x-switchyard-decision`.
    case degrade
}

/// A named policy bundle selected per request (API key, header or route). Plain data, so
/// users can write their own in config next to the built-ins.
public struct PolicyProfile: Codable, Sendable, Hashable {
    public var name: String
    /// Class assumed for every request under this profile (combined by max with detections and header).
    public var defaultDataClass: DataClass
    /// Highest class that cloud models may see (unmasked). Default `internal`.
    public var maxCloudDataClass: DataClass
    /// Models this profile may use; `nil` = any.
    public var allowedModels: [String]?
    /// Tiers this profile may use; `nil` = any.
    public var allowedTiers: [QualityTier]?
    /// Hosting kinds this profile may use; `nil` = any.
    public var allowedHosting: [ModelHosting]?
    /// Strategy when neither the route nor the request says otherwise.
    public var strategy: RouteStrategy
    /// Whether redaction may be used at all under this profile.
    public var allowRedaction: Bool
    /// Mode used when the route/request does not choose one (only if `allowRedaction`).
    public var redaction: RedactionMode
    /// Quality-router threshold when the route has none; higher = stricter (fewer strong picks).
    public var routerThreshold: Double
    /// Candidates with any of these traits come first when ordering by cost or strength.
    public var preferred: [CandidateTrait]
    /// Drop candidates whose blended price exceeds this (USD / Mtok). Budget knob.
    public var maxBlendedPrice: Double?
    /// Whether an explicitly requested model may fall back to other models.
    public var explicitModelFallbacks: Bool
    /// What happens when a key's budget cannot cover a request's worst case.
    public var onBudgetExceeded: BudgetAction

    public init(
        name: String, defaultDataClass: DataClass = .public, maxCloudDataClass: DataClass = .internal,
        allowedModels: [String]? = nil, allowedTiers: [QualityTier]? = nil, allowedHosting: [ModelHosting]? = nil,
        strategy: RouteStrategy = .qualityRouter, allowRedaction: Bool = false, redaction: RedactionMode = .off,
        routerThreshold: Double = 0.5, preferred: [CandidateTrait] = [], maxBlendedPrice: Double? = nil,
        explicitModelFallbacks: Bool = false, onBudgetExceeded: BudgetAction = .refuse
    ) {
        self.onBudgetExceeded = onBudgetExceeded
        self.name = name
        self.defaultDataClass = defaultDataClass
        self.maxCloudDataClass = maxCloudDataClass
        self.allowedModels = allowedModels
        self.allowedTiers = allowedTiers
        self.allowedHosting = allowedHosting
        self.strategy = strategy
        self.allowRedaction = allowRedaction
        self.redaction = redaction
        self.routerThreshold = routerThreshold
        self.preferred = preferred
        self.maxBlendedPrice = maxBlendedPrice
        self.explicitModelFallbacks = explicitModelFallbacks
    }

    // MARK: Built-ins

    /// Everything is confidential: local models only, no redaction escape hatch.
    public static let privacyFirst = PolicyProfile(
        name: "privacy-first", defaultDataClass: .confidential, maxCloudDataClass: .public,
        strategy: .strongest)
    /// Strongest allowed model; privacy still enforced.
    public static let maxQuality = PolicyProfile(name: "max-quality", strategy: .strongest)
    /// Open/local models unless the router is very sure a frontier model is needed.
    public static let budget = PolicyProfile(
        name: "budget", strategy: .qualityRouter, routerThreshold: 0.8, preferred: [.open, .local],
        onBudgetExceeded: .degrade)
    /// Closed frontier models by default for fast prototyping; detection still on.
    public static let prototype = PolicyProfile(name: "prototype", strategy: .strongest, preferred: [.closed])
    /// Default: the router decides, privacy enforced.
    public static let balanced = PolicyProfile(name: "balanced", strategy: .qualityRouter, routerThreshold: 0.5)

    public static let builtIns: [PolicyProfile] = [.privacyFirst, .maxQuality, .budget, .prototype, .balanced]

    public static func builtIn(named name: String) -> PolicyProfile? { builtIns.first { $0.name == name } }

    // MARK: Codable (snake_case, every field but `name` optional)

    private enum CodingKeys: String, CodingKey {
        case name, defaultDataClass = "default_data_class", maxCloudDataClass = "max_cloud_data_class"
        case allowedModels = "allowed_models", allowedTiers = "allowed_tiers", allowedHosting = "allowed_hosting"
        case strategy, allowRedaction = "allow_redaction", redaction, routerThreshold = "router_threshold"
        case preferred, maxBlendedPrice = "max_blended_price", explicitModelFallbacks = "explicit_model_fallbacks"
        case onBudgetExceeded = "on_budget_exceeded"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        defaultDataClass = try c.decodeIfPresent(DataClass.self, forKey: .defaultDataClass) ?? .public
        maxCloudDataClass = try c.decodeIfPresent(DataClass.self, forKey: .maxCloudDataClass) ?? .internal
        allowedModels = try c.decodeIfPresent([String].self, forKey: .allowedModels)
        allowedTiers = try c.decodeIfPresent([QualityTier].self, forKey: .allowedTiers)
        allowedHosting = try c.decodeIfPresent([ModelHosting].self, forKey: .allowedHosting)
        strategy = try c.decodeIfPresent(RouteStrategy.self, forKey: .strategy) ?? .qualityRouter
        allowRedaction = try c.decodeIfPresent(Bool.self, forKey: .allowRedaction) ?? false
        redaction = try c.decodeIfPresent(RedactionMode.self, forKey: .redaction) ?? (allowRedaction ? .whenNeeded : .off)
        routerThreshold = try c.decodeIfPresent(Double.self, forKey: .routerThreshold) ?? 0.5
        preferred = try c.decodeIfPresent([CandidateTrait].self, forKey: .preferred) ?? []
        maxBlendedPrice = try c.decodeIfPresent(Double.self, forKey: .maxBlendedPrice)
        explicitModelFallbacks = try c.decodeIfPresent(Bool.self, forKey: .explicitModelFallbacks) ?? false
        onBudgetExceeded = try c.decodeIfPresent(BudgetAction.self, forKey: .onBudgetExceeded) ?? .refuse
    }
}
