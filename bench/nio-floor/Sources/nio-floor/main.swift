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
// Two more modes answer every request themselves with a fixed chat completion (the
// upstream port is not used), to price the server side alone:
//   serve-raw  NIO's HTTP/1 decoder; the answer written as one prebuilt buffer;
//   serve-nio  NIO's full HTTP server pipeline (pipelining assistance, error handling,
//              response encoder); the answer written as head, body and end parts.
// Usage: nio-floor LISTEN_PORT UPSTREAM_PORT bytes|http|await|serve-raw|serve-nio
let arguments = CommandLine.arguments
guard arguments.count == 4, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]),
    ["bytes", "http", "await", "serve-raw", "serve-nio"].contains(arguments[3])
else {
    print("usage: nio-floor LISTEN_PORT UPSTREAM_PORT bytes|http|await|serve-raw|serve-nio")
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

let answerBody = #"{"id":"chatcmpl-floor","object":"chat.completion","created":1700000000,"model":"floor","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#

/// Answers every request with the fixed body, as one buffer or as NIO response parts.
final class Answer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let raw: Bool
    init(raw: Bool) { self.raw = raw }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        if raw {
            var out = context.channel.allocator.buffer(capacity: 160 + answerBody.utf8.count)
            out.writeString("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(answerBody.utf8.count)\r\n\r\n")
            out.writeString(answerBody)
            context.channel.writeAndFlush(out, promise: nil)
            return
        }
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "content-type", value: "application/json")
        head.headers.add(name: "content-length", value: String(answerBody.utf8.count))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answerBody)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

let server = try await ServerBootstrap(group: group)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        if mode.hasPrefix("serve-") {
            return channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                if mode == "serve-raw" {
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                } else {
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                }
                try pipeline.addHandler(Answer(raw: mode == "serve-raw"))
            }
        }
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
