#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

// A proxy that does nothing but move a request to one upstream and the answer back, to
// measure the floor any SwiftNIO gateway pays on this machine. One upstream connection per
// client connection, on the same event loop. Modes:
//   bytes  copies bytes both ways, unparsed;
//   http   parses requests with NIO's HTTP/1 decoder and re-sends each one upstream;
//          the upstream's answer is relayed as bytes;
//   await  as http, but each request is handled by a Swift task that awaits the upstream's
//          answer (NIO as the concurrency executor, like the gateway).
// Usage: nio-floor LISTEN_PORT UPSTREAM_PORT bytes|http|await
let arguments = CommandLine.arguments
guard arguments.count == 4, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]),
    ["bytes", "http", "await"].contains(arguments[3])
else {
    print("usage: nio-floor LISTEN_PORT UPSTREAM_PORT bytes|http|await")
    exit(2)
}
let mode = arguments[3]
if mode == "await" { _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() }
let group = MultiThreadedEventLoopGroup.singleton

/// Forwards what it reads to `peer`, or hands the first read to a waiting task.
final class Relay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var peer: (any Channel)?
    var waiter: CheckedContinuation<ByteBuffer, Never>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: unwrapInboundIn(data))
            return
        }
        peer?.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }
}

/// Collects one HTTP request and re-sends it upstream as bytes.
final class Front: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    let upstream: any Channel
    let back: Relay
    let client: any Channel
    var uri = "/"
    var body = ByteBuffer()

    init(upstream: any Channel, back: Relay, client: any Channel) {
        self.upstream = upstream
        self.back = back
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            var out = context.channel.allocator.buffer(capacity: 128 + body.readableBytes)
            out.writeString("POST \(uri) HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: \(body.readableBytes)\r\n\r\n")
            out.writeBuffer(&body)
            guard mode == "await" else {
                upstream.writeAndFlush(out, promise: nil)
                return
            }
            let (upstream, back, client, request) = (upstream, back, client, out)
            Task {
                let answer: ByteBuffer = await withCheckedContinuation { continuation in
                    back.waiter = continuation
                    upstream.writeAndFlush(request, promise: nil)
                }
                client.writeAndFlush(answer, promise: nil)
            }
        }
    }
}

let server = try await ServerBootstrap(group: group)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        let back = Relay()
        back.peer = mode == "await" ? nil : channel
        return ClientBootstrap(group: channel.eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { $0.pipeline.addHandler(back) }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .flatMap { upstream in
                if mode == "bytes" {
                    let front = Relay()
                    front.peer = upstream
                    back.peer = channel
                    return channel.pipeline.addHandler(front)
                }
                back.peer = channel
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(Front(upstream: upstream, back: back, client: channel))
                }
            }
    }
    .bind(host: "127.0.0.1", port: listenPort).get()
print("nio-floor \(mode) on \(listenPort) -> \(upstreamPort)")
try await server.closeFuture.get()
