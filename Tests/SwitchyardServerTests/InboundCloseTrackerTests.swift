import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import SwitchyardServer

/// The close tracker tells a registered stream once, when the client half-closes or the
/// connection goes away, and not after the stream has cleared its registration.
@Suite struct InboundCloseTrackerTests {
    final class Calls: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func hit() { count.add(1, ordering: .relaxed) }
    }

    @Test func halfCloseRunsTheActionOnce() throws {
        let tracker = InboundCloseTracker()
        let channel = EmbeddedChannel(handler: tracker)
        let calls = Calls()
        tracker.whenClosed { calls.hit() }
        #expect(calls.value == 0)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(calls.value == 1)
        channel.pipeline.fireChannelInactive()
        #expect(calls.value == 1)
        // Registered after the client left: runs at once.
        let late = Calls()
        tracker.whenClosed { late.hit() }
        #expect(late.value == 1)
        _ = try? channel.finish()
    }

    @Test func closingTheConnectionRunsTheAction() throws {
        let tracker = InboundCloseTracker()
        let channel = EmbeddedChannel(handler: tracker)
        let calls = Calls()
        tracker.whenClosed { calls.hit() }
        try channel.close().wait()
        #expect(calls.value == 1)
    }

    @Test func aClearedOrReplacedActionDoesNotRun() throws {
        let tracker = InboundCloseTracker()
        let channel = EmbeddedChannel(handler: tracker)
        let first = Calls()
        let second = Calls()
        tracker.whenClosed { first.hit() }
        tracker.whenClosed { second.hit() }
        tracker.clearWhenClosed()
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(first.value == 0)
        #expect(second.value == 0)
        let third = Calls()
        let other = InboundCloseTracker()
        let otherChannel = EmbeddedChannel(handler: other)
        other.whenClosed { first.hit() }
        other.whenClosed { third.hit() }
        otherChannel.pipeline.fireChannelInactive()
        #expect(first.value == 0)
        #expect(third.value == 1)
        _ = try? channel.finish()
        _ = try? otherChannel.finish()
    }
}
