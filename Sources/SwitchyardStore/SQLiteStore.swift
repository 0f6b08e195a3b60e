import Foundation
import GRDB
import SwitchyardCore

/// The default store: one SQLite file in WAL mode, through GRDB.
///
/// Writes are serialised by SQLite itself, so the check-and-add statements for budgets and
/// rate limits are atomic across every connection and process using the file.
public final class SQLiteStore: AccountingStore {
    private let pool: DatabasePool

    public init(path: String) throws {
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true
        )
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "switchyard"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    public func migrate() async throws {
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS switchyard_schema (version INTEGER NOT NULL)")
            let current = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM switchyard_schema") ?? 0
            for (index, statements) in Schema.migrations.enumerated() where index + 1 > current {
                for sql in statements { try db.execute(sql: sql) }
                try db.execute(sql: "INSERT INTO switchyard_schema (version) VALUES (?)", arguments: [index + 1])
            }
        }
    }

    // MARK: Keys

    public func createKey(_ key: KeyRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, secret_hash, profile, budget_usd, budget_period, rpm, tpm, created_at, revoked_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.name, key.secretHash, key.profile, key.budget?.amount, key.budget?.period.rawValue, key.rpm, key.tpm,
                    key.createdAt.timeIntervalSince1970, key.revokedAt?.timeIntervalSince1970, key.expiresAt?.timeIntervalSince1970,
                ]
            )
        }
    }

    public func key(id: String) async throws -> KeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(Self.keyRecord)
        }
    }

    public func listKeys() async throws -> [KeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(Self.keyRecord)
        }
    }

    public func revokeKey(id: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [date.timeIntervalSince1970, id]
            )
            return db.changesCount > 0
        }
    }

    static func keyRecord(_ row: Row) -> KeyRecord {
        let amount: Double? = row["budget_usd"]
        let period = (row["budget_period"] as String?).flatMap(BudgetSpec.Period.init(rawValue:)) ?? .total
        return KeyRecord(
            id: row["id"], name: row["name"], secretHash: row["secret_hash"], profile: row["profile"],
            budget: amount.map { BudgetSpec(amount: $0, period: period) }, rpm: row["rpm"], tpm: row["tpm"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
            expiresAt: (row["expires_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
        )
    }

    // MARK: Budgets

    public func reserve(keyID: String, period: String, amount: Double, limit: Double) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO budget_usage (key_id, period_start) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [keyID, period]
            )
            try db.execute(
                sql: """
                    UPDATE budget_usage SET reserved_usd = reserved_usd + ?
                    WHERE key_id = ? AND period_start = ? AND spent_usd + reserved_usd + ? <= ?
                    """,
                arguments: [amount, keyID, period, amount, limit + Schema.epsilon]
            )
            return db.changesCount > 0
        }
    }

    public func settle(keyID: String, period: String, reserved: Double, actual: Double) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE budget_usage
                    SET reserved_usd = CASE WHEN reserved_usd - ? < ? THEN 0 ELSE reserved_usd - ? END, spent_usd = spent_usd + ?
                    WHERE key_id = ? AND period_start = ?
                    """,
                arguments: [reserved, Schema.epsilon, reserved, actual, keyID, period]
            )
        }
    }

    public func budgetUsage(keyID: String, period: String) async throws -> (spent: Double, reserved: Double) {
        try await pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT spent_usd, reserved_usd FROM budget_usage WHERE key_id = ? AND period_start = ?", arguments: [keyID, period]
            )
            return (row?["spent_usd"] ?? 0, row?["reserved_usd"] ?? 0)
        }
    }

    // MARK: Rate limits

    public func admit(keyID: String, window: Int64, tokens: Int, rpm: Int?, tpm: Int?) async throws -> RateDecision {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO rate_usage (key_id, window_start) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [keyID, window]
            )
            try db.execute(
                sql: """
                    UPDATE rate_usage SET requests = requests + 1, tokens = tokens + ?
                    WHERE key_id = ? AND window_start = ? AND (? < 0 OR requests + 1 <= ?)
                      AND (? < 0 OR (tokens = 0 AND ? > 0) OR tokens + ? <= ?)
                    """,
                arguments: [tokens, keyID, window, rpm ?? -1, rpm ?? -1, tpm ?? -1, tpm ?? -1, tokens, tpm ?? -1]
            )
            if db.changesCount > 0 { return .admitted }
            let requests = try Int.fetchOne(
                db, sql: "SELECT requests FROM rate_usage WHERE key_id = ? AND window_start = ?", arguments: [keyID, window]
            ) ?? 0
            if let rpm, requests + 1 > rpm { return .requestsExceeded(limit: rpm) }
            return .tokensExceeded(limit: tpm ?? 0)
        }
    }

    public func windowUsage(keyID: String, window: Int64) async throws -> (requests: Int, tokens: Int) {
        try await pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT requests, tokens FROM rate_usage WHERE key_id = ? AND window_start = ?", arguments: [keyID, window]
            )
            return (row?["requests"] ?? 0, row?["tokens"] ?? 0)
        }
    }

    public func addTokens(keyID: String, window: Int64, tokens: Int) async throws {
        guard tokens != 0 else { return }
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE rate_usage SET tokens = MAX(tokens + ?, 0) WHERE key_id = ? AND window_start = ?",
                arguments: [tokens, keyID, window]
            )
        }
    }

    public func pruneWindows(before window: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM rate_usage WHERE window_start < ?", arguments: [window]) }
    }

    // MARK: Request log

    public func append(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await pool.write { db in try Self.insert(records, into: db) }
    }

    /// GRDB's synchronous write runs its closure on the calling thread (a serial dispatch
    /// queue's `sync`), so the work is done by the log writer's own thread, which gives the
    /// core away every few rows (see `LogWriterThread`).
    public var blockingLogAppender: (@Sendable ([RequestRecord], Int) throws -> Void)? {
        let pool = self.pool
        return { records, yieldEvery in
            guard !records.isEmpty else { return }
            try pool.write { db in try Self.insert(records, into: db, yieldEvery: yieldEvery) }
        }
    }

    private static let insertSQL: String = {
        let placeholders = Array(repeating: "?", count: Schema.requestLogColumns.count).joined(separator: ", ")
        return "INSERT INTO request_log (\(Schema.requestLogColumns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT DO NOTHING"
    }()

    private static func insert(_ records: [RequestRecord], into db: Database, yieldEvery: Int = 0) throws {
        let statement = try db.cachedStatement(sql: insertSQL)
        for (i, r) in records.enumerated() {
            try statement.execute(arguments: Self.arguments(r))
            if yieldEvery > 0, i % yieldEvery == yieldEvery - 1 { LogWriterThread.yieldCore() }
        }
    }

    static func arguments(_ r: RequestRecord) -> StatementArguments {
        [
            r.id, r.createdAt.timeIntervalSince1970, r.keyID, r.profile, r.route, r.decision, r.model, r.deployment, r.openness,
            r.hosting, r.status, r.upstreamStatus, r.usage.promptTokens, r.usage.completionTokens, r.usage.cachedTokens,
            r.usage.reasoningTokens, r.usageSource.rawValue, r.cost, r.counterfactualCost, r.latencyMs, r.ttftMs, r.stream ? 1 : 0,
            r.error, r.promptText, r.responseText,
        ]
    }

    public func report(since: Date, until: Date) async throws -> UsageReport {
        try await pool.read { db in
            var report = UsageReport(since: since, until: until)
            let window: StatementArguments = [since.timeIntervalSince1970, until.timeIntervalSince1970]
            if let row = try Row.fetchOne(db, sql: ReportSQL.totals, arguments: window) {
                report.requests = row[0] ?? 0
                report.errors = row[1] ?? 0
                report.cost = row[2] ?? 0
                report.counterfactualCost = row[3] ?? 0
                report.promptTokens = row[4] ?? 0
                report.completionTokens = row[5] ?? 0
            }
            report.tiers = try Row.fetchAll(db, sql: ReportSQL.tiers, arguments: window).map {
                UsageReport.Tier(openness: $0[0], hosting: $0[1], requests: $0[2], tokens: $0[3] ?? 0, cost: $0[4] ?? 0)
            }
            report.models = try Row.fetchAll(db, sql: ReportSQL.models, arguments: window).map {
                UsageReport.ModelLine(model: $0[0], requests: $0[1], tokens: $0[2] ?? 0, cost: $0[3] ?? 0)
            }
            report.topKeys = try Row.fetchAll(db, sql: ReportSQL.topKeys, arguments: window).map {
                UsageReport.KeyLine(keyID: $0[0], name: $0[1], requests: $0[2], cost: $0[3] ?? 0)
            }
            return report
        }
    }

    public func close() async {
        try? pool.close()
    }
}

/// Report queries shared by both stores; `?` placeholders are rewritten for PostgreSQL.
/// Integer sums are cast back to BIGINT: PostgreSQL sums BIGINT columns as NUMERIC.
enum ReportSQL {
    static let filter = "created_at >= ? AND created_at < ?"
    static let totals = """
        SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT), COALESCE(SUM(cost_usd), 0),
               COALESCE(SUM(counterfactual_cost_usd), 0), CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT),
               CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT)
        FROM request_log WHERE \(filter)
        """
    static let tiers = """
        SELECT COALESCE(openness, 'none'), COALESCE(hosting, 'none'), COUNT(*), CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT),
               COALESCE(SUM(cost_usd), 0)
        FROM request_log WHERE \(filter) GROUP BY 1, 2 ORDER BY 3 DESC
        """
    static let models = """
        SELECT COALESCE(model, 'none'), COUNT(*), CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT), COALESCE(SUM(cost_usd), 0)
        FROM request_log WHERE \(filter) GROUP BY 1 ORDER BY 4 DESC, 2 DESC
        """
    static let topKeys = """
        SELECT r.key_id, k.name, COUNT(*), COALESCE(SUM(r.cost_usd), 0)
        FROM request_log r LEFT JOIN api_keys k ON k.id = r.key_id
        WHERE r.key_id IS NOT NULL AND r.created_at >= ? AND r.created_at < ?
        GROUP BY r.key_id, k.name ORDER BY 4 DESC, 3 DESC LIMIT 10
        """
}
