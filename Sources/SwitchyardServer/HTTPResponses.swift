import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// Header names the gateway adds to every answer.
enum SwitchyardHeader {
    static let model = HTTPField.Name("x-switchyard-model")!
    static let deployment = HTTPField.Name("x-switchyard-deployment")!
    static let route = HTTPField.Name("x-switchyard-route")!
    static let decision = HTTPField.Name("x-switchyard-decision")!
}

extension Response {
    /// A JSON answer with the gateway's attribution headers. Header values are forced to
    /// ASCII: HTTP field values must not carry raw non-ASCII bytes.
    static func json(
        status: HTTPResponse.Status, body: ByteBuffer, model: String?, deployment: String?, extra: [(String, String)] = []
    ) -> Response {
        var headers = HTTPFields()
        // Room for the route, decision and request id the chat routes add.
        headers.reserveCapacity(7 + extra.count)
        headers.append(HTTPField(name: .contentType, value: "application/json"))
        if let model { headers.append(HTTPField(name: SwitchyardHeader.model, value: asciiHeaderValue(model))) }
        if let deployment { headers.append(HTTPField(name: SwitchyardHeader.deployment, value: asciiHeaderValue(deployment))) }
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = asciiHeaderValue(value) }
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    static func error(_ error: GatewayError, model: String? = nil, deployment: String? = nil) -> Response {
        json(
            status: HTTPResponse.Status(code: error.status), body: ByteBuffer(bytes: JSONWriter.bytes(error.openAIBody)),
            model: model, deployment: deployment, extra: error.headers
        )
    }
}

/// Replaces anything outside printable ASCII with `?` (RFC 9110 §5.5 field values).
func asciiHeaderValue(_ value: String) -> String {
    if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
    return String(decoding: value.utf8.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
}
