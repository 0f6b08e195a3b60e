import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardProviders

/// Builds the Hummingbird application that serves the gateway's HTTP API:
/// `POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz`, `GET /readyz`,
/// `GET /metrics` and the admin API under `/admin/`.
public enum GatewayApplication {
    public static func makeRouter(gateway: Gateway) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        let chat = ChatCompletionsRoute(gateway: gateway)
        router.post("/v1/chat/completions") { request, context in await chat.handle(request, context: context) }
        let messages = ChatCompletionsRoute(gateway: gateway, inbound: .anthropic)
        router.post("/v1/messages") { request, context in await messages.handle(request, context: context) }
        router.get("/v1/models") { request, _ in
            // Anthropic's SDKs send `anthropic-version` and expect their own list shape.
            request.headers[anthropicVersion] != nil ? anthropicModelsResponse(gateway.config) : modelsResponse(gateway.config)
        }
        router.post("/v1/messages/count_tokens") { request, _ in await countTokens(request, gateway: gateway) }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: gateway.metrics.render())))
        }
        AdminRoutes(gateway: gateway).register(on: router)
        router.get("/healthz") { _, _ in
            Response.json(status: .ok, body: ByteBuffer(string: #"{"status":"ok"}"#), model: nil, deployment: nil)
        }
        router.get("/readyz") { _, _ in
            gateway.isReady
                ? Response.json(status: .ok, body: ByteBuffer(string: #"{"status":"ready"}"#), model: nil, deployment: nil)
                : Response.error(GatewayError(status: 503, type: "service_unavailable", code: "not_ready", message: "No deployment is healthy and enabled."))
        }
        return router
    }

    /// The chat routes by exact path, for `POST` requests. The server calls them directly
    /// instead of through the router (the same handlers the router holds): Hummingbird's
    /// responder runs on the generic executor, and entering it from the connection's event
    /// loop cost the request an extra executor switch on top of the route lookup.
    static func directRoutes(gateway: Gateway) -> [String: GatewayHTTPResponder.Route] {
        let chat = ChatCompletionsRoute(gateway: gateway)
        let messages = ChatCompletionsRoute(gateway: gateway, inbound: .anthropic)
        return [
            "/v1/chat/completions": { request, context in await chat.handle(request, context: context) },
            "/v1/messages": { request, context in await messages.handle(request, context: context) },
        ]
    }

    /// The gateway's HTTP server on the configured address. Run it with its companion
    /// services (the OTLP exporter, for one) in a `ServiceGroup`, as `switchyard serve` does.
    public static func makeServer(
        gateway: Gateway, logger: Logger, onBound: (@Sendable (SocketAddress?) -> Void)? = nil
    ) -> GatewayHTTPServer {
        let server = gateway.config.server
        return GatewayHTTPServer(
            host: server.host, port: server.port, router: makeRouter(gateway: gateway), directPostRoutes: directRoutes(gateway: gateway),
            maxBodyBytes: server.maxBodyBytes, idleTimeout: server.idleTimeout, logger: logger,
            onBound: onBound
        )
    }

    static let anthropicVersion = HTTPField.Name("anthropic-version")!

    /// `GET /v1/models` as Anthropic's API answers it.
    static func anthropicModelsResponse(_ config: GatewayConfig) -> Response {
        let created = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 0))
        let names = config.models.map(\.name) + config.routing.routes.map(\.name)
        let data: [JSONValue] = names.map { name in
            ["type": "model", "id": .string(name), "display_name": .string(name), "created_at": .string(created)]
        }
        let body: JSONValue = [
            "data": .array(data), "has_more": false, "first_id": names.first.map(JSONValue.string) ?? .null,
            "last_id": names.last.map(JSONValue.string) ?? .null,
        ]
        return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(body)), model: nil, deployment: nil)
    }

    /// `POST /v1/messages/count_tokens`: the gateway's estimate of the prompt's tokens for
    /// the named model (calibrated on that model's reported counts once it has answered),
    /// since the upstreams' tokenizers are not available locally.
    static func countTokens(_ request: Request, gateway: Gateway) async -> Response {
        func anthropicError(_ error: GatewayError) -> Response {
            .json(
                status: HTTPResponse.Status(code: error.status), body: ByteBuffer(bytes: JSONWriter.bytes(AnthropicInboundResponse.error(error))),
                model: nil, deployment: nil
            )
        }
        var request = request
        do {
            let body = try await request.collectBody(upTo: gateway.config.server.maxBodyBytes)
            guard case .object(var root) = try JSONParser.parse(Array(buffer: body)) else {
                return anthropicError(.invalidRequest("The request body must be a JSON object."))
            }
            // count_tokens has no max_tokens; the translation requires one.
            root["max_tokens"] = 1
            let chat = try OpenAIRequestDecoder.decode(.object(try AnthropicInboundRequest.openAIBody(.object(root))))
            let tokens = gateway.accountant.promptTokens(chat, model: chat.model)
            return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(["input_tokens": .int(tokens)])), model: nil, deployment: nil)
        } catch let error as GatewayError {
            return anthropicError(error)
        } catch let error as JSONParseError {
            return anthropicError(.invalidRequest("The request body is not valid JSON: \(error)."))
        } catch {
            return anthropicError(.invalidRequest("Could not read the request body: \(error)."))
        }
    }

    static func modelsResponse(_ config: GatewayConfig) -> Response {
        let created = Int(Date().timeIntervalSince1970)
        let data: [JSONValue] = config.models.map { model in
            .object(
                JSONObject([
                    ("id", .string(model.name)),
                    ("object", "model"),
                    ("created", .int(created)),
                    ("owned_by", .string("switchyard:\(model.provider.rawValue)")),
                    ("openness", .string(model.openness.rawValue)),
                    ("hosting", .string(model.hosting.rawValue)),
                    ("enabled", .bool(!model.deployments.allSatisfy { if case .missing = $0.credential { return true } else { return false } })),
                ])
            )
        }
        let routes: [JSONValue] = config.routing.routes.map { route in
            .object(
                JSONObject([
                    ("id", .string(route.name)), ("object", "model"), ("created", .int(created)), ("owned_by", "switchyard:route"),
                    ("strategy", .string(route.strategy?.rawValue ?? "profile")),
                ])
            )
        }
        let body = JSONValue.object(JSONObject([("object", "list"), ("data", .array(data + routes))]))
        return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(body)), model: nil, deployment: nil)
    }
}

/// The per-request context: Hummingbird's core storage plus the client's channel, which
/// streaming responses watch to notice a client that went away.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// The whole request body, when the server has already read it (it always has; the
    /// gateway's server collects bodies up to the limit before routing). Routes read it
    /// here rather than through `Request.body`, whose async iteration is Hummingbird's and
    /// costs two executor switches per call on NIO's event loops.
    var collectedBody: ByteBuffer?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Turns errors thrown anywhere in the router (unknown routes, wrong methods) into
/// OpenAI-shaped error bodies, so every answer has the API's own format.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    @concurrent func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            return .error(error)
        } catch let error as HTTPError {
            let code = Int(error.status.code)
            let message = code == 404 ? "No route for \(request.method) \(request.uri.path)." : (error.body ?? error.status.reasonPhrase)
            return .error(GatewayError(status: code, type: code == 404 ? "not_found" : "invalid_request_error", message: message))
        } catch {
            return .error(GatewayError(status: 500, type: "server_error", message: "Internal error: \(error)"))
        }
    }
}
