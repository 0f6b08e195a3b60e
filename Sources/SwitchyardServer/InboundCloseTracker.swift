import NIOCore
import Synchronization

/// Notices that the client closed its side of the connection, and tells the stream
/// being written to it.
///
/// Hummingbird allows remote half-closure, so a client that hangs up mid-stream leaves
/// the channel active; only the `inputClosed` event says it is gone. A streaming response
/// registers an action here (cancel its upstream read) instead of polling: no timer, no
/// task per stream, and the upstream request is cancelled as soon as the client leaves.
final class InboundCloseTracker: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private struct State {
        var closed = false
        var action: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Runs `action` once when the client closes its side, or at once if it already has.
    /// A connection carries one request at a time, so a new action replaces the last one.
    func whenClosed(_ action: @escaping @Sendable () -> Void) {
        let closed = state.withLock { s -> Bool in
            if !s.closed { s.action = action }
            return s.closed
        }
        if closed { action() }
    }

    /// Forgets the registered action (the stream it would cancel is over).
    func clearWhenClosed() {
        state.withLock { $0.action = nil }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { markClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }

    private func markClosed() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            s.closed = true
            defer { s.action = nil }
            return s.action
        }
        action?()
    }
}
