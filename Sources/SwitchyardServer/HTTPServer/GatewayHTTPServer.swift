import Hummingbird
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The gateway's HTTP/1.1 server: NIO's request decoder and one channel handler of ours
/// (`GatewayHTTPHandler`) in front of the Hummingbird router.
///
/// Hummingbird's own server drives every connection as async sequences of request and
/// response parts. On the loopback benchmark that machinery cost more CPU per request
/// than everything the gateway itself does, so the data plane reads requests with a
/// channel handler, runs the router's responder as one task on the connection's event
/// loop (`switchyard serve` makes NIO the concurrency executor, so the task stays on that
/// thread) and writes the answer straight to the channel. Routes, middleware and request
/// contexts are Hummingbird's, unchanged.
///
/// On graceful shutdown (SIGTERM, SIGINT) it stops accepting, lets every connection
/// finish the request it is serving, and returns once all of them are closed.
public final class GatewayHTTPServer: Service {
    private let host: String
    private let port: Int
    private let responder: GatewayHTTPResponder
    private let group: any EventLoopGroup
    private let logger: Logger
    /// Called with the bound address once the server listens (port 0 picks a free one).
    private let onBound: (@Sendable (SocketAddress?) -> Void)?

    public convenience init(
        host: String, port: Int, router: Router<GatewayRequestContext>, maxBodyBytes: Int, idleTimeout: Double = 75, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, onBound: (@Sendable (SocketAddress?) -> Void)? = nil
    ) {
        self.init(
            host: host, port: port, router: router, directPostRoutes: [:], maxBodyBytes: maxBodyBytes, idleTimeout: idleTimeout, logger: logger,
            group: group, onBound: onBound
        )
    }

    /// `directPostRoutes`: `POST` handlers by exact path that the server calls without the
    /// router (see `GatewayApplication.directRoutes`).
    init(
        host: String, port: Int, router: Router<GatewayRequestContext>, directPostRoutes: [String: GatewayHTTPResponder.Route],
        maxBodyBytes: Int, idleTimeout: Double = 75, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, onBound: (@Sendable (SocketAddress?) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.responder = GatewayHTTPResponder(
            responder: router.buildResponder(), directPostRoutes: directPostRoutes, maxBodyBytes: maxBodyBytes, idleTimeout: .milliseconds(Int64(idleTimeout * 1000)), logger: logger
        )
        self.group = group
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let responder = self.responder
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            // A client that shuts its sending side mid-stream is noticed (InboundCloseTracker)
            // rather than treated as a closed connection before the answer is written.
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(InboundCloseTracker())
                    try pipeline.addHandler(GatewayHTTPHandler(responder: responder))
                }
            }
            .bind(host: host, port: port).get()
        onBound?(serverChannel.localAddress)
        logger.debug("http server bound", metadata: ["address": .string(serverChannel.localAddress.map { "\($0)" } ?? "?")])
        let drained = serverChannel.eventLoop.makePromise(of: Void.self)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await drained.futureResult.get()
            } onGracefulShutdown: {
                quiesce.initiateShutdown(promise: drained)
            }
        } onCancel: {
            quiesce.initiateShutdown(promise: drained)
        }
    }
}
