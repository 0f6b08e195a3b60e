import Foundation
import SwitchyardCore

/// Creating keys and reading report windows, shared by the CLI and the admin API so that
/// both validate the same way.
public enum KeyIssuer {
    public struct Request: Sendable {
        public var name: String
        public var profile: String?
        public var budget: String?
        public var rpm: Int?
        public var tpm: Int?
        /// `30d`, `12h`, `2w`…: the key stops working after this long.
        public var expiresIn: String?
        public init(name: String, profile: String? = nil, budget: String? = nil, rpm: Int? = nil, tpm: Int? = nil, expiresIn: String? = nil) {
            self.expiresIn = expiresIn
            self.name = name
            self.profile = profile
            self.budget = budget
            self.rpm = rpm
            self.tpm = tpm
        }
    }

    /// Validates, stores the hash and returns the record with the key (shown once).
    public static func create(_ request: Request, config: GatewayConfig, store: any AccountingStore) async throws -> (KeyRecord, String) {
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else { throw KeyIssuerError("name must be 1 to 100 characters") }
        if let profile = request.profile, config.routing.allProfiles[profile] == nil {
            throw KeyIssuerError("unknown profile '\(profile)'; known: \(config.routing.allProfiles.keys.sorted().joined(separator: ", "))")
        }
        var budget: BudgetSpec?
        if let text = request.budget {
            guard let parsed = BudgetSpec(parsing: text) else {
                throw KeyIssuerError("invalid budget '\(text)': expected AMOUNT or AMOUNT/day, /week or /month (USD), e.g. 50/month")
            }
            budget = parsed
        }
        if let rpm = request.rpm, rpm < 1 { throw KeyIssuerError("rpm must be at least 1") }
        if let tpm = request.tpm, tpm < 1 { throw KeyIssuerError("tpm must be at least 1") }
        let now = Date()
        var expiresAt: Date?
        if let text = request.expiresIn {
            guard let seconds = parseWindow(text) else { throw KeyIssuerError("invalid expiry '\(text)': expected e.g. 30m, 12h, 30d or 2w") }
            expiresAt = now.addingTimeInterval(seconds)
        }
        let (parts, key) = KeyMaterial.generate()
        let record = KeyRecord(
            id: parts.id, name: name, secretHash: KeyMaterial.hash(secret: parts.secret), profile: request.profile, budget: budget,
            rpm: request.rpm, tpm: request.tpm, createdAt: now, expiresAt: expiresAt
        )
        try await store.createKey(record)
        return (record, key)
    }

    /// Spent amounts of each key in its current budget period.
    public static func listing(store: any AccountingStore, now: Date = Date()) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        for key in try await store.listKeys() {
            let period = BudgetSpec.periodKey(key.budget?.period ?? .total, at: now)
            let spent = try await store.budgetUsage(keyID: key.id, period: period).spent
            out.append(key.json(spent: spent))
        }
        return out
    }

    /// `30m`, `24h`, `7d`, `2w` → seconds.
    public static func parseWindow(_ text: String) -> Double? {
        guard let unit = text.last, let amount = Double(text.dropLast()), amount > 0 else { return nil }
        switch unit {
        case "m": return amount * 60
        case "h": return amount * 3600
        case "d": return amount * 86400
        case "w": return amount * 7 * 86400
        default: return nil
        }
    }
}

public struct KeyIssuerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
