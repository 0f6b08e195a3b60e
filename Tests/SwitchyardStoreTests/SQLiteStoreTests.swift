import Foundation
import Logging
import Testing
@testable import SwitchyardCore
@testable import SwitchyardStore
import GRDB

/// The SQLite store against a real database file: keys, atomic budgets under concurrency,
/// rate windows, the request log and the report's arithmetic.
@Suite struct SQLiteStoreTests {
    func withStore(_ body: (SQLiteStore, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-store-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("test.db").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        try await body(store, path)
        await store.close()
        try? FileManager.default.removeItem(at: dir)
    }

    func record(_ id: String, key: String?, model: String?, status: Int = 200, prompt: Int = 10, completion: Int = 5, cost: Double, counterfactual: Double, at: Date = Date(), openness: String? = "closed", hosting: String? = "cloud") -> RequestRecord {
        RequestRecord(
            id: id, createdAt: at, keyID: key, profile: "balanced", route: model ?? "-", decision: "explicit", model: model, deployment: model,
            openness: model == nil ? nil : openness, hosting: model == nil ? nil : hosting, status: status, upstreamStatus: status, usage: Usage(promptTokens: prompt, completionTokens: completion),
            usageSource: .provider, cost: cost, counterfactualCost: counterfactual, latencyMs: 12, ttftMs: nil, stream: false, error: nil
        )
    }

    @Test func migrationsAreIdempotent() async throws {
        try await withStore { store, path in
            try await store.migrate()
            let again = try SQLiteStore(path: path)
            try await again.migrate()
            await again.close()
        }
    }

    @Test func keysStoreOnlyTheHashAndRevokeOnce() async throws {
        try await withStore { store, path in
            let (parts, key) = KeyMaterial.generate()
            let record = KeyRecord(
                id: parts.id, name: "team-a", secretHash: KeyMaterial.hash(secret: parts.secret), profile: "budget",
                budget: BudgetSpec(amount: 50, period: .month), rpm: 600, tpm: nil, createdAt: Date()
            )
            try await store.createKey(record)
            let loaded = try #require(try await store.key(id: parts.id))
            #expect(loaded.name == "team-a")
            #expect(loaded.budget == BudgetSpec(amount: 50, period: .month))
            #expect(loaded.rpm == 600 && loaded.tpm == nil)
            #expect(KeyMaterial.verify(secret: parts.secret, storedHash: loaded.secretHash))
            #expect(try await store.key(id: "000000000000") == nil)
            #expect(try await store.revokeKey(id: parts.id, at: Date(timeIntervalSince1970: 100)))
            #expect(try await store.revokeKey(id: parts.id, at: Date(timeIntervalSince1970: 200)))
            #expect(try await store.key(id: parts.id)?.revokedAt == Date(timeIntervalSince1970: 100))
            #expect(try await store.revokeKey(id: "ffffffffffff", at: Date()) == false)
            // Neither the key nor its secret is anywhere in the database files.
            for suffix in ["", "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path + suffix))) ?? Data()
                #expect(bytes.range(of: Data(parts.secret.utf8)) == nil)
                #expect(bytes.range(of: Data(key.utf8)) == nil)
            }
        }
    }

    @Test func concurrentReservationsNeverPassTheLimit() async throws {
        try await withStore { store, _ in
            let granted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask { (try? await store.reserve(keyID: "k", period: "total", amount: 0.1, limit: 1.0)) ?? false }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(granted == 10)
            let usage = try await store.budgetUsage(keyID: "k", period: "total")
            #expect(abs(usage.reserved - 1.0) < 1e-9)
            // Settling below the reservation frees room for exactly that much more.
            try await store.settle(keyID: "k", period: "total", reserved: 0.1, actual: 0.04)
            #expect(try await store.reserve(keyID: "k", period: "total", amount: 0.06, limit: 1.0))
            #expect(try await store.reserve(keyID: "k", period: "total", amount: 0.01, limit: 1.0) == false)
            for _ in 0..<10 { try await store.settle(keyID: "k", period: "total", reserved: 0.1, actual: 0.1) }
            let after = try await store.budgetUsage(keyID: "k", period: "total")
            #expect(after.reserved < 1e-9 && after.reserved >= 0)
            #expect(abs(after.spent - 1.04) < 1e-9)
            // A single request larger than the whole budget is refused on an empty period too.
            #expect(try await store.reserve(keyID: "other", period: "2026-11", amount: 2, limit: 1) == false)
        }
    }

    @Test func rateWindowsCountRequestsAndTokens() async throws {
        try await withStore { store, _ in
            #expect(try await store.admit(keyID: "k", window: 100, tokens: 10, rpm: 2, tpm: nil) == .admitted)
            #expect(try await store.admit(keyID: "k", window: 100, tokens: 10, rpm: 2, tpm: nil) == .admitted)
            #expect(try await store.admit(keyID: "k", window: 100, tokens: 10, rpm: 2, tpm: nil) == .requestsExceeded(limit: 2))
            // A new minute starts afresh.
            #expect(try await store.admit(keyID: "k", window: 101, tokens: 10, rpm: 2, tpm: nil) == .admitted)
            // Tokens: the first request of a window is always let in, later ones must fit.
            #expect(try await store.admit(keyID: "t", window: 5, tokens: 900, rpm: nil, tpm: 1000) == .admitted)
            #expect(try await store.admit(keyID: "t", window: 5, tokens: 200, rpm: nil, tpm: 1000) == .tokensExceeded(limit: 1000))
            try await store.addTokens(keyID: "t", window: 5, tokens: -800)
            #expect(try await store.admit(keyID: "t", window: 5, tokens: 200, rpm: nil, tpm: 1000) == .admitted)
            try await store.pruneWindows(before: 101)
            #expect(try await store.admit(keyID: "k", window: 100, tokens: 0, rpm: 2, tpm: nil) == .admitted)
        }
    }

    @Test func reportAddsUpTheLog() async throws {
        try await withStore { store, _ in
            let key = KeyRecord(id: "abcdefabcdef", name: "team-a", secretHash: "x", profile: nil, budget: nil, rpm: nil, tpm: nil, createdAt: Date())
            try await store.createKey(key)
            let old = Date().addingTimeInterval(-30 * 86400)
            try await store.append([
                record("r1", key: "abcdefabcdef", model: "gpt", cost: 0.5, counterfactual: 0.5),
                record("r2", key: "abcdefabcdef", model: "local", prompt: 100, completion: 50, cost: 0, counterfactual: 0.9, openness: "open", hosting: "local"),
                record("r3", key: nil, model: nil, status: 429, prompt: 0, completion: 0, cost: 0, counterfactual: 0),
                record("r4", key: "abcdefabcdef", model: "gpt", cost: 7, counterfactual: 7, at: old),
            ])
            // Appending a row twice keeps one.
            try await store.append([record("r1", key: "abcdefabcdef", model: "gpt", cost: 0.5, counterfactual: 0.5)])
            let report = try await store.report(since: Date().addingTimeInterval(-86400), until: Date().addingTimeInterval(1))
            #expect(report.requests == 3)
            #expect(report.errors == 1)
            #expect(abs(report.cost - 0.5) < 1e-12)
            #expect(abs(report.savings - 0.9) < 1e-12)
            #expect(report.promptTokens == 110 && report.completionTokens == 55)
            let local = try #require(report.tiers.first { $0.openness == "open" && $0.hosting == "local" })
            #expect(local.requests == 1 && local.tokens == 150)
            #expect(report.topKeys.first?.name == "team-a" && report.topKeys.first?.requests == 2)
            let json = report.json()
            #expect(json["savings_usd"]?.doubleValue.map { abs($0 - 0.9) < 1e-12 } == true)
            #expect(json["tiers"]?.arrayValue?.count == 3)
        }
    }

    @Test func writerFlushesBatchesAndOnShutdown() async throws {
        try await withStore { store, _ in
            let writer = RequestLogWriter(store: store, interval: 3600, batchSize: 3, logger: Logger(label: "test"))
            writer.start()
            for i in 0..<3 { writer.record(record("b\(i)", key: nil, model: "gpt", cost: 1, counterfactual: 1)) }
            // A full batch is written without waiting for the (one hour) interval.
            var written = 0
            for _ in 0..<100 {
                written = try await store.report(since: Date(timeIntervalSince1970: 0), until: Date().addingTimeInterval(5)).requests
                if written == 3 { break }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            #expect(written == 3)
            writer.record(record("b3", key: nil, model: "gpt", cost: 1, counterfactual: 1))
            await writer.shutdown()
            #expect(try await store.report(since: Date(timeIntervalSince1970: 0), until: Date().addingTimeInterval(5)).requests == 4)
        }
    }
}

@Suite struct KeyAndBudgetParsingTests {
    @Test func keyMaterialRoundTrips() {
        let (parts, key) = KeyMaterial.generate()
        #expect(key.hasPrefix("sk-sy-") && key.count == 6 + 12 + 1 + 40)
        #expect(KeyMaterial.parse(key) == parts)
        #expect(KeyMaterial.parse(key + "x") == nil)
        #expect(KeyMaterial.parse("sk-other") == nil)
        #expect(KeyMaterial.parse("sk-sy-ABCDEF012345-" + String(repeating: "a", count: 40)) == nil)
        let other = KeyMaterial.generate()
        #expect(other.key != key)
        let hash = KeyMaterial.hash(secret: parts.secret)
        #expect(hash.count == 64)
        #expect(KeyMaterial.verify(secret: parts.secret, storedHash: hash))
        #expect(!KeyMaterial.verify(secret: other.parts.secret, storedHash: hash))
        // SHA-256 of "abc" (FIPS 180-2 test vector).
        #expect(KeyMaterial.hash(secret: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func budgetSpecs() {
        #expect(BudgetSpec(parsing: "50/month") == BudgetSpec(amount: 50, period: .month))
        #expect(BudgetSpec(parsing: "$2.5/day") == BudgetSpec(amount: 2.5, period: .day))
        #expect(BudgetSpec(parsing: "100") == BudgetSpec(amount: 100, period: .total))
        #expect(BudgetSpec(parsing: "10/year") == nil)
        #expect(BudgetSpec(parsing: "-1") == nil)
        #expect(BudgetSpec(parsing: "abc/month") == nil)
        let date = Date(timeIntervalSince1970: 1_795_993_441)  // 2026-11-29 (a Sunday) UTC
        #expect(BudgetSpec.periodKey(.day, at: date) == "2026-11-29")
        #expect(BudgetSpec.periodKey(.month, at: date) == "2026-11")
        #expect(BudgetSpec.periodKey(.week, at: date) == "2026-W48")
        #expect(BudgetSpec.periodKey(.total, at: date) == "total")
    }

    @Test func reportWindows() {
        #expect(KeyIssuer.parseWindow("7d") == Double(604_800))
        #expect(KeyIssuer.parseWindow("30m") == 1800)
        #expect(KeyIssuer.parseWindow("2w") == Double(1_209_600))
        #expect(KeyIssuer.parseWindow("7") == nil)
        #expect(KeyIssuer.parseWindow("-1d") == nil)
    }
}

@Suite struct SlidingWindowStoreTests {
    @Test func zeroEffectiveLimitsRefuseEvenAnEmptyWindow() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-window-\(UUID().uuidString)")
        let store = try SQLiteStore(path: dir.appendingPathComponent("w.db").path)
        try await store.migrate()
        #expect(try await store.admit(keyID: "k", window: 7, tokens: 10, rpm: 0, tpm: nil) == .requestsExceeded(limit: 0))
        #expect(try await store.admit(keyID: "k", window: 7, tokens: 10, rpm: nil, tpm: 0) == .tokensExceeded(limit: 0))
        #expect(try await store.admit(keyID: "k", window: 7, tokens: 10, rpm: 3, tpm: 5) == .admitted)
        let usage = try await store.windowUsage(keyID: "k", window: 7)
        #expect(usage.requests == 1 && usage.tokens == 10)
        #expect(try await store.windowUsage(keyID: "k", window: 6) == (0, 0))
        await store.close()
        try? FileManager.default.removeItem(at: dir)
    }
}

@Suite struct SchemaUpgradeTests {
    @Test func aVersionOneDatabaseGainsKeyExpiry() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-upgrade-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("old.db").path
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // A database as the first schema version left it, with a key in it.
        let queue = try GRDB.DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE switchyard_schema (version INTEGER NOT NULL)")
            for sql in Schema.migrations[0] { try db.execute(sql: sql) }
            try db.execute(sql: "INSERT INTO switchyard_schema (version) VALUES (1)")
            try db.execute(sql: "INSERT INTO api_keys (id, name, secret_hash, created_at) VALUES ('aaaaaaaaaaaa', 'old', 'h', 1)")
        }
        try queue.close()
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let old = try #require(try await store.key(id: "aaaaaaaaaaaa"))
        #expect(old.name == "old" && old.expiresAt == nil)
        let expiring = KeyRecord(
            id: "bbbbbbbbbbbb", name: "new", secretHash: "h", profile: nil, budget: nil, rpm: nil, tpm: nil, createdAt: Date(),
            expiresAt: Date(timeIntervalSince1970: 2_000_000_000)
        )
        try await store.createKey(expiring)
        #expect(try await store.key(id: "bbbbbbbbbbbb")?.expiresAt == Date(timeIntervalSince1970: 2_000_000_000))
        await store.close()
        try? FileManager.default.removeItem(at: dir)
    }
}
