import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import SwitchyardCore
@testable import SwitchyardServer

/// In-process tests of the HTTP surface that need no upstream: validation, routing,
/// health and readiness, and the policy refusals.
@Suite struct GatewayRoutesTests {
    static let yaml = """
        models:
          - {name: local, provider: openai, base_url: "http://127.0.0.1:9/v1", openness: open, hosting: local}
          - {name: frontier, provider: anthropic, api_key: "${MISSING_TEST_KEY}", openness: closed, hosting: cloud}
        """

    func withApp(_ yaml: String = yaml, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let config = try ConfigLoader.parse(yaml: yaml, file: "t.yaml", environment: [:])
        let gateway = try Gateway(config: config, logger: Logger(label: "test"))
        let app = Application(router: GatewayApplication.makeRouter(gateway: gateway))
        try await app.test(.router) { client in try await body(client) }
        await gateway.shutdown()
    }

    func errorBody(_ buffer: ByteBuffer) throws -> JSONObject {
        let json = try JSONParser.parse(Array(buffer: buffer))
        return try #require(json["error"]?.objectValue)
    }

    @Test func malformedJSONIs400() async throws {
        try await withApp { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: "{nope")) { response in
                #expect(response.status == .badRequest)
                let error = try errorBody(response.body)
                #expect(error["code"] == "invalid_json")
            }
        }
    }

    @Test func unknownModelIs404() async throws {
        try await withApp { client in
            let body = #"{"model":"ghost","messages":[{"role":"user","content":"hi"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .notFound)
                let error = try errorBody(response.body)
                #expect(error["code"] == "model_not_found")
            }
        }
    }

    @Test func missingKeyModelIs503NamingTheVariable() async throws {
        try await withApp { client in
            let body = #"{"model":"frontier","messages":[{"role":"user","content":"hi"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .serviceUnavailable)
                let error = try errorBody(response.body)
                #expect(error["code"] == "model_not_enabled")
                #expect(error["message"]?.stringValue?.contains("MISSING_TEST_KEY") == true)
            }
        }
    }

    @Test func confidentialDataToNamedCloudModelIs403() async throws {
        try await withApp { client in
            let body = #"{"model":"frontier","messages":[{"role":"user","content":"card 4111 1111 1111 1111"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .forbidden)
                let error = try errorBody(response.body)
                #expect(error["code"] == "policy_forbids_model")
                #expect(response.headers[SwitchyardHeader.decision]?.hasPrefix("pii:credit_card") == true)
            }
        }
    }

    @Test func unreachableUpstreamIs502NamingTheDeployment() async throws {
        try await withApp { client in
            let body = #"{"model":"local","messages":[{"role":"user","content":"hi"}]}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badGateway)
                let error = try errorBody(response.body)
                #expect(error["message"]?.stringValue?.contains("local: connection failed") == true)
                #expect(response.headers[SwitchyardHeader.route] == "local")
            }
        }
    }

    @Test func modelsHealthAndReadiness() async throws {
        try await withApp { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let json = try JSONParser.parse(Array(buffer: response.body))
                #expect(json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["local", "frontier"])
                #expect(json["data"]?.arrayValue?.last?["enabled"] == false)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v2/unknown", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try errorBody(response.body)
                #expect(error["type"] == "not_found")
            }
        }
    }

    @Test func notReadyWhenNoModelIsEnabled() async throws {
        let yaml = "models:\n  - {name: f, provider: gemini, api_key: \"${MISSING_TEST_KEY}\", openness: closed, hosting: cloud}\n"
        try await withApp(yaml) { client in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
    }

    @Test func headerValuesAreForcedToASCII() {
        #expect(asciiHeaderValue("pii:credit_card→local") == "pii:credit_card???local")
        #expect(asciiHeaderValue("plain-value 1") == "plain-value 1")
    }

    @Test func constantTimeEqualityIsCorrect() {
        #expect(constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }
}
