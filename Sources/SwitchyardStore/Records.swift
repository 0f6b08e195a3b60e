import Foundation
import SwitchyardCore

/// One row of the request log: what was asked, who answered, what it cost, and what the
/// route's reference frontier model would have cost for the same tokens.
public struct RequestRecord: Sendable, Equatable {
    public enum UsageSource: String, Sendable {
        /// Token counts reported by the provider.
        case provider
        /// Counted by the gateway because the provider reported none.
        case estimated
        /// No tokens were used (the request failed before an answer).
        case none
    }

    public var id: String
    public var createdAt: Date
    public var keyID: String?
    public var profile: String
    public var route: String
    public var decision: String
    public var model: String?
    public var deployment: String?
    public var openness: String?
    public var hosting: String?
    /// The status the client got.
    public var status: Int
    /// The status of the upstream attempt that answered or failed last.
    public var upstreamStatus: Int?
    public var usage: Usage
    public var usageSource: UsageSource
    public var cost: Double
    public var counterfactualCost: Double
    public var latencyMs: Double
    public var ttftMs: Double?
    public var stream: Bool
    public var error: String?
    public var promptText: String?
    public var responseText: String?

    public init(
        id: String, createdAt: Date, keyID: String?, profile: String, route: String, decision: String, model: String?,
        deployment: String?, openness: String?, hosting: String?, status: Int, upstreamStatus: Int?, usage: Usage,
        usageSource: UsageSource, cost: Double, counterfactualCost: Double, latencyMs: Double, ttftMs: Double?, stream: Bool,
        error: String?, promptText: String? = nil, responseText: String? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.keyID = keyID
        self.profile = profile
        self.route = route
        self.decision = decision
        self.model = model
        self.deployment = deployment
        self.openness = openness
        self.hosting = hosting
        self.status = status
        self.upstreamStatus = upstreamStatus
        self.usage = usage
        self.usageSource = usageSource
        self.cost = cost
        self.counterfactualCost = counterfactualCost
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.stream = stream
        self.error = error
        self.promptText = promptText
        self.responseText = responseText
    }
}

/// A virtual key as stored: never the key itself, only the SHA-256 of its secret part.
public struct KeyRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var secretHash: String
    public var profile: String?
    public var budget: BudgetSpec?
    public var rpm: Int?
    public var tpm: Int?
    public var createdAt: Date
    public var revokedAt: Date?
    /// After this the key is refused (`api_key_expired`); nil: it does not expire.
    public var expiresAt: Date?

    public init(
        id: String, name: String, secretHash: String, profile: String?, budget: BudgetSpec?, rpm: Int?, tpm: Int?, createdAt: Date,
        revokedAt: Date? = nil, expiresAt: Date? = nil
    ) {
        self.expiresAt = expiresAt
        self.id = id
        self.name = name
        self.secretHash = secretHash
        self.profile = profile
        self.budget = budget
        self.rpm = rpm
        self.tpm = tpm
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// The public description of the key (no hash), as the CLI and admin API print it.
    public func json(spent: Double? = nil, key: String? = nil) -> JSONValue {
        var o = JSONObject()
        o["id"] = .string(id)
        if let key { o["key"] = .string(key) }
        o["name"] = .string(name)
        o["profile"] = profile.map { .string($0) } ?? .null
        o["budget_usd"] = budget.map { .double($0.amount) } ?? .null
        o["budget_period"] = budget.map { .string($0.period.rawValue) } ?? .null
        o["rpm"] = rpm.map { .int($0) } ?? .null
        o["tpm"] = tpm.map { .int($0) } ?? .null
        o["created_at"] = .string(ISO8601DateFormatter().string(from: createdAt))
        o["expires_at"] = expiresAt.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null
        if key == nil { o["revoked_at"] = revokedAt.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null }
        if let spent { o["spent_usd"] = .double(spent) }
        return .object(o)
    }
}

/// The outcome of asking for a slot in a key's per-minute window.
public enum RateDecision: Sendable, Equatable {
    case admitted
    case requestsExceeded(limit: Int)
    case tokensExceeded(limit: Int)
}
