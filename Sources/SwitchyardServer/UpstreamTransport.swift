import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// Sends upstream requests. One `HTTPClient` per deployment, each configured with that
/// model's connect and read timeouts, no redirects and no decompression: the gateway
/// relays what the upstream sent.
final class UpstreamTransport: Sendable {
    private let clients: [String: HTTPClient]

    init(models: [ModelConfig]) {
        var clients: [String: HTTPClient] = [:]
        for model in models {
            for deployment in model.deployments {
                var configuration = HTTPClient.Configuration(
                    redirectConfiguration: .disallow,
                    timeout: .init(
                        connect: .milliseconds(Int64(model.timeouts.connect * 1000)),
                        read: .milliseconds(Int64(max(model.timeouts.idle, model.timeouts.firstByte) * 1000))
                    ),
                    decompression: .disabled
                )
                configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
                configuration.httpVersion = .automatic
                // The gateway makes its own span per attempt; the client's would double them.
                configuration.tracing.tracer = nil
                clients[deployment.id] = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            }
        }
        self.clients = clients
    }

    func shutdown() async {
        for client in clients.values { try? await client.shutdown() }
    }

    /// Sends the request and returns once the response head has arrived.
    func send(_ request: UpstreamHTTPRequest, deployment: String, totalTimeout: Double) async throws -> HTTPClientResponse {
        guard let client = clients[deployment] else { throw AttemptFailureError(.connect("no client for deployment \(deployment)")) }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        outgoing.headers.reserveCapacity(request.headers.count)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            return try await client.execute(outgoing, deadline: .now() + .milliseconds(Int64(totalTimeout * 1000)))
        } catch let error as HTTPClientError where error == .readTimeout {
            throw AttemptFailureError(.timeout(phase: .firstByte))
        } catch {
            throw AttemptFailureError(Self.classify(error))
        }
    }

    static func classify(_ error: any Error) -> AttemptFailure {
        if let failure = error as? AttemptFailureError { return failure.failure }
        if let http = error as? HTTPClientError {
            switch http {
            case .connectTimeout: return .timeout(phase: .connect)
            case .readTimeout: return .timeout(phase: .idle)
            case .deadlineExceeded: return .timeout(phase: .total)
            case .cancelled: return .connect("cancelled")
            default: return .connect(String(describing: http))
            }
        }
        return .connect(String(describing: error))
    }
}

/// `AttemptFailure` as a thrown error.
struct AttemptFailureError: Error {
    let failure: AttemptFailure
    init(_ failure: AttemptFailure) { self.failure = failure }
}
