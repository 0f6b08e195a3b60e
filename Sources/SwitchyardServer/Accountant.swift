import Foundation
import Logging
import Synchronization
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardStore
import Tracing

/// Budgets, rate limits and the request log around each request.
///
/// Before a request is sent, `admit` takes one request (and its estimated prompt tokens)
/// from the key's per-minute window and reserves the request's worst-case cost against
/// the key's budget; `finish` settles the reservation to the actual cost, adds the
/// answer's tokens to the window and writes the log row. Both the reservation and the
/// window are single atomic statements in the store, so replicas sharing a PostgreSQL
/// database never overspend by more than one in-flight reservation.
final class Accountant: Sendable {
    let store: (any AccountingStore)?
    let writer: RequestLogWriter?
    let metrics: GatewayMetrics
    private let config: GatewayConfig
    private let logger: Logger
    /// Per model: the gateway's prompt estimate against the provider's count.
    private let calibration = Mutex<[String: PromptCalibration]>([:])

    init(config: GatewayConfig, store: (any AccountingStore)?, writer: RequestLogWriter?, metrics: GatewayMetrics, logger: Logger) {
        self.config = config
        self.store = store
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
    }

    /// What `admit` took, to be given back or settled by `finish`.
    struct Ticket: Sendable {
        var keyID: String?
        var budgetPeriod: String?
        var reserved: Double = 0
        var window: Int64?
        var admittedTokens = 0
        /// Set when the budget could not cover the primary chain and the request was moved
        /// to the open/local tier.
        var degraded = false
    }

    enum Admission: Sendable {
        case admitted(Ticket, PolicyGate.Plan)
        case refused(GatewayError)
    }

    func admit(_ request: ChatRequest, caller: Caller, plan: PolicyGate.Plan, now: Date = Date()) async -> Admission {
        guard let store, let keyID = caller.keyID, caller.budget != nil || caller.rpm != nil || caller.tpm != nil else {
            return .admitted(Ticket(keyID: caller.keyID), plan)
        }
        var ticket = Ticket(keyID: keyID)
        do {
            if caller.rpm != nil || caller.tpm != nil {
                // A sliding window: the previous minute still counts in proportion to how
                // much of it overlaps the last sixty seconds, so a burst across a minute
                // boundary cannot pass twice the limit.
                let seconds = now.timeIntervalSince1970
                let window = Int64((seconds / 60).rounded(.down))
                let overlap = (60 - (seconds - Double(window) * 60)) / 60
                let previous = try await store.windowUsage(keyID: keyID, window: window - 1)
                func carried(_ count: Int) -> Int { Int((Double(count) * overlap + 1e-9).rounded(.down)) }
                let rpm = caller.rpm.map { max($0 - carried(previous.requests), 0) }
                let tpm = caller.tpm.map { max($0 - carried(previous.tokens), 0) }
                let tokens = TokenEstimator.promptTokens(request) + (request.maxTokens ?? 0)
                switch try await store.admit(keyID: keyID, window: window, tokens: tokens, rpm: rpm, tpm: tpm) {
                case .admitted:
                    ticket.window = window
                    ticket.admittedTokens = tokens
                case .requestsExceeded:
                    metrics.rateLimited(kind: "requests")
                    return .refused(Self.rateLimitError("\(caller.rpm ?? 0) requests per minute", now: now))
                case .tokensExceeded:
                    metrics.rateLimited(kind: "tokens")
                    return .refused(Self.rateLimitError("\(caller.tpm ?? 0) tokens per minute", now: now))
                }
            }
            guard let budget = caller.budget else { return .admitted(ticket, plan) }
            let period = budget.periodKey(at: now)
            ticket.budgetPeriod = period
            let amount = worstCaseCost(request, chain: plan.chain)
            if try await store.reserve(keyID: keyID, period: period, amount: amount, limit: budget.amount) {
                ticket.reserved = amount
                metrics.budgetReservation(outcome: "reserved", amount: amount)
                return .admitted(ticket, plan)
            }
            if plan.budgetAction == .degrade, var degraded = degrade(plan, request: request) {
                let cheaper = worstCaseCost(request, chain: degraded.chain)
                if try await store.reserve(keyID: keyID, period: period, amount: cheaper, limit: budget.amount) {
                    ticket.reserved = cheaper
                    ticket.degraded = true
                    metrics.budgetReservation(outcome: "degraded", amount: cheaper)
                    degraded.budgetNote = "budget-exhausted->degraded:\(degraded.chain[0])"
                    return .admitted(ticket, degraded)
                }
            }
            metrics.budgetReservation(outcome: "refused", amount: amount)
            await release(ticket)
            let (spent, reserved) = (try? await store.budgetUsage(keyID: keyID, period: period)) ?? (0, 0)
            return .refused(
                GatewayError(
                    status: 429, type: "insufficient_quota", code: "budget_exceeded",
                    message: String(
                        format: "Budget exceeded for this key: %@ USD (%@), %.6f spent and %.6f reserved; this request may cost up to %.6f.",
                        budget.description, budget.period.rawValue, spent, reserved, amount
                    )
                )
            )
        } catch {
            logger.error("accounting store unavailable", metadata: ["error": "\(error)"])
            await release(ticket)
            return .refused(
                GatewayError(
                    status: 503, type: "service_unavailable", code: "accounting_unavailable",
                    message: "Budgets and rate limits cannot be checked right now; the request was not sent."
                )
            )
        }
    }

    /// The prompt's tokens as the gateway best knows them without calling the model: the
    /// estimate, calibrated on the model's reported counts when there are some.
    func promptTokens(_ request: ChatRequest, model: String) -> Int {
        let raw = TokenEstimator.promptTokens(request)
        return calibration.withLock { $0[model]?.apply(raw) } ?? raw
    }

    /// Gives back what `admit` took for a request that was never sent.
    func release(_ ticket: Ticket) async {
        guard let store, let keyID = ticket.keyID else { return }
        if let period = ticket.budgetPeriod, ticket.reserved > 0 {
            try? await store.settle(keyID: keyID, period: period, reserved: ticket.reserved, actual: 0)
        }
    }

    /// Worst case: estimated prompt plus every output token the request may produce, at
    /// the priciest model it may reach.
    func worstCaseCost(_ request: ChatRequest, chain: [String]) -> Double {
        let prompt = TokenEstimator.reservationPromptTokens(request)
        var worst = 0.0
        for name in chain {
            guard let model = config.model(named: name) else { continue }
            let output = request.maxTokens ?? model.maxOutputTokens ?? config.accounting.defaultMaxOutputTokens
            worst = max(worst, model.price.cost(of: Usage(promptTokens: prompt, completionTokens: output)))
        }
        return worst
    }

    /// The plan restricted to the open/local tier: local models are allowed when the
    /// profile's allow-lists permit them (the data stays on the premises), open cloud models
    /// only when the policy had already allowed them for this request.
    func degrade(_ plan: PolicyGate.Plan, request: ChatRequest) -> PolicyGate.Plan? {
        let needs = request.policyNeeds
        let profile = config.routing.allProfiles[plan.profile]
        func eligible(_ m: ModelConfig) -> Bool {
            guard m.openness == .open || m.hosting == .local else { return false }
            // The profile's own allow-lists still hold.
            if let allowed = profile?.allowedModels, !allowed.contains(m.name) { return false }
            if let tiers = profile?.allowedTiers, !tiers.contains(m.tier) { return false }
            if let hosting = profile?.allowedHosting, !hosting.contains(m.hosting == .local ? .local : .cloud) { return false }
            if needs.tools && !m.capabilities.tools { return false }
            if needs.images && !m.capabilities.images { return false }
            if needs.jsonSchema && !m.capabilities.jsonSchema { return false }
            return true
        }
        var chain = plan.chain.filter { name in config.model(named: name).map(eligible) ?? false }
        let extra = config.models.filter { $0.hosting == .local && eligible($0) && !chain.contains($0.name) }
            .sorted { ($0.price.blended, -$0.qualityRank) < ($1.price.blended, -$1.qualityRank) }
        chain += extra.map(\.name)
        guard !chain.isEmpty else { return nil }
        var degraded = plan
        degraded.chain = chain
        return degraded
    }

    static func rateLimitError(_ limit: String, now: Date) -> GatewayError {
        let retryAfter = max(1, 60 - Int(now.timeIntervalSince1970.truncatingRemainder(dividingBy: 60)))
        return GatewayError(
            status: 429, type: "rate_limit_error", code: "rate_limit_exceeded",
            message: "Rate limit reached for this key: \(limit). Try again in \(retryAfter) s.",
            headers: [("retry-after", String(retryAfter))]
        )
    }

    /// Everything known about a request once it is over.
    struct Outcome: Sendable {
        var span: any Span
        var id: String
        var started: Date
        var caller: Caller
        var profile: String
        var route: String
        /// The model name the client sent, when the body was readable.
        var request: String?
        var decision: String
        var model: String?
        var deployment: String?
        var status: Int
        var upstreamStatus: Int?
        var usage: Usage?
        /// The gateway's own count, used when the upstream reported no usage.
        var estimate: Usage
        var latency: Double
        var ttft: Double?
        var stream: Bool
        /// An upstream answered (all or part): its tokens are paid for even if the client left.
        var served: Bool
        var error: String?
        var logText: Bool
        var promptText: String?
        var responseText: String?
    }

    /// Settles the budget, adds the answer's tokens to the rate window, records metrics
    /// and queues the log row.
    func finish(_ ticket: Ticket?, _ o: Outcome) async {
        var usage = Usage(promptTokens: 0, completionTokens: 0)
        var source = RequestRecord.UsageSource.none
        if let reported = o.usage {
            usage = reported
            source = reported.estimated ? .estimated : .provider
            if let name = o.model, !reported.estimated, o.estimate.promptTokens > 0 {
                calibration.withLock { $0[name, default: PromptCalibration()].observe(estimate: o.estimate.promptTokens, actual: reported.promptTokens) }
            }
        } else if o.served {
            usage = o.estimate
            if let name = o.model {
                usage.promptTokens = calibration.withLock { $0[name]?.apply(o.estimate.promptTokens) } ?? o.estimate.promptTokens
            }
            usage.estimated = true
            source = .estimated
        }
        let model = o.model.flatMap { config.model(named: $0) }
        let cost = model.map { $0.price.cost(of: usage) } ?? 0
        let reference = config.referenceModel(forRoute: o.route)
        let counterfactual = reference.map { $0.price.cost(of: usage) } ?? cost
        if let ticket, let store, let keyID = ticket.keyID {
            do {
                if let period = ticket.budgetPeriod {
                    try await store.settle(keyID: keyID, period: period, reserved: ticket.reserved, actual: cost)
                }
                if let window = ticket.window {
                    try await store.addTokens(keyID: keyID, window: window, tokens: usage.totalTokens - ticket.admittedTokens)
                }
            } catch {
                logger.error("budget settlement failed", metadata: ["key_id": .string(keyID), "error": "\(error)"])
            }
        }
        metrics.completed(
            route: o.route, model: o.model, status: o.status, seconds: o.latency, promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens, cost: cost, savings: counterfactual - cost
        )
        if let ttft = o.ttft, let name = o.model {
            metrics.timeToFirstToken(seconds: ttft, model: name)
            if usage.completionTokens > 1, o.error == nil {
                metrics.timePerOutputToken(seconds: (o.latency - ttft) / Double(usage.completionTokens - 1), model: name)
            }
        }
        // Attributes are only built for spans that are recorded (tracing configured and sampled).
        if o.span.isRecording {
            o.span.updateAttributes { a in
            a["gen_ai.operation.name"] = "chat"
            a["gen_ai.request.model"] = o.request ?? o.route
            if let name = o.model { a["gen_ai.response.model"] = name }
            a["gen_ai.usage.input_tokens"] = usage.promptTokens
            a["gen_ai.usage.output_tokens"] = usage.completionTokens
            a["http.response.status_code"] = o.status
            a["switchyard.request_id"] = o.id
            a["switchyard.route"] = o.route
            a["switchyard.decision"] = o.decision
            a["switchyard.cost_usd"] = cost
            a["switchyard.usage_source"] = source.rawValue
            a["switchyard.stream"] = o.stream
            }
            if o.status >= 400 { o.span.setStatus(SpanStatus(code: .error, message: o.error)) }
        }
        o.span.end()
        let keepText = o.logText || (config.database?.storeText ?? false)
        writer?.record(
            RequestRecord(
                id: o.id, createdAt: o.started, keyID: o.caller.keyID, profile: o.profile, route: o.route, decision: o.decision,
                model: o.model, deployment: o.deployment, openness: model?.openness.rawValue, hosting: model?.hosting.rawValue,
                status: o.status, upstreamStatus: o.upstreamStatus, usage: usage, usageSource: source, cost: cost,
                counterfactualCost: counterfactual, latencyMs: o.latency * 1000, ttftMs: o.ttft.map { $0 * 1000 }, stream: o.stream,
                error: o.error, promptText: keepText ? o.promptText : nil, responseText: keepText ? o.responseText : nil
            )
        )
    }
}
