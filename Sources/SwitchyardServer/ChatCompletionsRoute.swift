import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPolicy

/// `POST /v1/chat/completions`: read and validate the body, resolve the model, let the
/// gateway run the attempt chain, and answer as JSON or as an SSE stream.
struct ChatCompletionsRoute: Sendable {
    let gateway: Gateway

    func handle(_ request: Request, context: GatewayRequestContext) async -> Response {
        let started = NIODeadline.now()
        let body: ByteBuffer
        do {
            body = try await readBody(request)
        } catch {
            return finish(.error(error), started: started, requestModel: nil, stream: false, context: context)
        }
        let bytes = Array(buffer: body)
        let chatRequest: ChatRequest
        do {
            let json: JSONValue
            do {
                json = try JSONParser.parse(bytes)
            } catch {
                throw GatewayError.invalidRequest("The request body is not valid JSON: \(error).", code: "invalid_json")
            }
            chatRequest = try OpenAIRequestDecoder.decode(json)
        } catch let error as GatewayError {
            return finish(.error(error), started: started, requestModel: nil, stream: false, context: context)
        } catch {
            return finish(.error(.invalidRequest("\(error)")), started: started, requestModel: nil, stream: false, context: context)
        }
        let plan: PolicyGate.Plan
        do {
            plan = try await gateway.gate.plan(chatRequest, headers: request.headers, health: gateway.isHealthy)
        } catch {
            var response = Response.error(error.error)
            if let route = error.route { response.headers[SwitchyardHeader.route] = asciiHeaderValue(route) }
            if let decision = error.decision { response.headers[SwitchyardHeader.decision] = asciiHeaderValue(decision) }
            return finish(response, started: started, requestModel: chatRequest.model, stream: chatRequest.stream, context: context)
        }
        let outcome = await gateway.execute(chatRequest, originalBody: bytes, plan: plan)
        var response = respond(outcome, channel: context.channel)
        response.headers[SwitchyardHeader.route] = asciiHeaderValue(plan.route)
        response.headers[SwitchyardHeader.decision] = asciiHeaderValue(plan.decision.headerReason)
        return finish(response, started: started, requestModel: chatRequest.model, stream: chatRequest.stream, context: context, plan: plan)
    }

    private func respond(_ outcome: CompletionOutcome, channel: any Channel) -> Response {
        switch outcome {
        case .complete(let model, let deployment, let body):
            return .json(status: .ok, body: body, model: model, deployment: deployment)
        case .stream(let model, let deployment, let relay):
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            headers[SwitchyardHeader.model] = asciiHeaderValue(model)
            headers[SwitchyardHeader.deployment] = asciiHeaderValue(deployment)
            let response = Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    // The upstream is read by its own task so that a client that goes away
                    // can cancel it mid-wait: cancelling drops the upstream stream, which
                    // cancels the upstream request. A write to a closed client fails and
                    // ends this loop; a silent upstream is covered by the watchdog.
                    let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
                    let pump = Task {
                        while let chunk = await relay.next() { continuation.yield(chunk) }
                        continuation.finish()
                    }
                    let watchdog = Task {
                        let tracker = try? await channel.pipeline.handler(type: InboundCloseTracker.self).get()
                        while !Task.isCancelled {
                            try? await Task.sleep(nanoseconds: 200_000_000)
                            if !channel.isActive || tracker?.inputClosed == true {
                                pump.cancel()
                                return
                            }
                        }
                    }
                    defer {
                        pump.cancel()
                        watchdog.cancel()
                    }
                    for await chunk in chunks { try await writer.write(chunk) }
                    try await writer.finish(nil)
                }
            )
            return response
        case .failure(let error, let model, let deployment):
            return .error(error, model: model, deployment: deployment)
        }
    }

    private func readBody(_ request: Request) async throws(GatewayError) -> ByteBuffer {
        let limit = gateway.config.server.maxBodyBytes
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

    /// Logs one line per request (never prompt text or keys) and returns the response.
    private func finish(
        _ response: Response, started: NIODeadline, requestModel: String?, stream: Bool, context: some RequestContext,
        plan: PolicyGate.Plan? = nil
    ) -> Response {
        let elapsedMicros = (NIODeadline.now() - started).nanoseconds / 1000
        gateway.logger.info(
            "chat.completions",
            metadata: [
                "profile": .string(plan?.profile ?? "-"),
                "decision": .string(response.headers[SwitchyardHeader.decision] ?? "-"),
                "status": .stringConvertible(response.status.code),
                "model": .string(requestModel ?? "-"),
                "served_by": .string(response.headers[SwitchyardHeader.deployment] ?? "-"),
                "stream": .stringConvertible(stream),
                "us_to_head": .stringConvertible(elapsedMicros),
            ]
        )
        return response
    }
}
