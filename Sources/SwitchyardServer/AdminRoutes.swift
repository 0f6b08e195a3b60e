import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardStore

/// `/admin/…`: virtual keys and the usage report over HTTP, behind their own bearer token
/// (`admin.token`), compared in constant time. Without a token configured the admin API
/// does not exist (404).
struct AdminRoutes: Sendable {
    let gateway: Gateway

    func register(on router: Router<GatewayRequestContext>) {
        let group = router.group("admin")
        group.post("keys") { request, _ in await guarded(request) { try await createKey(request) } }
        group.get("keys") { request, _ in await guarded(request) { try await listKeys() } }
        group.delete("keys/:id") { request, context in
            await guarded(request) { try await revokeKey(context.parameters.get("id") ?? "") }
        }
        group.get("report") { request, _ in await guarded(request) { try await report(request) } }
    }

    private func guarded(_ request: Request, _ body: () async throws -> Response) async -> Response {
        guard let token = gateway.config.admin.token else {
            return .error(GatewayError(status: 404, type: "not_found", message: "The admin API is not enabled (set admin.token)."))
        }
        let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEquals(Array(presented.utf8), Array(token.utf8)) else {
            return .error(GatewayError(status: 401, type: "invalid_request_error", code: "invalid_admin_token", message: "Invalid or missing admin token."))
        }
        guard gateway.store != nil else {
            return .error(GatewayError(status: 503, type: "service_unavailable", code: "no_database", message: "No database is configured."))
        }
        do {
            return try await body()
        } catch let error as GatewayError {
            return .error(error)
        } catch let error as KeyIssuerError {
            return .error(.invalidRequest(error.description))
        } catch {
            gateway.logger.error("admin request failed", metadata: ["error": "\(error)"])
            return .error(GatewayError(status: 503, type: "service_unavailable", code: "database_error", message: "The database request failed."))
        }
    }

    private func createKey(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard case .object(let o)? = try? JSONParser.parse(Array(buffer: body)) else {
            throw GatewayError.invalidRequest("The body must be a JSON object: {\"name\": ..., \"profile\"?, \"budget\"?, \"rpm\"?, \"tpm\"?, \"expires_in\"?}.", code: "invalid_json")
        }
        guard case .string(let name)? = o["name"] else { throw GatewayError.invalidRequest("'name' is required and must be a string.", param: "name") }
        func optionalString(_ key: String) throws(GatewayError) -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            case let other?: throw GatewayError.invalidRequest("'\(key)' must be a string, got \(other.typeName).", param: key)
            }
        }
        func optionalInt(_ key: String) throws(GatewayError) -> Int? {
            switch o[key] {
            case nil, .null?: return nil
            case let value?:
                guard let i = value.intValue else { throw GatewayError.invalidRequest("'\(key)' must be an integer.", param: key) }
                return i
            }
        }
        var budget = try optionalString("budget")
        if budget == nil, let amount = o["budget"]?.doubleValue { budget = String(amount) }
        let issued = try await KeyIssuer.create(
            KeyIssuer.Request(
                name: name, profile: try optionalString("profile"), budget: budget, rpm: try optionalInt("rpm"), tpm: try optionalInt("tpm"),
                expiresIn: try optionalString("expires_in")
            ),
            config: gateway.config, store: gateway.store!
        )
        return .json(status: .created, body: ByteBuffer(bytes: JSONWriter.bytes(issued.0.json(key: issued.1))), model: nil, deployment: nil)
    }

    private func listKeys() async throws -> Response {
        let keys = try await KeyIssuer.listing(store: gateway.store!)
        let body = JSONValue.object(JSONObject([("object", "list"), ("data", .array(keys))]))
        return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(body)), model: nil, deployment: nil)
    }

    private func revokeKey(_ id: String) async throws -> Response {
        guard try await gateway.store!.revokeKey(id: id, at: Date()) else {
            throw GatewayError(status: 404, type: "not_found", code: "key_not_found", message: "No key with id '\(id)'.")
        }
        gateway.authenticator.invalidate(id: id)
        let body: JSONValue = ["id": .string(id), "revoked": true]
        return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(body)), model: nil, deployment: nil)
    }

    private func report(_ request: Request) async throws -> Response {
        let since = request.uri.queryParameters.get("since") ?? "7d"
        guard let seconds = KeyIssuer.parseWindow(since) else {
            throw GatewayError.invalidRequest("Invalid 'since' '\(since)': expected e.g. 30m, 24h, 7d or 2w.", param: "since")
        }
        // Rows still buffered are written first, so the report includes every finished request.
        await gateway.writer?.flush()
        let now = Date()
        let report = try await gateway.store!.report(since: now.addingTimeInterval(-seconds), until: now.addingTimeInterval(1))
        return .json(status: .ok, body: ByteBuffer(bytes: JSONWriter.bytes(report.json())), model: nil, deployment: nil)
    }
}
