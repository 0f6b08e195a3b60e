import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The request log's own OS thread, for stores that write on the calling thread (SQLite).
///
/// Writing a batch of rows takes milliseconds of CPU, and the Linux scheduler (EEVDF) lets
/// a thread it has picked run out its time slice before a thread that wakes on the same
/// core gets it. Written in one go, every batch therefore held up the requests that arrived
/// meanwhile: at concurrency 1 on the two-core benchmark machine, p99 was 2.2–2.9 ms with
/// 500-row batches and 0.76–0.91 ms when nothing was written during the run; a lower
/// priority (nice 10) changed nothing (BENCHMARKS.md). So this thread gives the core away
/// (`sched_yield`) every `rowsBetweenYields` rows, which ends its slice whenever another
/// thread is waiting and costs a system call otherwise, and commits at most `chunk` rows
/// per transaction, so that SQLite's write lock, which budget reservations also take, is
/// never held long. It keeps the ordinary priority, and when the rows it writes are more
/// than `behind` old (the cores are saturated and yielding would let the backlog grow, and
/// memory with it) it stops yielding and commits whole batches until it has caught up.
///
/// Rows are written once `interval` has passed since the oldest unwritten one arrived, or
/// at once when `batchSize` are waiting. Rows whose write fails are kept and tried again
/// after another `interval`; a database that keeps failing delays rows, never drops them
/// until `maxBuffered` are waiting.
final class LogWriterThread: @unchecked Sendable {
    /// About 40 µs of inserts on the benchmark machine (about 10 µs a row).
    static let rowsBetweenYields = 4
    /// Rows per transaction.
    static let chunk = 64

    /// Lets a waiting thread have the core now.
    static func yieldCore() {
        #if canImport(Glibc)
        sched_yield()
        #endif
    }

    private let append: @Sendable ([RequestRecord], Int) throws -> Void
    /// Rows older than this are written without yielding.
    private let behind: Double
    private let interval: Double
    private let batchSize: Int
    private let maxBuffered: Int
    private let logger: Logger

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var buffer: [RequestRecord] = []
    /// When the oldest unwritten row arrived (uptime, ns).
    private var oldest: UInt64 = 0
    /// The thread waits with no deadline (the buffer was empty): the next row wakes it.
    private var idle = false
    /// After a failed write, no retry before this (uptime, ns) unless flushed or stopping.
    private var retryAt: UInt64 = 0
    private var stopping = false
    private var started = false
    private var passesStarted = 0
    private var passesDone = 0
    /// Callers of `flush()`, each waiting for a pass that starts after it asked.
    private var waiters: [(pass: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var exited: CheckedContinuation<Void, Never>?
    private var hasExited = false

    init(append: @escaping @Sendable ([RequestRecord], Int) throws -> Void, interval: Double, batchSize: Int, maxBuffered: Int, logger: Logger) {
        self.append = append
        self.interval = interval
        behind = max(2 * interval, 0.25)
        self.batchSize = max(1, batchSize)
        self.maxBuffered = maxBuffered
        self.logger = logger
    }

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        Thread { [self] in run() }.start()
    }

    func record(_ row: RequestRecord) {
        condition.lock()
        if buffer.isEmpty { oldest = DispatchTime.now().uptimeNanoseconds }
        buffer.append(row)
        if buffer.count > maxBuffered {
            logger.error("request log buffer full; dropping the oldest rows", metadata: ["dropped": "\(buffer.count - maxBuffered)"])
            buffer.removeFirst(buffer.count - maxBuffered)
        }
        // The thread needs waking only to start the interval's clock or for a full batch.
        if (idle && buffer.count == 1) || buffer.count == batchSize { condition.signal() }
        condition.unlock()
    }

    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return buffer.count
    }

    /// Returns once a write of everything recorded before the call has been tried.
    func flush() async {
        start()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if hasExited {
                condition.unlock()
                continuation.resume()
                return
            }
            waiters.append((passesStarted + 1, continuation))
            condition.signal()
            condition.unlock()
        }
    }

    /// Writes what is left and stops the thread (started for that if it never was).
    func shutdown() async {
        start()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if hasExited {
                condition.unlock()
                continuation.resume()
                return
            }
            stopping = true
            exited = continuation
            condition.signal()
            condition.unlock()
        }
    }

    private func run() {
        // Named for `top -H` and profilers (Foundation passes a name set on the current
        // thread to the OS).
        Thread.current.name = "sy-request-log"
        condition.lock()
        while true {
            waitForWork()
            let last = stopping
            passesStarted += 1
            let pass = passesStarted
            writeBuffered()
            passesDone = pass
            let ready = waiters.filter { $0.pass <= pass }
            waiters.removeAll { $0.pass <= pass }
            for waiter in ready { waiter.continuation.resume() }
            if last { break }
        }
        if !buffer.isEmpty {
            logger.error("request log rows could not be written at shutdown", metadata: ["rows": "\(buffer.count)"])
        }
        hasExited = true
        let done = exited
        exited = nil
        let rest = waiters
        waiters.removeAll()
        condition.unlock()
        for waiter in rest { waiter.continuation.resume() }
        done?.resume()
    }

    /// Sleeps until rows are due (the interval has passed or a batch is full, and no failed
    /// write is waiting out its pause), a flush is asked for, or the writer stops.
    private func waitForWork() {
        while !stopping && waiters.isEmpty {
            if buffer.isEmpty {
                idle = true
                condition.wait()
                idle = false
                continue
            }
            let now = DispatchTime.now().uptimeNanoseconds
            let due = max(buffer.count >= batchSize ? now : oldest &+ UInt64(interval * 1e9), retryAt)
            if now >= due { return }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
        }
    }

    /// Writes the buffer in transactions of at most `chunk` rows, releasing the lock while
    /// each is written. Stops at the first failure: its rows go back to the front.
    private func writeBuffered() {
        while let oldest = buffer.first {
            // Catching up, the writer also commits whole batches: fewer transactions, less CPU.
            let late = Date().timeIntervalSince(oldest.createdAt) > behind
            let rows = Array(buffer.prefix(late ? max(Self.chunk, batchSize) : Self.chunk))
            buffer.removeFirst(rows.count)
            condition.unlock()
            var failure: (any Error)?
            do { try append(rows, late ? 0 : Self.rowsBetweenYields) } catch { failure = error }
            condition.lock()
            if let failure {
                logger.error("request log write failed; rows kept for the next try", metadata: ["rows": "\(rows.count)", "error": "\(failure)"])
                buffer.insert(contentsOf: rows, at: 0)
                // The next try comes after another interval (or at shutdown or a flush).
                retryAt = DispatchTime.now().uptimeNanoseconds &+ UInt64(interval * 1e9)
                return
            }
        }
    }
}
