import NIOCore
import Synchronization

/// Remembers that the client closed its side of the connection.
///
/// Hummingbird allows remote half-closure, so a client that hangs up mid-stream leaves
/// the channel active; only the `inputClosed` event says it is gone. Streaming responses
/// poll this flag to cancel the upstream request instead of waiting for it to finish.
final class InboundCloseTracker: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let closed = Atomic<Bool>(false)

    var inputClosed: Bool { closed.load(ordering: .relaxed) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { closed.store(true, ordering: .relaxed) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.store(true, ordering: .relaxed)
        context.fireChannelInactive()
    }
}
