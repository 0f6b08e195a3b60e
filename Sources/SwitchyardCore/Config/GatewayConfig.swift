import SwitchyardPolicy

/// The whole gateway configuration, validated and with `${ENV}` references resolved.
///
/// Loaded once at start by `ConfigLoader`; everything downstream can trust its invariants
/// (unique names, fallbacks that exist, well-formed URLs, positive limits).
public struct GatewayConfig: Sendable {
    public var server: ServerSettings
    public var models: [ModelConfig]
    public var reliability: ReliabilitySettings
    public var routing: RoutingSettings
    public var auth: AuthSettings
    /// Nil: no request log, keys, budgets or rate limits (in-memory configs, unit tests).
    public var database: DatabaseSettings?
    public var admin: AdminSettings
    public var accounting: AccountingSettings
    public var tracing: TracingSettings?

    public init(
        server: ServerSettings = ServerSettings(), models: [ModelConfig], reliability: ReliabilitySettings = ReliabilitySettings(),
        routing: RoutingSettings = RoutingSettings(), auth: AuthSettings = AuthSettings(), database: DatabaseSettings? = nil,
        admin: AdminSettings = AdminSettings(), accounting: AccountingSettings = AccountingSettings()
    ) {
        self.database = database
        self.admin = admin
        self.accounting = accounting
        self.server = server
        self.models = models
        self.reliability = reliability
        self.routing = routing
        self.auth = auth
    }

    public func model(named name: String) -> ModelConfig? { models.first { $0.name == name } }

    /// The model counterfactual costs are priced with for a route: the route's own
    /// reference, the configured one, or the priciest closed model.
    public func referenceModel(forRoute route: String?) -> ModelConfig? {
        if let route, let name = routing.routes.first(where: { $0.name == route })?.referenceModel, let m = model(named: name) { return m }
        if let name = accounting.referenceModel, let m = model(named: name) { return m }
        return models.filter { $0.openness == .closed }.max { $0.price.blended < $1.price.blended }
    }
}

public struct ServerSettings: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Largest accepted request body; larger ones get 413.
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    /// A client connection with no request in flight and nothing received for this long is
    /// closed (idle keep-alive connections, and clients that stop sending mid-request); a
    /// request not received whole within it is answered 408.
    public var idleTimeout: Double = 75
    public init() {}
}

public enum ProviderKind: String, Sendable, CaseIterable {
    case openai, anthropic, gemini
}

/// Whether the model's weights are public. Policy and reports group by it.
public enum Openness: String, Sendable, CaseIterable { case open, closed }

/// Where a prompt sent to this model physically goes. Confidential data may only go `local`.
public enum Hosting: String, Sendable, CaseIterable { case local, cloud }

public struct Price: Sendable, Equatable {
    public var inputPerMTok: Double
    public var outputPerMTok: Double
    public var cachedInputPerMTok: Double?

    public init(inputPerMTok: Double = 0, outputPerMTok: Double = 0, cachedInputPerMTok: Double? = nil) {
        self.inputPerMTok = inputPerMTok
        self.outputPerMTok = outputPerMTok
        self.cachedInputPerMTok = cachedInputPerMTok
    }

    /// A single figure for ordering models by price: three input tokens per output token.
    public var blended: Double { (3 * inputPerMTok + outputPerMTok) / 4 }

    /// Cost in dollars of one call with this usage.
    public func cost(of usage: Usage) -> Double {
        let cached = min(usage.cachedTokens, usage.promptTokens)
        let uncached = usage.promptTokens - cached
        let cachedPrice = cachedInputPerMTok ?? inputPerMTok
        return (Double(uncached) * inputPerMTok + Double(cached) * cachedPrice + Double(usage.completionTokens) * outputPerMTok) / 1_000_000
    }
}

/// What a model can do; requests needing more are not sent to it.
public struct Capabilities: Sendable, Equatable {
    public var tools = true
    public var jsonSchema = true
    public var images = false
    public init(tools: Bool = true, jsonSchema: Bool = true, images: Bool = false) {
        self.tools = tools
        self.jsonSchema = jsonSchema
        self.images = images
    }
}

/// A credential that may be absent: the config names an environment variable that is not
/// set, so the model is listed but refuses requests with a clear error instead of the
/// gateway refusing to start.
public enum Credential: Sendable, Equatable {
    case none
    case value(String)
    case missing(variable: String)
}

/// One upstream endpoint serving a model. A model with several is load-balanced.
public struct DeploymentConfig: Sendable, Equatable {
    public var id: String
    public var baseURL: String
    public var credential: Credential

    public init(id: String, baseURL: String, credential: Credential) {
        self.id = id
        self.baseURL = baseURL
        self.credential = credential
    }
}

public struct ModelConfig: Sendable {
    public var name: String
    public var provider: ProviderKind
    /// The model name sent upstream; defaults to `name`.
    public var upstreamModel: String
    public var openness: Openness
    public var hosting: Hosting
    public var price: Price
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    public var capabilities: Capabilities
    public var fallbacks: [String]
    public var deployments: [DeploymentConfig]
    /// Extra headers sent upstream with every request (values must be ASCII).
    public var headers: [(String, String)]
    public var anthropicVersion: String
    public var timeouts: Timeouts
    public var retry: RetrySettings
    /// Coarse strength for policy strategies (`strongest`, tier allow-lists); defaults from openness.
    public var tier: QualityTier
    /// Finer strength ordering within a tier; higher is stronger.
    public var qualityRank: Int
    /// Ask OpenAI-compatible upstreams for `stream_options.include_usage` on every stream
    /// (off for servers that reject the field).
    public var requestStreamUsage: Bool = true
    /// PEM file with the certificates that `https://` deployments of this model are trusted
    /// by (a private CA in front of a self-hosted server); nil: the system's trust store.
    /// `ConfigLoader.load` makes a relative path relative to the configuration file.
    public var tlsCAFile: String?

    public init(
        name: String, provider: ProviderKind, upstreamModel: String? = nil, openness: Openness, hosting: Hosting,
        price: Price = Price(), contextWindow: Int? = nil, maxOutputTokens: Int? = nil, capabilities: Capabilities = Capabilities(),
        fallbacks: [String] = [], deployments: [DeploymentConfig], headers: [(String, String)] = [],
        anthropicVersion: String = "2023-06-01", timeouts: Timeouts = Timeouts(), retry: RetrySettings = RetrySettings(),
        tier: QualityTier? = nil, qualityRank: Int = 0
    ) {
        self.name = name
        self.provider = provider
        self.upstreamModel = upstreamModel ?? name
        self.openness = openness
        self.hosting = hosting
        self.price = price
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.capabilities = capabilities
        self.fallbacks = fallbacks
        self.deployments = deployments
        self.headers = headers
        self.anthropicVersion = anthropicVersion
        self.timeouts = timeouts
        self.retry = retry
        self.tier = tier ?? (openness == .closed ? .frontier : .small)
        self.qualityRank = qualityRank
    }
}

/// Per-attempt time limits, in seconds.
public struct Timeouts: Sendable, Equatable {
    /// TCP (and TLS) connection establishment.
    public var connect: Double = 5
    /// From sending the request to the first body byte of the answer.
    public var firstByte: Double = 120
    /// Longest silence between two chunks of a streamed answer.
    public var idle: Double = 60
    /// The whole attempt, body included.
    public var total: Double = 600
    public init(connect: Double = 5, firstByte: Double = 120, idle: Double = 60, total: Double = 600) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }
}

/// Retries of one deployment before moving on to the next candidate.
public struct RetrySettings: Sendable, Equatable {
    /// Extra attempts after the first on a retryable failure.
    public var maxRetries: Int = 1
    public var initialBackoff: Double = 0.1
    public var maxBackoff: Double = 5
    /// Longest `Retry-After` the gateway will wait for; longer ones move to the next candidate.
    public var maxRetryAfter: Double = 10
    public init(maxRetries: Int = 1, initialBackoff: Double = 0.1, maxBackoff: Double = 5, maxRetryAfter: Double = 10) {
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }
}

public struct ReliabilitySettings: Sendable, Equatable {
    /// Consecutive failures that open a deployment's circuit.
    public var breakerFailureThreshold: Int = 5
    /// How long an open circuit rejects before letting one probe through.
    public var breakerCooldown: Double = 30
    public init(breakerFailureThreshold: Int = 5, breakerCooldown: Double = 30) {
        self.breakerFailureThreshold = breakerFailureThreshold
        self.breakerCooldown = breakerCooldown
    }
}
