import Foundation
import HTTPTypes
import Logging
import Synchronization
import SwitchyardCore
import SwitchyardStore

/// Who is calling: a static key from the config, a virtual key from the database, or
/// nobody (dev mode).
struct Caller: Sendable {
    /// `static:<name>` for config keys, the key id for virtual keys, nil in dev mode.
    var keyID: String?
    var name: String?
    var profile: String?
    var budget: BudgetSpec?
    var rpm: Int?
    var tpm: Int?

    static let anonymous = Caller()
}

/// Checks presented API keys.
///
/// Virtual keys (`sk-sy-…`) are looked up by id and their secret compared by hash in
/// constant time; lookups are cached for `accounting.key_cache`, so a revocation made by
/// another process takes effect within that time (at once when made through this one).
final class KeyAuthenticator: Sendable {
    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    private let auth: AuthSettings
    private let store: (any AccountingStore)?
    private let cacheSeconds: Double
    private let cache = Mutex<[String: (record: KeyRecord?, fetched: Double)]>([:])
    private let logger: Logger

    init(auth: AuthSettings, store: (any AccountingStore)?, cacheSeconds: Double, logger: Logger) {
        self.auth = auth
        self.store = store
        self.cacheSeconds = cacheSeconds
        self.logger = logger
    }

    func authenticate(_ headers: HTTPFields) async throws(GatewayError) -> Caller {
        let presented = headers[.authorization].flatMap { value -> String? in
            guard value.hasPrefix("Bearer ") else { return nil }
            return String(value.utf8.dropFirst(7).drop { $0 == 0x20 })
        } ?? headers[Self.apiKeyHeader]
        if let presented, presented.hasPrefix(KeyMaterial.prefix) {
            // Anything shaped like a virtual key is checked, also in dev mode.
            guard let parts = KeyMaterial.parse(presented) else {
                throw GatewayError(status: 401, type: "invalid_request_error", code: "invalid_api_key", message: "Invalid API key.")
            }
            return try await virtualKey(parts)
        }
        if let presented, !auth.keys.isEmpty, let key = staticKey(presented) {
            return Caller(keyID: "static:" + key.name, name: key.name, profile: key.profile)
        }
        if auth.devMode { return .anonymous }
        throw GatewayError(
            status: 401, type: "invalid_request_error", code: "invalid_api_key",
            message: presented == nil ? "Missing API key: send 'Authorization: Bearer <key>'." : "Invalid API key."
        )
    }

    /// Forgets a cached key at once (after a revocation through the admin API).
    func invalidate(id: String) { cache.withLock { _ = $0.removeValue(forKey: id) } }

    private func virtualKey(_ parts: KeyMaterial.Parts) async throws(GatewayError) -> Caller {
        let invalid = GatewayError(status: 401, type: "invalid_request_error", code: "invalid_api_key", message: "Invalid API key.")
        guard let store else { throw invalid }
        let now = Date().timeIntervalSince1970
        var record: KeyRecord?
        if let cached = cache.withLock({ $0[parts.id] }), now - cached.fetched < cacheSeconds {
            record = cached.record
        } else {
            do {
                record = try await store.key(id: parts.id)
            } catch {
                logger.error("key lookup failed", metadata: ["key_id": .string(parts.id), "error": "\(error)"])
                throw GatewayError(status: 503, type: "service_unavailable", code: "key_store_unavailable", message: "API keys cannot be checked right now.")
            }
            cache.withLock { $0[parts.id] = (record, now) }
        }
        guard let record, KeyMaterial.verify(secret: parts.secret, storedHash: record.secretHash) else { throw invalid }
        if record.revokedAt != nil {
            throw GatewayError(status: 401, type: "invalid_request_error", code: "api_key_revoked", message: "This API key was revoked.")
        }
        if let expiry = record.expiresAt, expiry <= Date() {
            throw GatewayError(status: 401, type: "invalid_request_error", code: "api_key_expired", message: "This API key has expired.")
        }
        return Caller(keyID: record.id, name: record.name, profile: record.profile, budget: record.budget, rpm: record.rpm, tpm: record.tpm)
    }

    /// Checks every static key with a constant-time comparison, so the time taken does
    /// not depend on how much of a key matched.
    private func staticKey(_ presented: String) -> AuthSettings.Key? {
        let bytes = Array(presented.utf8)
        var found: AuthSettings.Key?
        for key in auth.keys where constantTimeEquals(bytes, Array(key.secret.utf8)) && found == nil {
            found = key
        }
        return found
    }
}
