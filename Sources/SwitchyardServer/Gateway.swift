import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardProviders
import SwitchyardStore
import Tracing

/// The gateway's request engine: given a validated request, it walks the candidate
/// models and their deployments (least outstanding first, tripped circuits skipped),
/// retries what is retryable with backoff, falls back before anything reaches the client,
/// and hands back either a complete answer or a stream ready to relay.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    let models: [String: ModelRuntime]
    let transport: UpstreamTransport
    let logger: Logger
    let gate: PolicyGate
    let learned: LearnedRouter?
    let authenticator: KeyAuthenticator
    let accountant: Accountant
    let metrics: GatewayMetrics
    /// The database behind keys, budgets and the request log; nil when none is configured.
    public let store: (any AccountingStore)?
    let writer: RequestLogWriter?

    /// A gateway without a database: no virtual keys, budgets, rate limits or request log.
    public convenience init(config: GatewayConfig, logger: Logger) throws {
        try self.init(config: config, logger: logger, store: nil)
    }

    /// A gateway whose accounting lives in `store` (see `StoreFactory.open`).
    public init(config: GatewayConfig, logger: Logger, store: (any AccountingStore)?) throws {
        self.config = config
        self.store = store
        let metrics = GatewayMetrics(knownRoutes: Set(config.models.map(\.name) + config.routing.routes.map(\.name)))
        self.metrics = metrics
        let writer = store.map {
            RequestLogWriter(
                store: $0, interval: config.database?.flushInterval ?? 0.5, batchSize: config.database?.batchSize ?? 500, logger: logger
            )
        }
        writer?.start()
        self.writer = writer
        authenticator = KeyAuthenticator(auth: config.auth, store: store, cacheSeconds: config.accounting.keyCacheSeconds, logger: logger)
        accountant = Accountant(config: config, store: store, writer: writer, metrics: metrics, logger: logger)
        let learned = try config.routing.routerFile.map { try LearnedRouter(file: $0, encoderDirectory: config.routing.encoderDirectory, precision: config.routing.encoderPrecision) }
        self.learned = learned
        self.gate = try PolicyGate(config: config, learned: learned)
        var models: [String: ModelRuntime] = [:]
        for model in config.models { models[model.name] = ModelRuntime(config: model, reliability: config.reliability) }
        self.models = models
        self.transport = UpstreamTransport(models: config.models)
        self.logger = logger
    }

    /// Writes the buffered log rows and closes the upstream clients and the database.
    public func shutdown() async {
        await writer?.shutdown()
        await transport.shutdown()
        await learned?.shutdown()
        await store?.close()
    }

    /// Whether a model can take a request now: it has a key and a deployment whose circuit is not open.
    func isHealthy(_ name: String) -> Bool {
        guard let model = models[name] else { return false }
        return model.deployments.contains { d in
            if case .missing = d.config.credential { return false }
            return d.isAvailable
        }
    }

    /// True when at least one deployment of some model could take a request now.
    public var isReady: Bool {
        models.values.contains { model in
            model.deployments.contains { d in
                if case .missing = d.config.credential { return false }
                return d.isAvailable
            }
        }
    }

    func execute(_ request: ChatRequest, originalBody: [UInt8], plan: PolicyGate.Plan, collectText: Bool = false) async -> CompletionOutcome {
        let chain = plan.chain.compactMap { models[$0] }
        let redactedBody = plan.redacted.map { JSONWriter.bytes(.object($0.raw)) }
        var failures: [FailedAttempt] = []
        // A requested model whose key is not configured is an error in itself, never a
        // silent reroute: the client asked for that model by name.
        if let requested = chain.first, !requested.deployments.isEmpty,
            requested.deployments.allSatisfy({ if case .missing = $0.config.credential { return true } else { return false } })
        {
            let missing = requested.deployments.map {
                FailedAttempt(model: requested.config.name, deployment: $0.config.id, failure: $0.config.credential.missingFailure!)
            }
            return .failure(.upstreamsFailed(missing), model: requested.config.name, deployment: nil)
        }
        for model in chain {
            let adapter = ProviderAdapters.adapter(for: model.config.provider)
            // Models that may only see masked text get the redacted request, and their
            // answers are re-filled with the original values.
            let masked = plan.redactedModels.contains(model.config.name)
            let modelRequest = masked ? plan.redacted ?? request : request
            let modelBody = masked ? redactedBody ?? originalBody : originalBody
            let mapping = masked ? plan.mapping : nil
            for deployment in model.orderedDeployments() {
                let apiKey: String?
                switch deployment.config.credential {
                case .missing(let variable):
                    failures.append(FailedAttempt(model: model.config.name, deployment: deployment.config.id, failure: .missingCredential(variable: variable)))
                    continue
                case .value(let key): apiKey = key
                case .none: apiKey = nil
                }
                let target = UpstreamTarget(model: model.config, deployment: deployment.config, apiKey: apiKey)
                let upstreamRequest: UpstreamHTTPRequest
                do {
                    upstreamRequest = try adapter.makeRequest(modelRequest, originalBody: modelBody, target: target)
                } catch {
                    // The request cannot be expressed in this upstream's protocol; another candidate may take it.
                    failures.append(FailedAttempt(model: model.config.name, deployment: deployment.config.id, failure: .badResponse(error.message)))
                    if chain.count == 1 { return .failure(error, model: model.config.name, deployment: deployment.config.id) }
                    continue
                }
                var retry = 0
                while true {
                    guard deployment.tryAcquire() else {
                        failures.append(FailedAttempt(model: model.config.name, deployment: deployment.config.id, failure: .circuitOpen))
                        break
                    }
                    deployment.outstanding.add(1, ordering: .relaxed)
                    // One client span per attempt, a child of the request's span.
                    let span: any Span =
                        config.tracing == nil
                        ? NoOpTracer.NoOpSpan(context: .topLevel) : startSpan("upstream " + deployment.config.id, ofKind: .client)
                    if span.isRecording { span.updateAttributes { a in
                        a["gen_ai.system"] = model.config.provider.rawValue
                        a["gen_ai.request.model"] = model.config.upstreamModel
                        a["switchyard.model"] = model.config.name
                        a["switchyard.deployment"] = deployment.config.id
                        a["switchyard.retry"] = retry
                    } }
                    let result = await attempt(
                        modelRequest, upstreamRequest, adapter: adapter, target: target, deployment: deployment, mapping: mapping,
                        collectText: collectText
                    )
                    if span.isRecording {
                        if case .failure(let failure) = result {
                            span.setStatus(SpanStatus(code: .error, message: failure.summary))
                            if case .status(let code, _, _) = failure { span.attributes["http.response.status_code"] = code }
                        } else {
                            span.attributes["http.response.status_code"] = 200
                        }
                    }
                    span.end()
                    switch result {
                    case .success(let outcome):
                        deployment.recordSuccess()
                        return outcome
                    case .failure(let failure):
                        deployment.outstanding.subtract(1, ordering: .relaxed)
                        if Task.isCancelled {
                            deployment.recordNeutral()
                            return .failure(GatewayError(status: 499, type: "client_closed", message: "The client closed the request."), model: nil, deployment: nil)
                        }
                        if failure.countsAsDeploymentFailure { deployment.recordFailure() } else { deployment.recordNeutral() }
                        logger.warning(
                            "upstream attempt failed",
                            metadata: ["model": .string(model.config.name), "deployment": .string(deployment.config.id), "reason": .string(failure.summary)]
                        )
                        failures.append(FailedAttempt(model: model.config.name, deployment: deployment.config.id, failure: failure))
                        if failure.isClientError, case .status(let code, let message, _) = failure {
                            var error = GatewayError(
                                status: code == 413 ? 413 : 400, type: "invalid_request_error", code: "upstream_rejected_request",
                                message: "\(deployment.config.id) rejected the request: \(message ?? "HTTP \(code)")"
                            )
                            error.param = nil
                            return .failure(error, model: model.config.name, deployment: deployment.config.id, upstreamStatus: code)
                        }
                        guard failure.isRetryable, retry < model.config.retry.maxRetries else { break }
                        var wait = Backoff.delay(
                            retry: retry, initial: model.config.retry.initialBackoff, maximum: model.config.retry.maxBackoff,
                            random: Double.random(in: 0..<1)
                        )
                        if case .status(_, _, let retryAfter?) = failure {
                            // An upstream that asks for a long pause is skipped rather than waited on.
                            guard retryAfter <= model.config.retry.maxRetryAfter else { break }
                            wait = max(wait, retryAfter)
                        }
                        retry += 1
                        do { try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000)) } catch { break }
                        continue
                    }
                    break
                }
            }
        }
        let lastStatus = failures.last.flatMap { attempt -> Int? in
            if case .status(let code, _, _) = attempt.failure { return code }
            return nil
        }
        return .failure(.upstreamsFailed(failures), model: chain.first?.config.name, deployment: failures.last?.deployment, upstreamStatus: lastStatus)
    }

    /// One try against one deployment. On success the deployment's outstanding count
    /// stays raised until the answer has been relayed.
    private func attempt(
        _ request: ChatRequest, _ upstreamRequest: UpstreamHTTPRequest, adapter: any ProviderAdapter, target: UpstreamTarget,
        deployment: DeploymentRuntime, mapping: RedactionMapping?, collectText: Bool
    ) async -> Result<CompletionOutcome, AttemptFailure> {
        let timeouts = target.model.timeouts
        let transport = self.transport
        let deploymentID = deployment.config.id
        do {
            // The HTTP client's read timeout is max(first byte, idle); a shorter first-byte
            // limit needs its own timer, the common case (first byte >= idle) does not.
            let readTimeout = max(timeouts.firstByte, timeouts.idle)
            if !request.stream {
                let exchange: @Sendable () async throws -> (Int, HTTPHeaders, ByteBuffer) = {
                    let response = try await transport.send(upstreamRequest, deployment: deploymentID, totalTimeout: timeouts.total)
                    do {
                        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
                        return (response.status, response.headers, body)
                    } catch is UpstreamReadTimeout {
                        throw AttemptFailureError(.timeout(phase: response.body.timesPhases ? .idle : .firstByte))
                    }
                }
                let timesPhases = transport.timesPhases(deployment: deploymentID)
                let (status, headers, body) =
                    !timesPhases && timeouts.firstByte < readTimeout
                    ? try await withTimeout(timeouts.firstByte, phase: .firstByte, exchange) : try await exchange()
                guard (200..<300).contains(status) else { throw AttemptFailureError(Self.statusFailure(status, headers: headers, body: body, adapter: adapter)) }
                deployment.outstanding.subtract(1, ordering: .relaxed)
                if adapter.speaksOpenAI && mapping == nil {
                    return .success(.complete(model: target.model.name, deployment: deploymentID, body: body))
                }
                let response: ChatResponse
                do {
                    response = try adapter.decodeResponse(Array(buffer: body), request: request, target: target)
                } catch {
                    return .failure(.badResponse(error.message))
                }
                var canonical = mapping.map { response.restoring($0) } ?? response
                canonical.created = canonical.created == 0 ? Int(Date().timeIntervalSince1970) : canonical.created
                if !canonical.id.hasPrefix("chatcmpl-") { canonical.id = "chatcmpl-" + canonical.id }
                let bytes = JSONWriter.bytes(OpenAIResponseEncoder.completion(canonical))
                return .success(.complete(model: target.model.name, deployment: deploymentID, body: ByteBuffer(bytes: bytes)))
            }
            let head: @Sendable () async throws -> UpstreamResponse = {
                try await transport.send(upstreamRequest, deployment: deploymentID, totalTimeout: timeouts.total)
            }
            let response =
                !transport.timesPhases(deployment: deploymentID) && timeouts.firstByte < readTimeout
                ? try await withTimeout(timeouts.firstByte, phase: .firstByte, head) : try await head()
            let status = response.status
            guard (200..<300).contains(status) else {
                let body = (try? await response.body.collect(upTo: 1024 * 1024)) ?? ByteBuffer()
                throw AttemptFailureError(Self.statusFailure(status, headers: response.headers, body: body, adapter: adapter))
            }
            let relay = StreamRelay(
                body: response.body, adapter: adapter, request: request, timeouts: timeouts, mapping: mapping,
                collectText: collectText
            )
            try await relay.prime()
            relay.onFinish = { [deployment] in deployment.outstanding.subtract(1, ordering: .relaxed) }
            return .success(.stream(model: target.model.name, deployment: deploymentID, relay: relay))
        } catch let error as AttemptFailureError {
            return .failure(error.failure)
        } catch is UpstreamReadTimeout {
            // Nothing had arrived yet: before the first byte the read timeout is the first-byte limit.
            return .failure(.timeout(phase: .firstByte))
        } catch let error as GatewayError {
            return .failure(.badResponse(error.message))
        } catch {
            return .failure(UpstreamTransport.classify(error))
        }
    }

    static func statusFailure(_ status: Int, headers: HTTPHeaders, body: ByteBuffer, adapter: any ProviderAdapter) -> AttemptFailure {
        let message = adapter.errorMessage(status: status, body: Array(buffer: body))
        let retryAfter = Backoff.retryAfter(seconds: headers.first(name: "retry-after"), milliseconds: headers.first(name: "retry-after-ms"))
        return .status(code: status, message: message.map { String($0.prefix(500)) }, retryAfter: retryAfter)
    }
}

enum CompletionOutcome: Sendable {
    case complete(model: String, deployment: String, body: ByteBuffer)
    case stream(model: String, deployment: String, relay: StreamRelay)
    case failure(GatewayError, model: String?, deployment: String?, upstreamStatus: Int? = nil)
}

extension Credential {
    var missingFailure: AttemptFailure? {
        if case .missing(let variable) = self { return .missingCredential(variable: variable) }
        return nil
    }
}
