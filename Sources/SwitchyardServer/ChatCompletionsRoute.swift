import Foundation
import HTTPTypes
import Synchronization
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardProviders
import Tracing

/// `POST /v1/chat/completions`: read and validate the body, authenticate, decide by
/// policy, admit against the key's limits and budget, let the gateway run the attempt
/// chain, answer as JSON or as an SSE stream, and account for it.
struct ChatCompletionsRoute: Sendable {
    let gateway: Gateway
    /// The API the client speaks: the gateway works in OpenAI's shape inside and translates
    /// Anthropic Messages requests, answers, streams and errors at this edge.
    var inbound: InboundAPI = .openAI

    enum InboundAPI: Sendable {
        case openAI
        case anthropic
    }

    static let anthropicRequestIDHeader = HTTPField.Name("request-id")!

    static let requestIDHeader = HTTPField.Name("x-request-id")!

    /// What is known about the request so far, for the log row.
    private struct Context {
        var id: String
        var started: Date
        var clock: UInt64
        var caller = Caller.anonymous
        var profile = "-"
        var route = "-"
        var decision = "-"
        var stream = false
        var request: ChatRequest?
        var logText = false
        /// The request's span (a no-op unless tracing is configured).
        var span: any Span
    }

    func handle(_ request: Request, context: GatewayRequestContext) async -> Response {
        gateway.metrics.requestStarted()
        var ctx = Context(
            id: Self.newID(), started: Date(), clock: DispatchTime.now().uptimeNanoseconds, span: requestSpan(request.headers)
        )
        let body: ByteBuffer
        do {
            body = try await readBody(request, collected: context.collectedBody)
        } catch {
            return await refuse(error, ctx)
        }
        var bytes = Array(buffer: body)
        let chatRequest: ChatRequest
        do {
            var json: JSONValue
            do {
                json = try JSONParser.parse(bytes)
            } catch {
                throw GatewayError.invalidRequest("The request body is not valid JSON: \(error).", code: "invalid_json")
            }
            if inbound == .anthropic {
                json = .object(try AnthropicInboundRequest.openAIBody(json))
                bytes = JSONWriter.bytes(json)
            }
            chatRequest = try OpenAIRequestDecoder.decode(json)
        } catch let error as GatewayError {
            return await refuse(error, ctx)
        } catch {
            return await refuse(.invalidRequest("\(error)"), ctx)
        }
        ctx.request = chatRequest
        ctx.stream = chatRequest.stream
        ctx.route = chatRequest.model
        ctx.span.operationName = "chat " + chatRequest.model
        do {
            ctx.caller = try await gateway.authenticator.authenticate(request.headers)
        } catch {
            return await refuse(error, ctx)
        }
        var plan: PolicyGate.Plan
        do {
            plan = try await gateway.gate.plan(chatRequest, caller: ctx.caller, headers: request.headers, health: gateway.isHealthy)
        } catch {
            if let route = error.route { ctx.route = route }
            if let decision = error.decision { ctx.decision = decision }
            return await refuse(error.error, ctx)
        }
        ctx.profile = plan.profile
        ctx.route = plan.route
        ctx.logText = (gateway.config.routing.routes.first { $0.name == plan.route }?.logText ?? false) || (gateway.config.database?.storeText ?? false)
        let ticket: Accountant.Ticket
        switch await gateway.accountant.admit(chatRequest, caller: ctx.caller, plan: plan) {
        case .admitted(let t, let admittedPlan):
            ticket = t
            plan = admittedPlan
        case .refused(let error):
            ctx.decision = plan.decision.headerReason
            return await refuse(error, ctx)
        }
        ctx.decision = plan.budgetNote.map { "\($0) (policy: \(plan.decision.headerReason))" } ?? plan.decision.headerReason
        let upstreamStart = DispatchTime.now().uptimeNanoseconds
        let gateway = self.gateway
        let logText = ctx.logText
        // Without tracing there is no span context to carry (and entering the context costs
        // two executor switches on NIO's event loops).
        let outcome =
            gateway.config.tracing == nil
            ? await gateway.execute(chatRequest, originalBody: bytes, plan: plan, collectText: logText)
            : await ServiceContext.withValue(ctx.span.context) {
                await gateway.execute(chatRequest, originalBody: bytes, plan: plan, collectText: logText)
            }
        let upstreamSeconds = Double(DispatchTime.now().uptimeNanoseconds - upstreamStart) / 1e9
        var response = await respond(outcome, ctx: ctx, ticket: ticket, upstreamSeconds: upstreamSeconds, channel: context.channel)
        // `respond` sets none of these: appended, not looked up first.
        response.headers.append(HTTPField(name: SwitchyardHeader.route, value: asciiHeaderValue(plan.route)))
        response.headers.append(HTTPField(name: SwitchyardHeader.decision, value: asciiHeaderValue(ctx.decision)))
        response.headers.append(HTTPField(name: Self.requestIDHeader, value: ctx.id))
        if inbound == .anthropic { response.headers.append(HTTPField(name: Self.anthropicRequestIDHeader, value: ctx.id)) }
        log(response, ctx)
        return response
    }

    /// The request's server span, joined to the caller's trace. Without a `tracing` section no
    /// tracer is installed, and the instrument and tracer lookups (a lock each) are skipped.
    private func requestSpan(_ headers: HTTPFields) -> any Span {
        guard gateway.config.tracing != nil else { return NoOpTracer.NoOpSpan(context: .topLevel) }
        var parent = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &parent, using: HTTPFieldsExtractor())
        return startSpan("chat", context: parent, ofKind: .server)
    }

    /// A request that ends before any upstream is called.
    private func refuse(_ error: GatewayError, _ ctx: Context) async -> Response {
        var response = errorResponse(error, model: nil, deployment: nil)
        response.headers[Self.requestIDHeader] = ctx.id
        if ctx.route != "-" { response.headers[SwitchyardHeader.route] = asciiHeaderValue(ctx.route) }
        if ctx.decision != "-" { response.headers[SwitchyardHeader.decision] = asciiHeaderValue(ctx.decision) }
        await gateway.accountant.finish(
            nil,
            outcome(ctx, model: nil, deployment: nil, status: error.status, upstreamStatus: nil, usage: nil, estimate: nil, served: false, error: error.message)
        )
        gateway.metrics.requestEnded()
        log(response, ctx)
        return response
    }

    private func respond(
        _ outcome: CompletionOutcome, ctx: Context, ticket: Accountant.Ticket, upstreamSeconds: Double, channel: any Channel
    ) async -> Response {
        let accountant = gateway.accountant
        let metrics = gateway.metrics
        switch outcome {
        case .complete(let model, let deployment, let body):
            let route = self
            let requestedModel = ctx.request?.model ?? model
            let overhead = elapsed(ctx) - upstreamSeconds
            // The settlement: usage, pricing, metrics and the log row.
            let settle: @Sendable () async -> Void = {
                // Usage is read from the small object at the end of the body; the whole answer is
                // parsed only when its text is logged or no usage was reported (to estimate it).
                let usage = body.withUnsafeReadableBytes { raw -> Usage? in
                    guard let object = UsageScanner.usageObject(in: raw) else { return nil }
                    return (try? JSONParser.parse(Array(object))).flatMap(OpenAIAdapter.decodeUsage)
                }
                var text: String?
                if ctx.logText || usage == nil {
                    let parsed = body.withUnsafeReadableBytes { try? JSONParser.parse(Array($0)) }
                    text = parsed?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue
                }
                let estimate = ctx.request.map { request in
                    Usage(
                        promptTokens: TokenEstimator.promptTokens(request),
                        completionTokens: TokenEstimator.completionTokens(contentChunks: 0, textBytes: text?.utf8.count ?? 0)
                    )
                }
                metrics.upstream(seconds: upstreamSeconds)
                metrics.gatewayOverhead(seconds: overhead)
                await accountant.finish(
                    ticket,
                    route.outcome(
                        ctx, model: model, deployment: deployment, status: 200, upstreamStatus: 200, usage: usage, estimate: estimate, served: true,
                        error: nil, responseText: text
                    )
                )
                metrics.requestEnded()
            }
            var response: Response
            if inbound == .anthropic {
                do {
                    let message = try AnthropicInboundResponse.message(fromOpenAI: Array(buffer: body), requestedModel: requestedModel)
                    response = .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(message)), model: model, deployment: deployment)
                } catch {
                    response = errorResponse(error, model: model, deployment: deployment)
                }
            } else {
                response = .json(status: .ok, body: body, model: model, deployment: deployment)
            }
            // A key with a budget or a rate window is settled before its answer goes out, so
            // its next request sees the spend. Otherwise the settlement runs once the answer
            // is on the wire: the client reads it while the gateway does the bookkeeping.
            if ticket.budgetPeriod != nil || ticket.window != nil {
                await settle()
                return response
            }
            response.body = Self.settlingAfterWrite(response.body, settle)
            return response
        case .stream(let model, let deployment, let relay):
            let ttft = elapsed(ctx)
            relay.onGap = { gap in metrics.interTokenGap(seconds: gap) }
            var headers = HTTPFields()
            headers.reserveCapacity(8)
            headers.append(HTTPField(name: .contentType, value: "text/event-stream"))
            headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
            headers.append(HTTPField(name: SwitchyardHeader.model, value: asciiHeaderValue(model)))
            headers.append(HTTPField(name: SwitchyardHeader.deployment, value: asciiHeaderValue(deployment)))
            let route = self
            let translatorSeed: AnthropicInboundStream? =
                inbound == .anthropic
                ? AnthropicInboundStream(
                    model: ctx.request?.model ?? model, id: "msg_" + ctx.id.dropFirst(4),
                    estimatedInputTokens: ctx.request.map(TokenEstimator.promptTokens) ?? 0
                ) : nil
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    var anthropic = translatorSeed
                    var failure: (any Error)?
                    // The first chunk was read before the answer was committed (so a failure
                    // could still fall back): it goes out at once.
                    if let first = await relay.next() {
                        do { try await Self.emit(first, to: &writer, translating: &anthropic) } catch { failure = error }
                    }
                    // Recorded once the first bytes are out, not in front of them.
                    metrics.upstream(seconds: upstreamSeconds)
                    metrics.gatewayOverhead(seconds: ttft - upstreamSeconds)
                    // A client that goes away must cancel the upstream read mid-wait, also
                    // while the upstream is silent: the connection's close tracker does it the
                    // moment the client closes its side. A write to a closed client fails and
                    // ends the loop.
                    let clientGone = failure != nil
                    let tracker = await Self.closeTracker(of: channel)
                    if relay.cancelsDirectly {
                        // Plain HTTP upstreams: this task reads and writes; cancelling the relay
                        // fails its pending read and closes the upstream connection.
                        tracker?.whenClosed { relay.cancel() }
                        if !channel.isActive { relay.cancel() }
                        if !clientGone {
                            do {
                                while let chunk = await relay.next() { try await Self.emit(chunk, to: &writer, translating: &anthropic) }
                            } catch {
                                failure = error
                            }
                        }
                        tracker?.clearWhenClosed()
                        relay.cancel()
                    } else {
                        // Other clients stop reading when their task is cancelled: the upstream
                        // is read by a task of its own, which the tracker cancels.
                        let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
                        let pump = Task {
                            if !clientGone {
                                while let chunk = await relay.next() { continuation.yield(chunk) }
                            }
                            continuation.finish()
                        }
                        tracker?.whenClosed { pump.cancel() }
                        if !channel.isActive { pump.cancel() }
                        do {
                            for await chunk in chunks { try await Self.emit(chunk, to: &writer, translating: &anthropic) }
                        } catch {
                            failure = error
                        }
                        pump.cancel()
                        tracker?.clearWhenClosed()
                        await pump.value
                    }
                    // Settle and log once the stream is over, also when the client left:
                    // the tokens the upstream produced until then are paid for.
                    let summary = relay.summary
                    let estimate = ctx.request.map { request in
                        Usage(
                            promptTokens: TokenEstimator.promptTokens(request),
                            completionTokens: TokenEstimator.completionTokens(contentChunks: summary.contentChunks, textBytes: summary.textBytes)
                        )
                    }
                    let error = failure != nil ? "client closed the stream" : summary.error
                    await accountant.finish(
                        ticket,
                        route.outcome(
                            ctx, model: model, deployment: deployment, status: 200, upstreamStatus: 200, usage: summary.usage, estimate: estimate,
                            served: true, error: error, responseText: summary.text.isEmpty ? nil : summary.text, ttft: ttft
                        )
                    )
                    metrics.requestEnded()
                    if let failure { throw failure }
                    // The response ends only after settlement, so a client that sends its next
                    // request when this one is complete sees its budget already settled.
                    if var translator = anthropic { try await writer.write(ByteBuffer(bytes: translator.finish())) }
                    try await writer.finish(nil)
                }
            )
        case .failure(let error, let model, let deployment, let upstreamStatus):
            await accountant.release(ticket)
            await accountant.finish(
                nil,
                self.outcome(ctx, model: model, deployment: deployment, status: error.status, upstreamStatus: upstreamStatus, usage: nil, estimate: nil, served: false, error: error.message)
            )
            metrics.requestEnded()
            return errorResponse(error, model: model, deployment: deployment)
        }
    }

    /// One upstream chunk to the client: as it is, or through the Anthropic translator.
    @concurrent private static func emit(
        _ chunk: ByteBuffer, to writer: inout any ResponseBodyWriter, translating anthropic: inout AnthropicInboundStream?
    ) async throws {
        if var translator = anthropic {
            let out = translator.feed(Array(buffer: chunk))
            anthropic = translator
            if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
        } else {
            try await writer.write(chunk)
        }
    }

    /// The body, then `settle` once it is written (also when the write fails: the
    /// upstream's answer is paid for either way).
    private static func settlingAfterWrite(_ body: ResponseBody, _ settle: @escaping @Sendable () async -> Void) -> ResponseBody {
        ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
            } catch {
                await settle()
                throw error
            }
            await settle()
        }
    }

    /// The connection's close tracker, read without a hop when on its event loop (the
    /// usual case: NIO runs the request's task).
    private static func closeTracker(of channel: any Channel) async -> InboundCloseTracker? {
        if channel.eventLoop.inEventLoop {
            return try? channel.pipeline.syncOperations.handler(type: InboundCloseTracker.self)
        }
        return try? await channel.pipeline.handler(type: InboundCloseTracker.self).get()
    }

    /// An error in the client's API's own shape.
    private func errorResponse(_ error: GatewayError, model: String?, deployment: String?) -> Response {
        switch inbound {
        case .openAI:
            return .error(error, model: model, deployment: deployment)
        case .anthropic:
            return .json(
                status: HTTPResponse.Status(code: error.status), body: ByteBuffer(bytes: JSONWriter.bytes(AnthropicInboundResponse.error(error))),
                model: model, deployment: deployment, extra: error.headers
            )
        }
    }

    private func outcome(
        _ ctx: Context, model: String?, deployment: String?, status: Int, upstreamStatus: Int?, usage: Usage?, estimate: Usage?, served: Bool,
        error: String?, responseText: String? = nil, ttft: Double? = nil
    ) -> Accountant.Outcome {
        let prompt = ctx.logText || (gateway.config.database?.storeText ?? false) ? ctx.request.map(Self.promptText) : nil
        return Accountant.Outcome(
            span: ctx.span, id: ctx.id, started: ctx.started, caller: ctx.caller, profile: ctx.profile, route: ctx.route, request: ctx.request?.model, decision: ctx.decision, model: model,
            deployment: deployment, status: status, upstreamStatus: upstreamStatus, usage: usage,
            estimate: estimate ?? Usage(promptTokens: 0, completionTokens: 0), latency: elapsed(ctx), ttft: ttft, stream: ctx.stream,
            served: served, error: error, logText: ctx.logText, promptText: prompt, responseText: responseText
        )
    }

    private static func promptText(_ request: ChatRequest) -> String {
        request.messages.map { "\($0.role.rawValue): \($0.text)" }.joined(separator: "\n")
    }

    private func elapsed(_ ctx: Context) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - ctx.clock) / 1e9
    }

    /// `req_` and 24 hex digits: the log row's id and the `x-request-id` header.
    /// A random prefix per process (replicas differ) and a counter: unique without a
    /// system call per request.
    static func newID() -> String {
        let n = requestCounter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 28) { buffer in
            for (i, byte) in requestIDHead.enumerated() { buffer[i] = byte }
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<12 { buffer[16 + i] = digits.utf8Start[Int((n >> (4 * UInt64(11 - i))) & 0xF)] }
            return 28
        }
    }

    /// `req_` and the process's random prefix, as bytes.
    private static let requestIDHead: [UInt8] = Array(("req_" + requestIDPrefix).utf8)

    private static let requestIDPrefix: String = {
        var rng = SystemRandomNumberGenerator()
        let random: UInt64 = rng.next() & 0xFFFF_FFFF_FFFF
        return String(random, radix: 16).leftPadded(12)
    }()
    private static let requestCounter = Atomic<UInt64>(0)

    private func readBody(_ request: Request, collected: ByteBuffer?) async throws(GatewayError) -> ByteBuffer {
        let limit = gateway.config.server.maxBodyBytes
        // The server hands over the body it collected, already held to the limit.
        if let collected {
            guard collected.readableBytes <= limit else { throw .bodyTooLarge(limit: limit) }
            return collected
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw .bodyTooLarge(limit: limit)
        }
        var buffer = ByteBuffer()
        do {
            for try await chunk in request.body {
                if buffer.readableBytes + chunk.readableBytes > limit { throw GatewayError.bodyTooLarge(limit: limit) }
                var chunk = chunk
                buffer.writeBuffer(&chunk)
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw .invalidRequest("Could not read the request body: \(error).")
        }
        return buffer
    }

    /// Logs one line per request (never prompt text or keys): at `info` for errors, at
    /// `debug` for successes, which the request log already records in full.
    private func log(_ response: Response, _ ctx: Context) {
        let level: Logger.Level = response.status.code >= 400 ? .info : .debug
        guard gateway.logger.logLevel <= level else { return }
        let elapsedMicros = (DispatchTime.now().uptimeNanoseconds - ctx.clock) / 1000
        gateway.logger.log(
            level: level,
            "chat.completions",
            metadata: [
                "request_id": .string(ctx.id),
                "key": .string(ctx.caller.keyID ?? "-"),
                "profile": .string(ctx.profile),
                "decision": .string(response.headers[SwitchyardHeader.decision] ?? "-"),
                "status": .stringConvertible(response.status.code),
                "model": .string(ctx.request?.model ?? "-"),
                "served_by": .string(response.headers[SwitchyardHeader.deployment] ?? "-"),
                "stream": .stringConvertible(ctx.stream),
                "us_to_head": .stringConvertible(elapsedMicros),
            ]
        )
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
