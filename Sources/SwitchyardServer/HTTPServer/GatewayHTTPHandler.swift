import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// What every connection shares: the router's responder and the body limit.
struct GatewayHTTPResponder: Sendable {
    let responder: RouterResponder<GatewayRequestContext>
    let maxBodyBytes: Int
    let idleTimeout: TimeAmount
    let logger: Logger
}

/// Reads one HTTP/1.1 request at a time (NIO's pipelining helper holds back the next
/// one until the answer is written), hands it to the router in a task, and writes the
/// router's response to the channel.
///
/// The body is collected here, up to the gateway's limit; a larger one gets 413 in the
/// API's own error shape and the connection is closed, since the rest of it is not read.
final class GatewayHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: GatewayHTTPResponder
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    /// The request was answered before its end (413 to an `Expect: 100-continue`).
    private var answered = false
    /// A request handed to the router whose answer is not written yet.
    private var inFlight = false
    private var lastActivity = NIODeadline.now()
    /// When the head of the request being received arrived.
    private var requestStarted: NIODeadline?
    private var idleTimer: Scheduled<Void>?

    init(responder: GatewayHTTPResponder) {
        self.responder = responder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armIdleTimer(context: context, in: responder.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        context.fireChannelInactive()
    }

    /// Closes the connection once it has been idle for the configured time: nothing in
    /// flight and nothing received. One timer per connection, re-armed when it fires early.
    private func armIdleTimer(context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.checkIdle(context: context)
        }
    }

    private func checkIdle(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let now = NIODeadline.now()
        let limit = responder.idleTimeout
        // A request that has begun must also arrive whole within the limit: a client that
        // trickles its body does not hold the connection. (Trickled headers never reach
        // this handler, so the idle rule below already covers them.)
        if !inFlight, let head, let started = requestStarted, now - started >= limit {
            self.head = nil
            body = nil
            answered = true
            let seconds = Double(limit.nanoseconds) / 1e9
            let error = GatewayError(
                status: 408, type: "invalid_request_error", code: "request_timeout",
                message: "The request was not received completely within \(seconds) seconds."
            )
            Self.writeFixed(Self.errorResponse(uri: head.uri, error: error), to: context.channel, keepAlive: false)
            return
        }
        let quiet = now - lastActivity
        if !inFlight && quiet >= limit {
            context.close(promise: nil)
            return
        }
        var next = inFlight ? limit : limit - quiet
        if !inFlight, head != nil, let started = requestStarted { next = min(next, limit - (now - started)) }
        armIdleTimer(context: context, in: max(next, .milliseconds(10)))
    }

    /// Called on the event loop when the answer to the request in flight is written.
    fileprivate func requestFinished() {
        inFlight = false
        lastActivity = .now()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            answered = false
            requestStarted = lastActivity
            tooLarge = head.headers.first(name: "content-length").flatMap { Int($0) }.map { $0 > responder.maxBodyBytes } ?? false
            // Clients that ask first (curl for larger bodies, some Java and .NET clients) would
            // otherwise wait a second or more before sending the body; one whose declared
            // body is over the limit gets the 413 at once instead, and nothing is read.
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                if tooLarge {
                    answered = true
                    Self.writeFixed(Self.tooLargeResponse(uri: head.uri, limit: responder.maxBodyBytes), to: context.channel, keepAlive: false)
                } else {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
                }
            }
        case .body(var part):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > responder.maxBodyBytes {
                tooLarge = true
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            requestStarted = nil
            guard let head, !answered else { return }
            self.head = nil
            let body = self.body ?? ByteBuffer()
            self.body = nil
            let channel = context.channel
            if tooLarge {
                Self.writeFixed(Self.tooLargeResponse(uri: head.uri, limit: responder.maxBodyBytes), to: channel, keepAlive: false)
                return
            }
            let responder = self.responder
            let keepAlive = head.isKeepAlive
            let version = head.version
            let request = Request(head: Self.httpRequest(head), body: RequestBody(buffer: body))
            inFlight = true
            let finished = NIOLoopBound(self, eventLoop: context.eventLoop)
            Self.spawn(request, version: version, keepAlive: keepAlive, channel: channel, responder: responder, finished: finished)
        }
    }

    /// NIO is the concurrency executor: the task runs on this channel's event loop.
    private static func spawn(
        _ request: Request, version: HTTPVersion, keepAlive: Bool, channel: any Channel, responder: GatewayHTTPResponder,
        finished: NIOLoopBound<GatewayHTTPHandler>
    ) {
        Task {
            await serve(request, version: version, keepAlive: keepAlive, channel: channel, responder: responder)
            finished.eventLoop.execute { finished.value.requestFinished() }
        }
    }

    /// A malformed request (NIO's error handler has already answered 400) or a failed
    /// socket: the connection cannot continue.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private static func serve(_ request: Request, version: HTTPVersion, keepAlive: Bool, channel: any Channel, responder: GatewayHTTPResponder) async {
        let context = GatewayRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: responder.logger))
        let response: Response
        do {
            response = try await responder.responder.respond(to: request, context: context)
        } catch {
            response = .error(GatewayError(status: 500, type: "server_error", message: "Internal error: \(error)"))
        }
        var responseHead = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: Int(response.status.code)))
        responseHead.headers.reserveCapacity(response.headers.count + 3)
        for field in response.headers { responseHead.headers.add(name: field.name.rawName, value: field.value) }
        if response.headers[.date] == nil { responseHead.headers.add(name: "date", value: HTTPDate.now) }
        let contentLength = response.body.contentLength
        if let contentLength, response.headers[.contentLength] == nil {
            responseHead.headers.add(name: "content-length", value: String(contentLength))
        }
        if !keepAlive { responseHead.headers.replaceOrAdd(name: "connection", value: "close") }
        channel.write(HTTPServerResponsePart.head(responseHead), promise: nil)
        // A body of known length is all in memory: it goes out with one flush at the end.
        // A stream (no length) is flushed chunk by chunk.
        let writer = ChannelResponseWriter(channel: channel, flushEachWrite: contentLength == nil, awaitEnd: !keepAlive)
        do {
            try await response.body.write(writer)
        } catch {
            // The client went away or the body failed midway: nothing more can be sent.
            channel.close(promise: nil)
            return
        }
        if !keepAlive { channel.close(promise: nil) }
    }

    /// 413 in the shape of the API the path belongs to.
    private static func tooLargeResponse(uri: String, limit: Int) -> Response {
        errorResponse(uri: uri, error: .bodyTooLarge(limit: limit))
    }

    /// An error in the shape of the API the path belongs to (Anthropic's under `/v1/messages`).
    private static func errorResponse(uri: String, error: GatewayError) -> Response {
        uri.hasPrefix("/v1/messages")
            ? .json(
                status: HTTPResponse.Status(code: error.status), body: ByteBuffer(bytes: JSONWriter.bytes(AnthropicInboundResponse.error(error))),
                model: nil, deployment: nil
            )
            : .error(error)
    }

    /// Writes a response whose body is a single buffer.
    private static func writeFixed(_ response: Response, to channel: any Channel, keepAlive: Bool) {
        Task {
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: Int(response.status.code)))
            for field in response.headers { head.headers.add(name: field.name.rawName, value: field.value) }
            head.headers.add(name: "date", value: HTTPDate.now)
            if let length = response.body.contentLength { head.headers.replaceOrAdd(name: "content-length", value: String(length)) }
            if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            try? await response.body.write(ChannelResponseWriter(channel: channel, flushEachWrite: false, awaitEnd: !keepAlive))
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    /// NIO's request head as HTTPTypes', which Hummingbird's router works with.
    static func httpRequest(_ head: HTTPRequestHead) -> HTTPRequest {
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return HTTPRequest(method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: nil, authority: nil, path: head.uri, headerFields: fields)
    }
}

/// Hummingbird's response body writer over a NIO channel.
///
/// Writes are not awaited while the channel can take more: awaiting each would cost a
/// suspension per SSE chunk. When the socket's buffer is full the write is awaited,
/// which is the back-pressure a slow client puts on the stream.
struct ChannelResponseWriter: ResponseBodyWriter {
    let channel: any Channel
    let flushEachWrite: Bool
    /// Wait until the end is on the wire (the connection is closed right after).
    var awaitEnd = false

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        let part = HTTPServerResponsePart.body(.byteBuffer(buffer))
        if !flushEachWrite {
            channel.write(part, promise: nil)
        } else if channel.isWritable {
            channel.writeAndFlush(part, promise: nil)
        } else {
            try await channel.writeAndFlush(part).get()
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        var trailers: HTTPHeaders?
        if let trailingHeaders {
            var headers = HTTPHeaders()
            for field in trailingHeaders { headers.add(name: field.name.rawName, value: field.value) }
            trailers = headers
        }
        if awaitEnd {
            try await channel.writeAndFlush(HTTPServerResponsePart.end(trailers)).get()
        } else {
            channel.writeAndFlush(HTTPServerResponsePart.end(trailers), promise: nil)
        }
    }
}
