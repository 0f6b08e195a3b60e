import SwitchyardCore

/// An HTTP request for an upstream, fully built: the transport only sends it.
public struct UpstreamHTTPRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String = "POST", url: String, headers: [(String, String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: UpstreamHTTPRequest, rhs: UpstreamHTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }
}

/// The upstream a call goes to: which model entry and which of its deployments.
public struct UpstreamTarget: Sendable {
    public var model: ModelConfig
    public var deployment: DeploymentConfig
    public var apiKey: String?

    public init(model: ModelConfig, deployment: DeploymentConfig, apiKey: String?) {
        self.model = model
        self.deployment = deployment
        self.apiKey = apiKey
    }
}

/// Translates between the canonical chat types and one upstream wire protocol.
///
/// Adapters are pure: they build requests and read bytes, and never touch the network,
/// so every translation is unit-testable without a server.
public protocol ProviderAdapter: Sendable {
    /// True when the upstream speaks OpenAI's format, so bodies can be relayed as bytes.
    var speaksOpenAI: Bool { get }

    /// Builds the upstream request. `originalBody` is the client's body, usable as-is by
    /// OpenAI-compatible adapters when nothing needs to change.
    func makeRequest(_ request: ChatRequest, originalBody: [UInt8], target: UpstreamTarget) throws(GatewayError) -> UpstreamHTTPRequest

    /// Reads a successful non-streamed upstream body.
    func decodeResponse(_ body: [UInt8], request: ChatRequest, target: UpstreamTarget) throws(GatewayError) -> ChatResponse

    /// A fresh decoder for one streamed answer.
    func makeStreamDecoder() -> any UpstreamStreamDecoder

    /// The human-readable message inside an upstream error body, if it has one.
    func errorMessage(status: Int, body: [UInt8]) -> String?
}

/// Turns upstream stream bytes into canonical events, keeping state across chunks.
public protocol UpstreamStreamDecoder: Sendable {
    /// Events completed by these bytes. Throws when the upstream reports an error mid-stream.
    mutating func feed(_ bytes: [UInt8]) throws(GatewayError) -> [StreamEvent]
    /// Events still pending when the upstream closes the stream. Throws when the stream
    /// ended before the protocol's terminal event (a truncated answer).
    mutating func finish() throws(GatewayError) -> [StreamEvent]
}

public enum ProviderAdapters {
    public static func adapter(for kind: ProviderKind) -> any ProviderAdapter {
        switch kind {
        case .openai: return OpenAIAdapter()
        case .anthropic: return AnthropicAdapter()
        case .gemini: return GeminiAdapter()
        }
    }
}

extension GatewayError {
    /// A 502 for an upstream answer the gateway could not understand.
    static func badUpstreamBody(_ detail: String) -> GatewayError {
        GatewayError(status: 502, type: "upstream_error", code: "bad_upstream_response", message: "The upstream returned an unreadable answer: \(detail)")
    }
}

/// Parses an upstream JSON body or fails with a 502 naming why.
func parseUpstreamJSON(_ bytes: [UInt8]) throws(GatewayError) -> JSONObject {
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        throw .badUpstreamBody("invalid JSON (\(error))")
    }
    guard case .object(let o) = value else { throw .badUpstreamBody("expected a JSON object") }
    return o
}

/// Splits a `data:` URL (`data:image/png;base64,AAAA`) into its media type and payload.
func parseDataURL(_ url: String) -> (mediaType: String, data: String)? {
    guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
    let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
    let mediaType = header.split(separator: ";").first.map(String.init) ?? "image/png"
    return (mediaType, String(url[url.index(after: comma)...]))
}
