import Foundation
import Logging
import Synchronization

/// Buffers request-log rows off the request path and writes them in batches.
///
/// `record` only appends under a lock; rows are written every `interval` or as soon as a
/// batch is full. Rows whose write fails stay buffered and are tried again, so a database
/// hiccup delays rows instead of losing them. `shutdown()` writes what is left. Once a
/// minute it also drops the rate-limit windows that no longer count.
///
/// Stores that write on the calling thread (SQLite) get a low-priority thread of their
/// own (`LogWriterThread`); the others (PostgreSQL) are written from a background task.
public final class RequestLogWriter: Sendable {
    private struct State {
        var buffer: [RequestRecord] = []
        var flushScheduled = false
        var stopped = false
    }

    private let store: any AccountingStore
    private let interval: Double
    private let batchSize: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let loop = Mutex<Task<Void, Never>?>(nil)
    /// Serialises writes so that rows keep their order and retries do not overlap.
    private let writing = WriteGate()
    /// Rows kept while the database refuses writes; beyond this the oldest are dropped and counted.
    private let maxBuffered = 200_000
    /// The writer thread, for stores that write on the calling thread.
    private let thread: LogWriterThread?

    public init(store: any AccountingStore, interval: Double, batchSize: Int, logger: Logger) {
        self.store = store
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
        thread = store.blockingLogAppender.map {
            LogWriterThread(append: $0, interval: interval, batchSize: batchSize, maxBuffered: 200_000, logger: logger)
        }
    }

    public func start() {
        if let thread {
            thread.start()
            startPruning()
            return
        }
        let task = Task { [self] in
            var lastPrune = Date.distantPast
            while !state.withLock({ $0.stopped }) {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
                // A write in progress is not cancelled by shutdown: it runs in its own task.
                await Task { await flush() }.value
                // Rate-limit windows older than the sliding minute are no longer read.
                if Date().timeIntervalSince(lastPrune) >= 60 {
                    lastPrune = Date()
                    let window = Int64((Date().timeIntervalSince1970 / 60).rounded(.down))
                    let store = self.store
                    try? await Task { try await store.pruneWindows(before: window - 2) }.value
                }
            }
        }
        loop.withLock { $0 = task }
    }

    /// Once a minute, drops the rate-limit windows older than the sliding minute.
    private func startPruning() {
        let store = self.store
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 60_000_000_000)
                if Task.isCancelled { break }
                let window = Int64((Date().timeIntervalSince1970 / 60).rounded(.down))
                try? await store.pruneWindows(before: window - 2)
            }
        }
        loop.withLock { $0 = task }
    }

    public func record(_ row: RequestRecord) {
        if let thread {
            thread.record(row)
            return
        }
        let flushNow = state.withLock { s -> Bool in
            s.buffer.append(row)
            if s.buffer.count > maxBuffered {
                logger.error("request log buffer full; dropping the oldest rows", metadata: ["dropped": "\(s.buffer.count - maxBuffered)"])
                s.buffer.removeFirst(s.buffer.count - maxBuffered)
            }
            guard s.buffer.count >= batchSize, !s.flushScheduled, !s.stopped else { return false }
            s.flushScheduled = true
            return true
        }
        if flushNow {
            Task { [self] in
                await flush()
                state.withLock { $0.flushScheduled = false }
            }
        }
    }

    /// Rows waiting to be written.
    public var pending: Int { thread?.pending ?? state.withLock { $0.buffer.count } }

    /// Writes everything buffered now.
    public func flush() async {
        if let thread {
            await thread.flush()
            return
        }
        await writing.run {
            let rows = state.withLock { s -> [RequestRecord] in
                let rows = s.buffer
                s.buffer.removeAll(keepingCapacity: true)
                return rows
            }
            guard !rows.isEmpty else { return }
            do {
                try await store.append(rows)
            } catch {
                logger.error("request log write failed; rows kept for the next try", metadata: ["rows": "\(rows.count)", "error": "\(error)"])
                state.withLock { s in s.buffer.insert(contentsOf: rows, at: 0) }
            }
        }
    }

    /// Stops the background writer and writes what is left.
    public func shutdown() async {
        state.withLock { $0.stopped = true }
        let task = loop.withLock { $0 }
        task?.cancel()
        await task?.value
        if let thread {
            await thread.shutdown()
            return
        }
        await flush()
    }
}

/// A one-at-a-time section for async code.
actor WriteGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run(_ body: @Sendable () async -> Void) async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        await body()
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
