import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SwitchyardCore

/// No byte arrived from the upstream within the read timeout. The caller knows whether
/// that was before the first byte or between stream chunks.
struct UpstreamReadTimeout: Error {}

/// A small HTTP/1.1 client for plain-text upstreams: llama.cpp, vLLM, TGI or Ollama on
/// the same host or network, the gateway's common case and its hot path.
///
/// Connections are pooled per event loop and a request runs on a connection of the loop
/// the calling task runs on, so a relayed request never changes threads. Requests are
/// written as one flush; the answer's parts are handed over through `PlainExchange`.
/// TLS upstreams go through AsyncHTTPClient instead (see `UpstreamTransport`).
final class PlainHTTPClient: Sendable {
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount
    /// Silence allowed before the first body byte, and between body parts after it.
    let firstByteTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private let pools = Mutex<[String: PlainConnectionPool]>([:])
    /// Per upstream URL: its pool, request path and `Host` value, so a request does not
    /// parse the URL again.
    private let targets = Mutex<[String: Target]>([:])

    private struct Target {
        let pool: PlainConnectionPool
        let path: String
        let host: String
    }

    init(group: any EventLoopGroup, connectTimeout: TimeAmount, firstByteTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.firstByteTimeout = firstByteTimeout
        self.idleTimeout = idleTimeout
    }

    /// `http://host[:port]/path` split into its parts; nil for anything else.
    static func split(url: String) -> (host: String, port: Int, path: String)? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = Substring(authority)
        var port = 80
        if authority.hasPrefix("[") {
            // [v6]:port
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return (String(host), port, path)
    }

    /// Sends the request and returns once the response head has arrived.
    func execute(
        method: String, url: String, headers: [(String, String)], body: [UInt8], deadline: NIODeadline
    ) async throws -> (head: HTTPResponseHead, exchange: PlainExchange) {
        let target = try self.target(for: url)
        let pool = target.pool
        // On an event loop (the gateway's case) its own connections; elsewhere any idle one.
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let request = Self.encodeRequest(method: method, path: target.path, host: target.host, headers: headers, body: body)
        let isHead = method == "HEAD"
        // A pooled connection the upstream closed while idle fails before any answer byte;
        // that one attempt is repeated on a new connection.
        for reuse in [true, false] {
            let connection: PlainConnection
            if reuse, let idle = pool.take(on: current) {
                connection = idle
            } else {
                connection = try await pool.connect(on: current ?? group.next(), timeout: connectTimeout)
            }
            let exchange = PlainExchange(connection: connection, pool: pool)
            do {
                let responseHead = try await connection.send(
                    request, isHead: isHead, exchange: exchange, firstByte: firstByteTimeout, idle: idleTimeout, deadline: deadline
                )
                return (responseHead, exchange)
            } catch let error as PlainConnection.StaleConnection {
                _ = error
                if reuse && connection.wasReused { continue }
                throw AttemptFailureError(.connect("the upstream closed the connection before answering"))
            }
        }
        throw AttemptFailureError(.connect("the upstream closed the connection before answering"))
    }

    /// The request as bytes (RFC 9112 §3): request line, the caller's fields with `host`
    /// added when missing and `content-length` set by the gateway, then the body. Field
    /// names and values come from the gateway's own adapters; CR and LF are dropped from
    /// them all the same, so no value can start a field of its own.
    static func encodeRequest(method: String, path: String, host: String, headers: [(String, String)], body: [UInt8]) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 96 + path.utf8.count + headers.count * 48 + body.count)
        out.writeString(method)
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(path)
        out.writeStaticString(" HTTP/1.1\r\n")
        var hasHost = false
        for (name, value) in headers {
            if equalsIgnoringCase(name, "host") { hasHost = true }
            if equalsIgnoringCase(name, "content-length") { continue }
            writeFieldText(name, into: &out)
            out.writeStaticString(": ")
            writeFieldText(value, into: &out)
            out.writeStaticString("\r\n")
        }
        if !hasHost {
            out.writeStaticString("host: ")
            out.writeString(host)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("content-length: ")
        HTTPResponseBytes.writeDecimal(body.count, into: &out)
        out.writeStaticString("\r\n\r\n")
        out.writeBytes(body)
        return out
    }

    private static func writeFieldText(_ text: String, into out: inout ByteBuffer) {
        if text.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
            out.writeBytes(text.utf8.filter { $0 != 13 && $0 != 10 && $0 != 0 })
        } else {
            out.writeString(text)
        }
    }

    /// ASCII case-insensitive equality with a lowercase name, without allocating.
    static func equalsIgnoringCase(_ name: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard name.utf8.count == expected.count else { return false }
        for (a, b) in zip(name.utf8, expected) where a != b && !(a >= 0x41 && a <= 0x5A && a | 0x20 == b) { return false }
        return true
    }

    private func target(for url: String) throws -> Target {
        if let known = targets.withLock({ $0[url] }) { return known }
        guard let (host, port, path) = Self.split(url: url) else {
            throw AttemptFailureError(.connect("not a plain http:// URL: \(url)"))
        }
        let authority = "\(host):\(port)"
        let pool = pools.withLock { pools in
            if let pool = pools[authority] { return pool }
            let pool = PlainConnectionPool(host: host, port: port)
            pools[authority] = pool
            return pool
        }
        let target = Target(pool: pool, path: path, host: port == 80 ? host : authority)
        // Upstream URLs come from the configuration, so this stays small; a bound all the same.
        targets.withLock { if $0.count < 4096 { $0[url] = target } }
        return target
    }

    func shutdown() {
        targets.withLock { $0.removeAll() }
        let all = pools.withLock { pools in
            let values = Array(pools.values)
            pools.removeAll()
            return values
        }
        for pool in all { pool.closeAll() }
    }
}

/// Idle keep-alive connections to one upstream address, per event loop.
final class PlainConnectionPool: Sendable {
    let host: String
    let port: Int
    private let idle = Mutex<[ObjectIdentifier: [PlainConnection]]>([:])
    /// More idle connections than this per loop are closed instead of kept.
    private let maxIdlePerLoop = 512

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// An idle connection on `loop`, or on any loop when the caller runs on none.
    func take(on loop: (any EventLoop)?) -> PlainConnection? {
        idle.withLock { idle in
            if let loop {
                let key = ObjectIdentifier(loop)
                while let connection = idle[key]?.popLast() {
                    if connection.channel.isActive { return connection }
                }
                return nil
            }
            for key in Array(idle.keys) {
                while let connection = idle[key]?.popLast() {
                    if connection.channel.isActive { return connection }
                }
            }
            return nil
        }
    }

    func give(_ connection: PlainConnection) {
        let kept = idle.withLock { idle -> Bool in
            let key = ObjectIdentifier(connection.channel.eventLoop)
            guard (idle[key]?.count ?? 0) < maxIdlePerLoop else { return false }
            idle[key, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    func connect(on loop: any EventLoop, timeout: TimeAmount) async throws -> PlainConnection {
        do {
            let channel = try await ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PlainResponseHandler())
                    }
                }
                .connect(host: host, port: port).get()
            let handler = try await channel.pipeline.handler(type: PlainResponseHandler.self).get()
            return PlainConnection(channel: channel, handler: handler)
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw AttemptFailureError(.timeout(phase: .connect)) }
            throw AttemptFailureError(.connect("\(host):\(port): \(error)"))
        } catch {
            throw AttemptFailureError(.connect("\(host):\(port): \(error)"))
        }
    }

    func closeAll() {
        let all = idle.withLock { idle in
            let values = idle.values.flatMap { $0 }
            idle.removeAll()
            return values
        }
        for connection in all { connection.channel.close(promise: nil) }
    }
}

/// One keep-alive connection and its response handler.
final class PlainConnection: Sendable {
    struct StaleConnection: Error {}

    let channel: any Channel
    let handler: PlainResponseHandler
    private let uses = Atomic<Int>(0)

    init(channel: any Channel, handler: PlainResponseHandler) {
        self.channel = channel
        self.handler = handler
    }

    var wasReused: Bool { uses.load(ordering: .relaxed) > 1 }

    /// Writes the request and waits for the response head.
    func send(
        _ request: ByteBuffer, isHead: Bool, exchange: PlainExchange, firstByte: TimeAmount, idle: TimeAmount, deadline: NIODeadline
    ) async throws -> HTTPResponseHead {
        uses.add(1, ordering: .relaxed)
        let handler = self.handler
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<HTTPResponseHead, any Error>) in
                exchange.setHeadWaiter(continuation)
                let write: @Sendable () -> Void = {
                    handler.start(exchange, headRequest: isHead, firstByte: firstByte, idle: idle, deadline: deadline)
                    channel.writeAndFlush(request, promise: nil)
                }
                if channel.eventLoop.inEventLoop { write() } else { channel.eventLoop.execute(write) }
            }
        } onCancel: {
            exchange.cancel()
        }
    }
}

/// One request's answer as it arrives: the head once, then body parts, then the end (or
/// an error). The channel handler feeds it on the event loop; the task that sent the
/// request reads it, from whatever thread it runs on.
///
/// A waiting reader's continuation is taken out of the state under its lock before it is
/// resumed, so each is resumed exactly once; that is why unchecked continuations (no
/// allocation per wait) are safe here.
final class PlainExchange: @unchecked Sendable {
    private struct State {
        var headWaiter: UnsafeContinuation<HTTPResponseHead, any Error>?
        var bodyWaiter: UnsafeContinuation<ByteBuffer?, any Error>?
        var parts: [ByteBuffer] = []
        var partIndex = 0
        var bufferedBytes = 0
        var ended = false
        var failure: (any Error)?
        var gotHead = false
        var cancelled = false
    }

    private let state = Mutex(State())
    let connection: PlainConnection
    private let pool: PlainConnectionPool
    /// Past this many unread bytes the connection stops reading until the reader catches up.
    static let highWater = 1 << 20

    init(connection: PlainConnection, pool: PlainConnectionPool) {
        self.connection = connection
        self.pool = pool
    }

    deinit {
        // Dropped before the answer was read to its end: the connection is not reusable.
        let done = state.withLock { $0.ended }
        if !done { connection.channel.close(promise: nil) }
    }

    func setHeadWaiter(_ continuation: UnsafeContinuation<HTTPResponseHead, any Error>) {
        let failure: (any Error)? = state.withLock { s in
            if let failure = s.failure { return failure }
            if s.cancelled { return CancellationError() }
            s.headWaiter = continuation
            return nil
        }
        if let failure { continuation.resume(throwing: failure) }
    }

    // MARK: fed by the channel handler, on the event loop

    func receiveHead(_ head: HTTPResponseHead) {
        let waiter = state.withLock { s -> UnsafeContinuation<HTTPResponseHead, any Error>? in
            s.gotHead = true
            defer { s.headWaiter = nil }
            return s.headWaiter
        }
        waiter?.resume(returning: head)
    }

    /// Returns false when the reader is this far behind that reading should pause.
    func receive(_ part: ByteBuffer) -> Bool {
        let (waiter, belowHighWater) = state.withLock { s -> (UnsafeContinuation<ByteBuffer?, any Error>?, Bool) in
            if let waiter = s.bodyWaiter {
                s.bodyWaiter = nil
                return (waiter, true)
            }
            s.parts.append(part)
            s.bufferedBytes += part.readableBytes
            return (nil, s.bufferedBytes < Self.highWater)
        }
        waiter?.resume(returning: part)
        return belowHighWater
    }

    func receiveEnd(keepAlive: Bool) {
        // Back in the pool before the reader can see the end, so its next request finds it.
        if keepAlive { pool.give(connection) } else { connection.channel.close(promise: nil) }
        let waiter = state.withLock { s -> UnsafeContinuation<ByteBuffer?, any Error>? in
            s.ended = true
            defer { s.bodyWaiter = nil }
            return s.bodyWaiter
        }
        waiter?.resume(returning: nil)
    }

    func fail(_ error: any Error) {
        let (head, body) = state.withLock { s -> (UnsafeContinuation<HTTPResponseHead, any Error>?, UnsafeContinuation<ByteBuffer?, any Error>?) in
            guard !s.ended, s.failure == nil else { return (nil, nil) }
            s.failure = error
            defer { s.headWaiter = nil; s.bodyWaiter = nil }
            return (s.headWaiter, s.bodyWaiter)
        }
        head?.resume(throwing: error)
        body?.resume(throwing: error)
    }

    var gotHead: Bool { state.withLock { $0.gotHead } }

    // MARK: read by the task

    /// The next body part, or nil at the end of the body.
    func next() async throws -> ByteBuffer? {
        let immediate: Result<ByteBuffer?, any Error>? = state.withLock { s in
            if s.partIndex < s.parts.count {
                let part = s.parts[s.partIndex]
                s.partIndex += 1
                s.bufferedBytes -= part.readableBytes
                if s.partIndex == s.parts.count {
                    s.parts.removeAll(keepingCapacity: true)
                    s.partIndex = 0
                }
                return .success(part)
            }
            if s.ended { return .success(nil) }
            if let failure = s.failure { return .failure(failure) }
            return nil
        }
        if let immediate {
            connection.handler.resumeReadingIfPaused(connection.channel)
            return try immediate.get()
        }
        connection.handler.resumeReadingIfPaused(connection.channel)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ByteBuffer?, any Error>) in
                let ready: Result<ByteBuffer?, any Error>? = state.withLock { s in
                    if s.partIndex < s.parts.count {
                        let part = s.parts[s.partIndex]
                        s.partIndex += 1
                        s.bufferedBytes -= part.readableBytes
                        return .success(part)
                    }
                    if s.ended { return .success(nil) }
                    if let failure = s.failure { return .failure(failure) }
                    if s.cancelled { return .failure(CancellationError()) }
                    s.bodyWaiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// The whole body, failing past `limit` bytes.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result: ByteBuffer?
        while var part = try await next() {
            if result == nil {
                result = part
            } else {
                result!.writeBuffer(&part)
            }
            if (result?.readableBytes ?? 0) > limit { throw AttemptFailureError(.badResponse("upstream body over \(limit) bytes")) }
        }
        return result ?? ByteBuffer()
    }

    /// Abandons the request: the connection is closed, so the upstream stops generating.
    func cancel() {
        let ended = state.withLock { s in
            s.cancelled = true
            return s.ended
        }
        guard !ended else { return }
        fail(CancellationError())
        connection.channel.close(promise: nil)
    }
}

/// Hands a connection's response parts to the exchange in flight, and enforces its read
/// timeouts (first byte, then idle between parts) and total deadline with one timer on the
/// event loop per exchange, re-armed only when it fires early.
final class PlainResponseHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    // Event-loop confined.
    private var exchange: PlainExchange?
    private var parser = HTTPResponseParser()
    private var lastRead = NIODeadline.now()
    private var firstByteTimeout = TimeAmount.seconds(120)
    private var idleTimeout = TimeAmount.seconds(60)
    private var gotBody = false
    private var readTimeout: TimeAmount { gotBody ? idleTimeout : firstByteTimeout }
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?
    private var timerAt = NIODeadline.distantFuture
    private var paused = false
    /// `paused`, readable from the reader's thread without a hop to the event loop.
    private let pausedFlag = Atomic<Bool>(false)
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func start(_ exchange: PlainExchange, headRequest: Bool, firstByte: TimeAmount, idle: TimeAmount, deadline: NIODeadline) {
        guard let context else {
            exchange.fail(PlainConnection.StaleConnection())
            return
        }
        guard context.channel.isActive else {
            exchange.fail(PlainConnection.StaleConnection())
            return
        }
        self.exchange = exchange
        parser.expectResponse(toHeadRequest: headRequest)
        firstByteTimeout = firstByte
        idleTimeout = idle
        gotBody = false
        lastRead = .now()
        self.deadline = deadline
        // A timer left from an earlier exchange that fires no later than this one's limit
        // is kept: when it fires early, `check` sets it again for what is left.
        let when = min(lastRead + min(firstByte, idle), deadline)
        if timer == nil || timerAt > when {
            timer?.cancel()
            arm(context.eventLoop, at: when)
        }
    }

    /// The connection's one timer: at the earlier of the read limit and the total deadline
    /// of the exchange in flight. Reads do not move it, and the end of an exchange does not
    /// cancel it (a connection reused at once would schedule a new one per request); when
    /// it fires early it is set again for what is left, and on an idle connection it lapses.
    private func arm(_ loop: any EventLoop, at when: NIODeadline) {
        timerAt = when
        timer = loop.scheduleTask(deadline: when) { [self] in check() }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        timerAt = .distantFuture
    }

    /// When both limits have passed by the time the timer runs (a busy or stalled event
    /// loop), the one reached first names the failure.
    private func check() {
        timer = nil
        timerAt = .distantFuture
        guard exchange != nil, let context else { return }
        let now = NIODeadline.now()
        let readLimit = lastRead + readTimeout
        if now >= readLimit, readLimit < deadline {
            expire(UpstreamReadTimeout())
        } else if now >= deadline {
            expire(AttemptFailureError(.timeout(phase: .total)))
        } else {
            arm(context.eventLoop, at: min(lastRead + readTimeout, deadline))
        }
    }

    private func expire(_ error: any Error) {
        guard let exchange else { return }
        finishExchange()
        exchange.fail(error)
        context?.close(promise: nil)
    }

    private func finishExchange() {
        exchange = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes with no request outstanding: the connection is out of step.
            context.close(promise: nil)
            return
        }
        lastRead = .now()
        do {
            try parser.feed(unwrapInboundIn(data)) { event in deliver(event, to: exchange, context: context) }
        } catch {
            fail(exchange, AttemptFailureError(.badResponse("malformed upstream response: \(error)")), context: context)
        }
    }

    private func deliver(_ event: HTTPResponseParser.Event, to exchange: PlainExchange, context: ChannelHandlerContext) {
        switch event {
        case .head(let head):
            exchange.receiveHead(head)
        case .body(let part):
            if !gotBody {
                // From here on the idle limit applies. The timer reads it when it fires; it only
                // needs moving if it was set for the (longer) first-byte limit.
                gotBody = true
                if timerAt > lastRead + idleTimeout {
                    disarm()
                    arm(context.eventLoop, at: min(lastRead + idleTimeout, deadline))
                }
            }
            if !exchange.receive(part) && !paused {
                paused = true
                pausedFlag.store(true, ordering: .relaxed)
                _ = context.channel.setOption(ChannelOptions.autoRead, value: false)
            }
        case .end(let keepAlive):
            finishExchange()
            exchange.receiveEnd(keepAlive: keepAlive && context.channel.isActive)
        }
    }

    private func fail(_ exchange: PlainExchange, _ error: any Error, context: ChannelHandlerContext) {
        if self.exchange === exchange { finishExchange() }
        exchange.fail(error)
        context.close(promise: nil)
    }

    /// Called by the reader once it has taken buffered parts.
    func resumeReadingIfPaused(_ channel: any Channel) {
        guard pausedFlag.load(ordering: .relaxed) else { return }
        channel.eventLoop.execute { [self] in
            guard paused else { return }
            paused = false
            pausedFlag.store(false, ordering: .relaxed)
            _ = channel.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let exchange {
            finishExchange()
            exchange.fail(exchange.gotHead ? AttemptFailureError(.connect("upstream connection error: \(error)")) : PlainConnection.StaleConnection())
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        defer { disarm() }
        // A body that runs until the close ends here.
        if let exchange, (try? parser.feedEOF { deliver($0, to: exchange, context: context) }) != nil, self.exchange == nil {
            context.fireChannelInactive()
            return
        }
        if let exchange {
            finishExchange()
            exchange.fail(exchange.gotHead ? AttemptFailureError(.connect("the upstream closed the connection mid-answer")) : PlainConnection.StaleConnection())
        }
        context.fireChannelInactive()
    }
}
