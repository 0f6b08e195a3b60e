/// An error the gateway answers with, already carrying its HTTP status and the fields of
/// OpenAI's error object (`{"error":{"message","type","param","code"}}`).
///
/// Every failure path ends in one of these, so clients always get their API's own error
/// shape and never a bare 500 or a dropped connection.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var code: String?
    public var param: String?
    public var message: String
    /// Extra response headers (for example `retry-after` on a relayed 429).
    public var headers: [(String, String)]

    public init(
        status: Int, type: String, code: String? = nil, param: String? = nil, message: String,
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status) \(type)\(code.map { "/\($0)" } ?? ""): \(message)" }

    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool {
        lhs.status == rhs.status && lhs.type == rhs.type && lhs.code == rhs.code && lhs.param == rhs.param
            && lhs.message == rhs.message && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }

    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: code, param: param, message: message)
    }

    public static func modelNotFound(_ model: String) -> GatewayError {
        GatewayError(
            status: 404, type: "invalid_request_error", code: "model_not_found", param: "model",
            message: "The model '\(model)' does not exist on this gateway. GET /v1/models lists the available models."
        )
    }

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        GatewayError(
            status: 413, type: "invalid_request_error", code: "request_too_large",
            message: "Request body exceeds the gateway's limit of \(limit) bytes."
        )
    }

    /// The OpenAI-shaped JSON body.
    public var openAIBody: JSONValue {
        var inner = JSONObject()
        inner["message"] = .string(message)
        inner["type"] = .string(type)
        inner["param"] = param.map(JSONValue.string) ?? .null
        inner["code"] = code.map(JSONValue.string) ?? .null
        return .object(JSONObject([("error", .object(inner))]))
    }
}
