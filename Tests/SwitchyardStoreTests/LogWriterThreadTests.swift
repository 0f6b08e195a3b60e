import Foundation
import Logging
import Synchronization
import Testing
@testable import SwitchyardCore
@testable import SwitchyardStore

/// The request log's writer thread against a recording appender: what is written when,
/// in which order and in which transaction sizes, and what happens when writes fail.
@Suite struct LogWriterThreadTests {
    /// Records every call; fails while `failuresLeft` is above zero.
    final class Sink: Sendable {
        struct State {
            var calls: [[String]] = []
            var yields: [Int] = []
            var failuresLeft = 0
            var attempts = 0
        }
        let state = Mutex(State())

        var append: @Sendable ([RequestRecord], Int) throws -> Void {
            { rows, yieldEvery in
                try self.state.withLock { s in
                    s.yields.append(yieldEvery)
                    s.attempts += 1
                    if s.failuresLeft > 0 {
                        s.failuresLeft -= 1
                        throw CocoaError(.fileWriteUnknown)
                    }
                    s.calls.append(rows.map(\.id))
                }
            }
        }
        var written: [String] { state.withLock { $0.calls.flatMap { $0 } } }
        var calls: [[String]] { state.withLock { $0.calls } }
        var attempts: Int { state.withLock { $0.attempts } }
        var yields: [Int] { state.withLock { $0.yields } }
    }

    func row(_ id: String, at: Date = Date()) -> RequestRecord {
        RequestRecord(
            id: id, createdAt: at, keyID: nil, profile: "balanced", route: "m", decision: "explicit", model: "m", deployment: "m",
            openness: "open", hosting: "local", status: 200, upstreamStatus: 200, usage: Usage(promptTokens: 1, completionTokens: 1),
            usageSource: .provider, cost: 0, counterfactualCost: 0, latencyMs: 1, ttftMs: nil, stream: false, error: nil
        )
    }

    @Test func flushWritesEverythingInOrderInBoundedTransactions() async {
        let sink = Sink()
        let writer = LogWriterThread(append: sink.append, interval: 3600, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        writer.start()
        let ids = (0..<150).map { "r\($0)" }
        for id in ids { writer.record(row(id)) }
        // Neither the (one hour) interval nor the batch size is reached: only the flush writes.
        try? await Task.sleep(nanoseconds: 50_000_000)
        #expect(sink.written.isEmpty)
        #expect(writer.pending == 150)
        await writer.flush()
        #expect(sink.written == ids)
        #expect(sink.calls.map(\.count) == [64, 64, 22])
        #expect(writer.pending == 0)
        await writer.shutdown()
    }

    @Test func intervalAndFullBatchTriggerWrites() async {
        let sink = Sink()
        let timed = LogWriterThread(append: sink.append, interval: 0.05, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        timed.start()
        timed.record(row("t0"))
        var waited = 0
        while sink.written.isEmpty && waited < 200 {
            try? await Task.sleep(nanoseconds: 10_000_000)
            waited += 1
        }
        #expect(sink.written == ["t0"])
        await timed.shutdown()

        let batched = Sink()
        let full = LogWriterThread(append: batched.append, interval: 3600, batchSize: 3, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        full.start()
        for i in 0..<3 { full.record(row("b\(i)")) }
        waited = 0
        while batched.written.count < 3 && waited < 200 {
            try? await Task.sleep(nanoseconds: 10_000_000)
            waited += 1
        }
        #expect(batched.written == ["b0", "b1", "b2"])
        await full.shutdown()
    }

    @Test func failedWritesKeepTheirRowsAndTheirPlace() async {
        let sink = Sink()
        sink.state.withLock { $0.failuresLeft = 2 }
        let writer = LogWriterThread(append: sink.append, interval: 3600, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<3 { writer.record(row("a\(i)")) }
        await writer.flush()
        // The failed rows are back in the buffer, ahead of newer ones, and no retry comes
        // before the interval (an hour here) unless asked for.
        #expect(sink.written.isEmpty)
        #expect(writer.pending == 3)
        writer.record(row("a3"))
        try? await Task.sleep(nanoseconds: 50_000_000)
        #expect(sink.attempts == 1)
        await writer.flush()
        #expect(sink.written.isEmpty)
        await writer.flush()
        #expect(sink.written == ["a0", "a1", "a2", "a3"])
        await writer.shutdown()
    }

    @Test func lateRowsAreWrittenWithoutYielding() async {
        let sink = Sink()
        // Interval 0.1 s: rows more than 0.25 s old count as late.
        let writer = LogWriterThread(append: sink.append, interval: 0.1, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        writer.start()
        writer.record(row("old", at: Date().addingTimeInterval(-5)))
        await writer.flush()
        writer.record(row("new"))
        await writer.flush()
        #expect(sink.written == ["old", "new"])
        #expect(sink.yields == [0, LogWriterThread.rowsBetweenYields])
        await writer.shutdown()

        // Late rows go in whole batches (here 100), on time ones in chunks of 64.
        let batches = Sink()
        let catchingUp = LogWriterThread(append: batches.append, interval: 0.1, batchSize: 100, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        catchingUp.start()
        // Recorded before start would be written at once: record, then flush.
        for i in 0..<150 { catchingUp.record(row("l\(i)", at: Date().addingTimeInterval(-5))) }
        await catchingUp.flush()
        #expect(batches.calls.map(\.count).reduce(0, +) == 150)
        #expect(batches.calls.allSatisfy { $0.count <= 100 })
        #expect(batches.calls.contains { $0.count > 64 })
        await catchingUp.shutdown()
    }

    @Test func shutdownWritesWhatIsLeftAndLaterCallsReturn() async {
        let sink = Sink()
        let writer = LogWriterThread(append: sink.append, interval: 3600, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<70 { writer.record(row("s\(i)")) }
        await writer.shutdown()
        #expect(sink.written == (0..<70).map { "s\($0)" })
        // After the thread has ended, flush and shutdown return at once.
        await writer.flush()
        await writer.shutdown()
    }

    @Test func rowsRecordedWithoutStartAreWrittenAtShutdown() async {
        let sink = Sink()
        let writer = LogWriterThread(append: sink.append, interval: 3600, batchSize: 100_000, maxBuffered: 1_000_000, logger: Logger(label: "test"))
        writer.record(row("n0"))
        writer.record(row("n1"))
        await writer.shutdown()
        #expect(sink.written == ["n0", "n1"])
    }

    @Test func aFullBufferDropsTheOldestRows() async {
        let sink = Sink()
        let writer = LogWriterThread(append: sink.append, interval: 3600, batchSize: 100_000, maxBuffered: 5, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<8 { writer.record(row("d\(i)")) }
        #expect(writer.pending == 5)
        await writer.shutdown()
        #expect(sink.written == ["d3", "d4", "d5", "d6", "d7"])
    }
}
