import Foundation
import Logging
import SwitchyardCore

/// Everything the gateway keeps in a database, behind one seam with two implementations:
/// SQLite for one process and PostgreSQL for replicas that share keys, budgets and limits.
///
/// Budget and rate-limit operations are single atomic statements, so that concurrent
/// requests, in one process or in several, can never both take the last of a budget.
public protocol AccountingStore: Sendable {
    /// Creates or upgrades the schema; safe to run from several processes at once.
    func migrate() async throws

    func createKey(_ key: KeyRecord) async throws
    func key(id: String) async throws -> KeyRecord?
    func listKeys() async throws -> [KeyRecord]
    /// False when no such key exists (revoking twice keeps the first time).
    func revokeKey(id: String, at date: Date) async throws -> Bool

    /// Adds `amount` to the period's reservations if spent + reserved + amount stays within
    /// `limit`; false otherwise.
    func reserve(keyID: String, period: String, amount: Double, limit: Double) async throws -> Bool
    /// Releases a reservation and records what was actually spent.
    func settle(keyID: String, period: String, reserved: Double, actual: Double) async throws
    /// Spent and reserved amounts of a key in one period.
    func budgetUsage(keyID: String, period: String) async throws -> (spent: Double, reserved: Double)

    /// Counts one request and `tokens` against the key's window unless a limit would be passed.
    func admit(keyID: String, window: Int64, tokens: Int, rpm: Int?, tpm: Int?) async throws -> RateDecision
    /// Requests and tokens counted in one window.
    func windowUsage(keyID: String, window: Int64) async throws -> (requests: Int, tokens: Int)
    /// Adds tokens learnt after the fact (the answer's) to a window.
    func addTokens(keyID: String, window: Int64, tokens: Int) async throws

    func append(_ records: [RequestRecord]) async throws
    /// Writes request-log rows on the calling thread, blocking it, for stores whose writes
    /// cost this process CPU time (SQLite); the second argument asks for a `sched_yield`
    /// after every that many rows (0: none). The log writer runs them on a thread of its
    /// own that way, so that they do not hold up request handling (`LogWriterThread`). Nil
    /// for stores whose work happens in another process (PostgreSQL), which are written
    /// asynchronously.
    var blockingLogAppender: (@Sendable ([RequestRecord], Int) throws -> Void)? { get }
    func report(since: Date, until: Date) async throws -> UsageReport
    /// Drops rate-limit windows older than `window`.
    func pruneWindows(before window: Int64) async throws

    func close() async
}

extension AccountingStore {
    public var blockingLogAppender: (@Sendable ([RequestRecord], Int) throws -> Void)? { nil }
}

/// Opens the configured database and runs its migrations.
public enum StoreFactory {
    public static func open(_ settings: DatabaseSettings, logger: Logger) async throws -> any AccountingStore {
        let store: any AccountingStore
        switch settings.backend {
        case .sqlite(let path): store = try SQLiteStore(path: path)
        case .postgres(let url): store = try PostgresStore(url: url, logger: logger)
        }
        do {
            try await withDeadline(seconds: 30) { try await store.migrate() }
        } catch {
            await store.close()
            throw error
        }
        return store
    }
}

/// Runs `body`, or fails with `StoreError.timeout` when it takes longer than `seconds`
/// (a database that does not answer must not hang the gateway's start).
func withDeadline<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw StoreError.timeout(seconds: seconds)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
