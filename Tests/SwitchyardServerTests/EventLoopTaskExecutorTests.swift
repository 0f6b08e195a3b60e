import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import SwitchyardServer

/// A request's task prefers its connection's event loop: the task body, the `@concurrent`
/// functions it calls and the code after a continuation resumed elsewhere all run on that
/// loop's thread.
@Suite struct EventLoopTaskExecutorTests {
    @concurrent static func onLoop(_ loop: any EventLoop) async -> Bool { loop.inEventLoop }

    @Test func aPreferringTaskStaysOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(loop)
        let observed = await Task(executorPreference: executor) { () -> [Bool] in
            var seen = [loop.inEventLoop, await Self.onLoop(loop)]
            // Resumed from another thread: the rest still runs on the loop.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread { continuation.resume() }.start()
            }
            seen.append(loop.inEventLoop)
            seen.append(await Self.onLoop(loop))
            return seen
        }.value
        #expect(observed == [true, true, true, true])
        // Without the preference, a @concurrent function runs on the global executor.
        #expect(await Task { await Self.onLoop(loop) }.value == false)
        try await group.shutdownGracefully()
    }
}
