import HTTPTypes
import Instrumentation

/// Reads W3C trace context (`traceparent`, `tracestate`) from the client's headers, so a
/// request's span joins the caller's trace.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        return carrier[name]
    }
}
