import SwitchyardCore
import SwitchyardProviders

func target(_ provider: ProviderKind, upstream: String = "up-model", key: String? = "k", baseURL: String = "http://h:1") -> UpstreamTarget {
    let model = ModelConfig(
        name: "client-name", provider: provider, upstreamModel: upstream, openness: .closed, hosting: .cloud,
        maxOutputTokens: 1000, deployments: [DeploymentConfig(id: "d", baseURL: baseURL, credential: key.map(Credential.value) ?? .none)]
    )
    return UpstreamTarget(model: model, deployment: model.deployments[0], apiKey: key)
}

func request(_ json: String) throws -> (ChatRequest, [UInt8]) {
    let bytes = Array(json.utf8)
    return (try OpenAIRequestDecoder.decode(try JSONParser.parse(bytes)), bytes)
}

func bodyJSON(_ r: UpstreamHTTPRequest) throws -> JSONValue { try JSONParser.parse(r.body) }

func header(_ r: UpstreamHTTPRequest, _ name: String) -> String? { r.headers.first { $0.0 == name }?.1 }

/// Feeds a stream to a decoder in chunks of `size` bytes and collects the events.
func decodeStream(_ decoder: some UpstreamStreamDecoder, _ text: String, chunk size: Int) throws -> [StreamEvent] {
    var decoder = decoder
    let bytes = Array(text.utf8)
    var events: [StreamEvent] = []
    var i = 0
    while i < bytes.count {
        events += try decoder.feed(Array(bytes[i..<min(bytes.count, i + size)]))
        i += size
    }
    events += try decoder.finish()
    return events
}

/// Merges adjacent text deltas so assertions do not depend on chunking.
func normalized(_ events: [StreamEvent]) -> [StreamEvent] {
    var out: [StreamEvent] = []
    for e in events {
        if case .textDelta(let t) = e, case .textDelta(let prev)? = out.last {
            out[out.count - 1] = .textDelta(prev + t)
        } else if case .toolCallArguments(let i, let f) = e, case .toolCallArguments(let pi, let pf)? = out.last, pi == i {
            out[out.count - 1] = .toolCallArguments(index: i, fragment: pf + f)
        } else {
            out.append(e)
        }
    }
    return out
}
