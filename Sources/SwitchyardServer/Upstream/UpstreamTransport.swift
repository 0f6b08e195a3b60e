import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwitchyardCore
import SwitchyardProviders

/// Sends upstream requests, with each model's connect and read timeouts, no redirects and
/// no decompression: the gateway relays what the upstream sent.
///
/// Plain `http://` deployments (self-hosted models: the hot path) use `PlainHTTPClient`,
/// which stays on the calling task's event loop; `https://` deployments (the closed
/// providers) use AsyncHTTPClient for TLS.
final class UpstreamTransport: Sendable {
    private enum Client: Sendable {
        case plain(PlainHTTPClient)
        case tls(HTTPClient)
    }

    private let clients: [String: Client]

    init(models: [ModelConfig]) {
        var clients: [String: Client] = [:]
        for model in models {
            for deployment in model.deployments {
                let connect = TimeAmount.milliseconds(Int64(model.timeouts.connect * 1000))
                let read = TimeAmount.milliseconds(Int64(max(model.timeouts.idle, model.timeouts.firstByte) * 1000))
                if deployment.baseURL.hasPrefix("http://") {
                    clients[deployment.id] = .plain(
                        PlainHTTPClient(
                            group: MultiThreadedEventLoopGroup.singleton, connectTimeout: connect,
                            firstByteTimeout: .milliseconds(Int64(model.timeouts.firstByte * 1000)),
                            idleTimeout: .milliseconds(Int64(model.timeouts.idle * 1000))
                        )
                    )
                    continue
                }
                var configuration = HTTPClient.Configuration(
                    redirectConfiguration: .disallow, timeout: .init(connect: connect, read: read), decompression: .disabled
                )
                if let caFile = model.tlsCAFile {
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.trustRoots = .file(caFile)
                    configuration.tlsConfiguration = tls
                }
                configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
                configuration.httpVersion = .automatic
                // The gateway makes its own span per attempt; the client's would double them.
                configuration.tracing.tracer = nil
                clients[deployment.id] = .tls(HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration))
            }
        }
        self.clients = clients
    }

    /// Whether the deployment's client enforces the first-byte and idle limits itself, so
    /// the caller needs no timer task of its own (AsyncHTTPClient has a single read timeout).
    func timesPhases(deployment: String) -> Bool {
        if case .plain? = clients[deployment] { return true }
        return false
    }

    func shutdown() async {
        for client in clients.values {
            switch client {
            case .plain(let plain): plain.shutdown()
            case .tls(let client): try? await client.shutdown()
            }
        }
    }

    /// Sends the request and returns once the response head has arrived.
    func send(_ request: UpstreamHTTPRequest, deployment: String, totalTimeout: Double) async throws -> UpstreamResponse {
        guard let client = clients[deployment] else { throw AttemptFailureError(.connect("no client for deployment \(deployment)")) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(totalTimeout * 1000))
        switch client {
        case .plain(let plain):
            do {
                let (head, exchange) = try await plain.execute(
                    method: request.method, url: request.url, headers: request.headers, body: request.body, deadline: deadline
                )
                return UpstreamResponse(status: Int(head.status.code), headers: head.headers, body: UpstreamBody(exchange))
            } catch is UpstreamReadTimeout {
                throw AttemptFailureError(.timeout(phase: .firstByte))
            } catch let error as AttemptFailureError {
                throw error
            } catch {
                throw AttemptFailureError(Self.classify(error))
            }
        case .tls(let client):
            var outgoing = HTTPClientRequest(url: request.url)
            outgoing.method = HTTPMethod(rawValue: request.method)
            outgoing.headers.reserveCapacity(request.headers.count)
            for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
            do {
                let response = try await client.execute(outgoing, deadline: deadline)
                return UpstreamResponse(status: Int(response.status.code), headers: response.headers, body: UpstreamBody(response.body))
            } catch let error as HTTPClientError where error == .readTimeout {
                throw AttemptFailureError(.timeout(phase: .firstByte))
            } catch {
                throw AttemptFailureError(Self.classify(error))
            }
        }
    }

    static func classify(_ error: any Error) -> AttemptFailure {
        if let failure = error as? AttemptFailureError { return failure.failure }
        if error is UpstreamReadTimeout { return .timeout(phase: .idle) }
        if error is CancellationError { return .connect("cancelled") }
        if let tls = error as? NIOSSLError, case .handshakeFailed(let reason) = tls {
            let detail = "\(reason)"
            if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                return .connect("TLS handshake failed: the upstream's certificate is not trusted (a private CA goes in the model's tls_ca_file)")
            }
            return .connect("TLS handshake failed")
        }
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

/// An upstream answer whose head has arrived.
struct UpstreamResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: UpstreamBody
}

/// An upstream answer's body, read part by part by one reader at a time. A read timeout
/// surfaces as `UpstreamReadTimeout` whichever client carried the request.
final class UpstreamBody: @unchecked Sendable {
    private enum Source {
        case plain(PlainExchange)
        case tls(HTTPClientResponse.Body.AsyncIterator)
    }

    private var source: Source
    /// The plain client's exchange, which any thread may cancel.
    private let plain: PlainExchange?

    /// True when the client enforces the first-byte and idle limits itself.
    var timesPhases: Bool { plain != nil }

    /// True when `cancel()` works; otherwise only cancelling the reading task stops a read.
    var cancelsDirectly: Bool { plain != nil }

    init(_ exchange: PlainExchange) {
        source = .plain(exchange)
        plain = exchange
    }

    init(_ body: HTTPClientResponse.Body) {
        source = .tls(body.makeAsyncIterator())
        plain = nil
    }

    /// Fails a pending or later read with `CancellationError` and closes the upstream
    /// connection, unless the body has already ended. Safe from any thread.
    func cancel() { plain?.cancel() }

    /// The next part, or nil at the end.
    func next() async throws -> ByteBuffer? {
        switch source {
        case .plain(let exchange):
            return try await exchange.next()
        case .tls(var iterator):
            do {
                let part = try await iterator.next()
                source = .tls(iterator)
                return part
            } catch let error as HTTPClientError where error == .readTimeout {
                throw UpstreamReadTimeout()
            }
        }
    }

    /// The whole body, failing past `limit` bytes.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        if case .plain(let exchange) = source { return try await exchange.collect(upTo: limit) }
        var result = ByteBuffer()
        while var part = try await next() {
            result.writeBuffer(&part)
            if result.readableBytes > limit { throw AttemptFailureError(.badResponse("upstream body over \(limit) bytes")) }
        }
        return result
    }
}

/// `AttemptFailure` as a thrown error.
struct AttemptFailureError: Error {
    let failure: AttemptFailure
    init(_ failure: AttemptFailure) { self.failure = failure }
}
