import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `POST /v1/chat/completions`: read and validate the body, resolve the model, let the
/// gateway run the attempt chain, and answer as JSON or as an SSE stream.
struct ChatCompletionsRoute: Sendable {
    let gateway: Gateway

    func handle(_ request: Request, context: some RequestContext) async -> Response {
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
        let chain = gateway.candidateChain(for: chatRequest.model)
        if chain.isEmpty {
            return finish(.error(.modelNotFound(chatRequest.model)), started: started, requestModel: chatRequest.model, stream: chatRequest.stream, context: context)
        }
        let outcome = await gateway.execute(chatRequest, originalBody: bytes, chain: chain)
        switch outcome {
        case .complete(let model, let deployment, let body):
            return finish(.json(status: .ok, body: body, model: model, deployment: deployment), started: started, requestModel: chatRequest.model, stream: false, context: context)
        case .stream(let model, let deployment, let relay):
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            headers[SwitchyardHeader.model] = asciiHeaderValue(model)
            headers[SwitchyardHeader.deployment] = asciiHeaderValue(deployment)
            let response = Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    while let chunk = await relay.next() {
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                }
            )
            return finish(response, started: started, requestModel: chatRequest.model, stream: true, context: context)
        case .failure(let error, let model, let deployment):
            return finish(.error(error, model: model, deployment: deployment), started: started, requestModel: chatRequest.model, stream: chatRequest.stream, context: context)
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
    private func finish(_ response: Response, started: NIODeadline, requestModel: String?, stream: Bool, context: some RequestContext) -> Response {
        let elapsedMicros = (NIODeadline.now() - started).nanoseconds / 1000
        gateway.logger.info(
            "chat.completions",
            metadata: [
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
