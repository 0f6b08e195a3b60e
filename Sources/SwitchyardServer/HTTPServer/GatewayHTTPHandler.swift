import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// What every connection shares: the router's responder, the routes called directly, and
/// the body limit.
struct GatewayHTTPResponder: Sendable {
    typealias Route = @Sendable (Request, GatewayRequestContext) async -> Response

    let responder: RouterResponder<GatewayRequestContext>
    /// `POST` routes by exact path (no query string), answered without the router.
    var directPostRoutes: [String: Route] = [:]
    let maxBodyBytes: Int
    let idleTimeout: TimeAmount
    let logger: Logger
}

/// Reads one HTTP/1.1 request at a time, hands it to its route (directly, or through the
/// router) in a task, and writes the response to the channel as bytes it encodes itself.
///
/// Requests that arrive while an answer is being written (pipelining) wait here; once one
/// waits, the connection reads nothing more until the answers before it are out, so they
/// are answered in order and a pipelining client cannot make the gateway buffer more than
/// one read. NIO's own server
/// helpers (pipelining assistance, response encoder, header validation, protocol errors)
/// did the same through four more handlers per write; on a relayed stream they were a
/// tenth of the gateway's CPU, so this handler encodes the status line, headers and chunks
/// directly (`HTTPResponseBytes`).
///
/// The body is collected here, up to the gateway's limit; a larger one gets 413 in the
/// API's own error shape and the connection is closed, since the rest of it is not read.
final class GatewayHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

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
    /// Parts of requests that arrived while an answer was in flight, in order.
    private var queued: CircularBuffer<HTTPServerRequestPart> = []
    /// A read the channel asked for while an answer was in flight, held back until it is out.
    private var readHeld = false
    /// Close once the answer in flight is written: the server is shutting down, or the
    /// client sent bytes that are not HTTP after it.
    private var closeWhenAnswered = false
    /// The client shut its sending side: what it sent is answered, then the connection closes.
    private var inputClosed = false
    private var context: ChannelHandlerContext?

    init(responder: GatewayHTTPResponder) {
        self.responder = responder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armIdleTimer(context: context, in: responder.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        self.context = nil
    }

    /// Reads go on while an answer is in flight, so a client that sends one request at a
    /// time costs no change of the socket's epoll interest (two system calls per request).
    /// Once a pipelined request is waiting, nothing more is read until the answers before it
    /// are out: what the gateway holds for a client is bounded by one read.
    func read(context: ChannelHandlerContext) {
        if inFlight && !queued.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its answer. A
    /// client that shuts its sending side gets the answers to what it sent first.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            inputClosed = true
            if !inFlight && queued.isEmpty { context.close(promise: nil) }
            context.fireUserInboundEventTriggered(event)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            if inFlight || head != nil {
                closeWhenAnswered = true
            } else {
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
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
            Self.writeFixed(Self.errorResponse(uri: head.uri, error: error), to: context.channel, version: head.version, keepAlive: false)
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

    /// Called on the event loop when the answer to the request in flight is written: the
    /// requests that waited meanwhile are taken in order, then reading resumes.
    fileprivate func requestFinished() {
        inFlight = false
        lastActivity = .now()
        guard let context else { return }
        if closeWhenAnswered {
            context.close(promise: nil)
            return
        }
        while !inFlight, let part = queued.popFirst() {
            receive(part, context: context)
        }
        if !inFlight && inputClosed {
            context.close(promise: nil)
            return
        }
        if !inFlight && readHeld {
            readHeld = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        let part = unwrapInboundIn(data)
        if inFlight || !queued.isEmpty {
            queued.append(part)
        } else {
            receive(part, context: context)
        }
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
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
                    Self.writeFixed(Self.tooLargeResponse(uri: head.uri, limit: responder.maxBodyBytes), to: context.channel, version: head.version, keepAlive: false)
                } else {
                    context.writeAndFlush(wrapOutboundOut(HTTPResponseBytes.continue(version: head.version, allocator: context.channel.allocator)), promise: nil)
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
                Self.writeFixed(Self.tooLargeResponse(uri: head.uri, limit: responder.maxBodyBytes), to: channel, version: head.version, keepAlive: false)
                return
            }
            let responder = self.responder
            let framing = HTTPResponseBytes.Framing(request: head, closing: closeWhenAnswered)
            let request = Request(head: Self.httpRequest(head), body: RequestBody(buffer: body))
            inFlight = true
            let finished = NIOLoopBound(self, eventLoop: context.eventLoop)
            Self.spawn(request, body: body, framing: framing, channel: channel, responder: responder, finished: finished)
        }
    }

    /// NIO is the concurrency executor: the task runs on this channel's event loop. A
    /// request alone on its loop starts inline, up to its first suspension (the upstream
    /// call); otherwise it is queued behind the loop's other work.
    private static func spawn(
        _ request: Request, body: ByteBuffer, framing: HTTPResponseBytes.Framing, channel: any Channel, responder: GatewayHTTPResponder,
        finished: NIOLoopBound<GatewayHTTPHandler>
    ) {
        let loop = finished.eventLoop
        let work: @Sendable () async -> Void = {
            await serve(request, body: body, framing: framing, channel: channel, responder: responder)
            EventLoopGlobalExecutor.requestEnded(on: loop)
            loop.execute { finished.value.requestFinished() }
        }
        if EventLoopGlobalExecutor.requestStarted(on: loop) {
            Task.immediate { await work() }
        } else {
            Task { await work() }
        }
    }

    /// Bytes that are not HTTP/1.1 get 400 in OpenAI's error shape and the connection is
    /// closed, since nothing after them can be framed; other errors are socket failures.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        if inFlight {
            // The answer being written goes out first.
            closeWhenAnswered = true
            queued.removeAll()
            return
        }
        let problem = GatewayError(
            status: 400, type: "invalid_request_error", code: "malformed_http", message: "The request is not valid HTTP/1.1: \(error)."
        )
        head = nil
        answered = true
        Self.writeFixed(.error(problem), to: context.channel, version: .http1_1, keepAlive: false)
    }

    private static func serve(
        _ request: Request, body: ByteBuffer, framing: HTTPResponseBytes.Framing, channel: any Channel, responder: GatewayHTTPResponder
    ) async {
        var context = GatewayRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: responder.logger))
        context.collectedBody = body
        let response: Response
        do {
            if request.method == .post, let route = responder.directPostRoutes[request.uri.path] {
                response = await route(request, context)
            } else {
                response = try await responder.responder.respond(to: request, context: context)
            }
        } catch {
            response = .error(GatewayError(status: 500, type: "server_error", message: "Internal error: \(error)"))
        }
        await write(response, framing: framing, to: channel)
    }

    /// Writes a whole response: the head, then the body as the route produces it. A body of
    /// known length is all in memory and goes out with one flush at the end; a stream is
    /// flushed chunk by chunk.
    private static func write(_ response: Response, framing: HTTPResponseBytes.Framing, to channel: any Channel) async {
        let contentLength = response.body.contentLength
        let encoding = HTTPResponseBytes.encoding(status: Int(response.status.code), contentLength: contentLength, framing: framing)
        channel.write(HTTPResponseBytes.head(response, encoding: encoding, framing: framing, allocator: channel.allocator), promise: nil)
        let keepAlive = framing.keepAlive && encoding != .untilClose
        let writer = ChannelResponseWriter(channel: channel, encoding: encoding, awaitEnd: !keepAlive)
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

    /// Writes a response whose body is a single buffer, outside the request task.
    private static func writeFixed(_ response: Response, to channel: any Channel, version: HTTPVersion, keepAlive: Bool) {
        let framing = HTTPResponseBytes.Framing(version: version, keepAlive: keepAlive, isHead: false)
        Task { await write(response, framing: framing, to: channel) }
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

/// Hummingbird's response body writer over a NIO channel, framing each part itself.
///
/// Writes are not awaited while the channel can take more: awaiting each would cost a
/// suspension per SSE chunk. When the socket's buffer is full the write is awaited,
/// which is the back-pressure a slow client puts on the stream.
struct ChannelResponseWriter: ResponseBodyWriter {
    let channel: any Channel
    let encoding: HTTPResponseBytes.BodyEncoding
    /// Wait until the end is on the wire (the connection is closed right after).
    var awaitEnd = false

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        switch encoding {
        case .none:
            return
        case .fixed:
            // All of it is in memory: one flush at the end.
            channel.write(buffer, promise: nil)
        case .chunked:
            guard buffer.readableBytes > 0 else { return }
            try await flush(HTTPResponseBytes.chunk(buffer, allocator: channel.allocator))
        case .untilClose:
            try await flush(buffer)
        }
    }

    private func flush(_ bytes: ByteBuffer) async throws {
        if channel.isWritable {
            channel.writeAndFlush(bytes, promise: nil)
        } else {
            try await channel.writeAndFlush(bytes).get()
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        var end = channel.allocator.buffer(capacity: 0)
        if case .chunked = encoding { end = HTTPResponseBytes.lastChunk(trailers: trailingHeaders, allocator: channel.allocator) }
        if awaitEnd {
            try await channel.writeAndFlush(end).get()
        } else {
            channel.writeAndFlush(end, promise: nil)
        }
    }
}
