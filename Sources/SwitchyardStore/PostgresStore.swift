import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// The store for several gateway replicas: one PostgreSQL database holds their keys,
/// budgets, rate-limit windows and request log.
///
/// Reservations and rate-limit admissions are single `INSERT … ON CONFLICT DO UPDATE …
/// WHERE` statements: PostgreSQL takes the row lock, re-checks the condition and applies
/// the change in one step, so replicas racing for the last of a budget cannot both win.
public final class PostgresStore: AccountingStore {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger

    public init(url: String, logger: Logger) throws {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw StoreError.badURL("expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password, database: database.isEmpty ? nil : database,
            tls: tls
        )
        configuration.options.maximumConnections = 16
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    public func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One migrating process at a time; the others wait and then find nothing to do.
            try await connection.query("SELECT pg_advisory_xact_lock(7312026)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS switchyard_schema (version BIGINT NOT NULL)", logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM switchyard_schema", logger: logger)
                .decode(Int.self)
            {
                current = version
            }
            for (index, statements) in Schema.migrations.enumerated() where index + 1 > current {
                for sql in statements { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                try await connection.query("INSERT INTO switchyard_schema (version) VALUES (\(index + 1))", logger: logger)
            }
        }
    }

    // MARK: Keys

    public func createKey(_ key: KeyRecord) async throws {
        try await client.query(
            """
            INSERT INTO api_keys (id, name, secret_hash, profile, budget_usd, budget_period, rpm, tpm, created_at, revoked_at, expires_at)
            VALUES (\(key.id), \(key.name), \(key.secretHash), \(key.profile), \(key.budget?.amount), \(key.budget?.period.rawValue),
                    \(key.rpm), \(key.tpm), \(key.createdAt.timeIntervalSince1970), \(key.revokedAt?.timeIntervalSince1970),
                    \(key.expiresAt?.timeIntervalSince1970))
            """, logger: logger
        )
    }

    private typealias KeyRow = (String, String, String, String?, Double?, String?, Int?, Int?, Double, Double?, Double?)
    private static let keyColumns = "id, name, secret_hash, profile, budget_usd, budget_period, rpm, tpm, created_at, revoked_at, expires_at"

    private static func keyRecord(_ r: KeyRow) -> KeyRecord {
        let period = r.5.flatMap(BudgetSpec.Period.init(rawValue:)) ?? .total
        return KeyRecord(
            id: r.0, name: r.1, secretHash: r.2, profile: r.3, budget: r.4.map { BudgetSpec(amount: $0, period: period) }, rpm: r.6,
            tpm: r.7, createdAt: Date(timeIntervalSince1970: r.8), revokedAt: r.9.map { Date(timeIntervalSince1970: $0) },
            expiresAt: r.10.map { Date(timeIntervalSince1970: $0) }
        )
    }

    public func key(id: String) async throws -> KeyRecord? {
        let rows = try await client.query(
            "SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE id = \(id)", logger: logger
        )
        for try await row in rows.decode(KeyRow.self) { return Self.keyRecord(row) }
        return nil
    }

    public func listKeys() async throws -> [KeyRecord] {
        let rows = try await client.query("SELECT \(unescaped: Self.keyColumns) FROM api_keys ORDER BY created_at, id", logger: logger)
        var keys: [KeyRecord] = []
        for try await row in rows.decode(KeyRow.self) { keys.append(Self.keyRecord(row)) }
        return keys
    }

    public func revokeKey(id: String, at date: Date) async throws -> Bool {
        let rows = try await client.query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(date.timeIntervalSince1970)) WHERE id = \(id) RETURNING id",
            logger: logger
        )
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    // MARK: Budgets

    public func reserve(keyID: String, period: String, amount: Double, limit: Double) async throws -> Bool {
        let limit = limit + Schema.epsilon
        let rows = try await client.query(
            """
            INSERT INTO budget_usage AS b (key_id, period_start, spent_usd, reserved_usd)
            SELECT \(keyID), \(period), 0, \(amount) WHERE \(amount) <= \(limit)
            ON CONFLICT (key_id, period_start) DO UPDATE SET reserved_usd = b.reserved_usd + EXCLUDED.reserved_usd
            WHERE b.spent_usd + b.reserved_usd + EXCLUDED.reserved_usd <= \(limit)
            RETURNING 1
            """, logger: logger
        )
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    public func settle(keyID: String, period: String, reserved: Double, actual: Double) async throws {
        try await client.query(
            """
            UPDATE budget_usage
            SET reserved_usd = CASE WHEN reserved_usd - \(reserved) < \(Schema.epsilon) THEN 0 ELSE reserved_usd - \(reserved) END,
                spent_usd = spent_usd + \(actual)
            WHERE key_id = \(keyID) AND period_start = \(period)
            """, logger: logger
        )
    }

    public func budgetUsage(keyID: String, period: String) async throws -> (spent: Double, reserved: Double) {
        let rows = try await client.query(
            "SELECT spent_usd, reserved_usd FROM budget_usage WHERE key_id = \(keyID) AND period_start = \(period)", logger: logger
        )
        for try await (spent, reserved) in rows.decode((Double, Double).self) { return (spent, reserved) }
        return (0, 0)
    }

    // MARK: Rate limits

    public func admit(keyID: String, window: Int64, tokens: Int, rpm: Int?, tpm: Int?) async throws -> RateDecision {
        let r = rpm ?? -1
        let t = tpm ?? -1
        let rows = try await client.query(
            """
            INSERT INTO rate_usage AS u (key_id, window_start, requests, tokens)
            SELECT \(keyID), \(Int(window)), 1, \(tokens) WHERE (\(r) < 0 OR 1 <= \(r)) AND \(t) != 0
            ON CONFLICT (key_id, window_start) DO UPDATE SET requests = u.requests + 1, tokens = u.tokens + EXCLUDED.tokens
            WHERE (\(r) < 0 OR u.requests + 1 <= \(r))
              AND (\(t) < 0 OR (u.tokens = 0 AND \(t) > 0) OR u.tokens + EXCLUDED.tokens <= \(t))
            RETURNING requests
            """, logger: logger
        )
        for try await _ in rows.decode(Int.self) { return .admitted }
        var requests = 0
        for try await count in try await client.query(
            "SELECT requests FROM rate_usage WHERE key_id = \(keyID) AND window_start = \(Int(window))", logger: logger
        ).decode(Int.self) {
            requests = count
        }
        if let rpm, requests + 1 > rpm { return .requestsExceeded(limit: rpm) }
        return .tokensExceeded(limit: tpm ?? 0)
    }

    public func windowUsage(keyID: String, window: Int64) async throws -> (requests: Int, tokens: Int) {
        let rows = try await client.query(
            "SELECT requests, tokens FROM rate_usage WHERE key_id = \(keyID) AND window_start = \(Int(window))", logger: logger
        )
        for try await (requests, tokens) in rows.decode((Int, Int).self) { return (requests, tokens) }
        return (0, 0)
    }

    public func addTokens(keyID: String, window: Int64, tokens: Int) async throws {
        guard tokens != 0 else { return }
        try await client.query(
            "UPDATE rate_usage SET tokens = GREATEST(tokens + \(tokens), 0) WHERE key_id = \(keyID) AND window_start = \(Int(window))",
            logger: logger
        )
    }

    public func pruneWindows(before window: Int64) async throws {
        try await client.query("DELETE FROM rate_usage WHERE window_start < \(Int(window))", logger: logger)
    }

    // MARK: Request log

    public func append(_ records: [RequestRecord]) async throws {
        let columns = Schema.requestLogColumns
        var start = 0
        while start < records.count {
            let batch = records[start..<min(start + 1000, records.count)]
            start += batch.count
            var binds = PostgresBindings(capacity: batch.count * columns.count)
            var rows: [String] = []
            var n = 0
            for r in batch {
                var placeholders: [String] = []
                for _ in columns {
                    n += 1
                    placeholders.append("$\(n)")
                }
                rows.append("(" + placeholders.joined(separator: ", ") + ")")
                binds.append(r.id)
                binds.append(r.createdAt.timeIntervalSince1970)
                binds.append(r.keyID)
                binds.append(r.profile)
                binds.append(r.route)
                binds.append(r.decision)
                binds.append(r.model)
                binds.append(r.deployment)
                binds.append(r.openness)
                binds.append(r.hosting)
                binds.append(r.status)
                binds.append(r.upstreamStatus)
                binds.append(r.usage.promptTokens)
                binds.append(r.usage.completionTokens)
                binds.append(r.usage.cachedTokens)
                binds.append(r.usage.reasoningTokens)
                binds.append(r.usageSource.rawValue)
                binds.append(r.cost)
                binds.append(r.counterfactualCost)
                binds.append(r.latencyMs)
                binds.append(r.ttftMs)
                binds.append(r.stream ? 1 : 0)
                binds.append(r.error)
                binds.append(r.promptText)
                binds.append(r.responseText)
            }
            let sql = "INSERT INTO request_log (\(columns.joined(separator: ", "))) VALUES \(rows.joined(separator: ", ")) ON CONFLICT DO NOTHING"
            try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        }
    }

    public func report(since: Date, until: Date) async throws -> UsageReport {
        var report = UsageReport(since: since, until: until)
        let a = since.timeIntervalSince1970
        let b = until.timeIntervalSince1970
        func query(_ sql: String) -> PostgresQuery {
            var binds = PostgresBindings()
            binds.append(a)
            binds.append(b)
            var n = 0
            var out = ""
            for ch in sql {
                if ch == "?" {
                    n += 1
                    out += "$\(n)"
                } else {
                    out.append(ch)
                }
            }
            return PostgresQuery(unsafeSQL: out, binds: binds)
        }
        for try await row in try await client.query(query(ReportSQL.totals), logger: logger).decode((Int, Int, Double, Double, Int, Int).self) {
            report.requests = row.0
            report.errors = row.1
            report.cost = row.2
            report.counterfactualCost = row.3
            report.promptTokens = row.4
            report.completionTokens = row.5
        }
        for try await row in try await client.query(query(ReportSQL.tiers), logger: logger).decode((String, String, Int, Int, Double).self) {
            report.tiers.append(UsageReport.Tier(openness: row.0, hosting: row.1, requests: row.2, tokens: row.3, cost: row.4))
        }
        for try await row in try await client.query(query(ReportSQL.models), logger: logger).decode((String, Int, Int, Double).self) {
            report.models.append(UsageReport.ModelLine(model: row.0, requests: row.1, tokens: row.2, cost: row.3))
        }
        for try await row in try await client.query(query(ReportSQL.topKeys), logger: logger).decode((String, String?, Int, Double).self) {
            report.topKeys.append(UsageReport.KeyLine(keyID: row.0, name: row.1, requests: row.2, cost: row.3))
        }
        return report
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case badURL(String)
    case timeout(seconds: Double)
    public var description: String {
        switch self {
        case .badURL(let message): return "invalid database URL: \(message)"
        case .timeout(let seconds): return "the database did not answer within \(Int(seconds)) s"
        }
    }
}
