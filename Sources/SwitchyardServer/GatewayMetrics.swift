import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The gateway's metrics, through swift-metrics into a Prometheus registry that
/// `GET /metrics` renders.
///
/// Each gateway has its own registry (tests run several in one process). Names follow the
/// OpenTelemetry GenAI semantic conventions where one exists (`gen_ai_client_token_usage`,
/// `gen_ai_server_time_to_first_token`), with dots as underscores as Prometheus requires.
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let inflight: Meter
    private let overhead: CoreMetrics.Timer
    private let upstreamLatency: CoreMetrics.Timer
    private let gap: CoreMetrics.Timer
    /// Handles per (route, model, status), so a request does not go through the registry's
    /// lookup and label validation for each of its metrics.
    private let completedHandles = Mutex<[CompletedKey: CompletedHandles]>([:])

    private struct CompletedKey: Hashable {
        let route: String
        let model: String
        let status: Int
    }

    private struct CompletedHandles: @unchecked Sendable {
        let requests: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
        let inputTokens: CoreMetrics.Recorder
        let outputTokens: CoreMetrics.Recorder
        let cost: CoreMetrics.FloatingPointCounter
        let savings: CoreMetrics.FloatingPointCounter
    }

    /// Route labels outside this set are recorded as `unknown`: a client that sends random
    /// model names must not grow the registry without bound. Empty: every name is kept.
    private let knownRoutes: Set<String>

    init(knownRoutes: Set<String> = []) {
        self.knownRoutes = knownRoutes
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fine: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        ]
        let coarse: [Duration] = [
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
        ]
        factory.durationHistogramBuckets = [
            "switchyard_gateway_overhead_seconds": fine,
            "switchyard_inter_token_gap_seconds": fine + [.milliseconds(500), .seconds(1), .seconds(5)],
            "switchyard_upstream_latency_seconds": coarse,
            "gen_ai_server_time_to_first_token_seconds": coarse,
            "gen_ai_server_time_per_output_token_seconds": fine + [.milliseconds(500), .seconds(1)],
            "gen_ai_client_operation_duration_seconds": coarse,
        ]
        factory.valueHistogramBuckets = [
            // The OpenTelemetry GenAI recommendation for token counts.
            "gen_ai_client_token_usage": [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304]
        ]
        self.factory = factory
        inflight = Meter(label: "switchyard_inflight_requests", factory: factory)
        overhead = Timer(label: "switchyard_gateway_overhead_seconds", factory: factory)
        upstreamLatency = Timer(label: "switchyard_upstream_latency_seconds", factory: factory)
        gap = Timer(label: "switchyard_inter_token_gap_seconds", factory: factory)
    }

    func requestStarted() { inflight.increment() }
    func requestEnded() { inflight.decrement() }

    func gatewayOverhead(seconds: Double) { overhead.recordNanoseconds(Int64(max(seconds, 0) * 1e9)) }

    func upstream(seconds: Double) { upstreamLatency.recordNanoseconds(Int64(max(seconds, 0) * 1e9)) }

    func timeToFirstToken(seconds: Double, model: String) {
        Timer(label: "gen_ai_server_time_to_first_token_seconds", dimensions: [("gen_ai_response_model", model)], factory: factory)
            .recordNanoseconds(Int64(max(seconds, 0) * 1e9))
    }

    /// OpenTelemetry's `gen_ai.server.time_per_output_token`: the stream's time after the
    /// first token divided by the tokens after the first.
    func timePerOutputToken(seconds: Double, model: String) {
        Timer(label: "gen_ai_server_time_per_output_token_seconds", dimensions: [("gen_ai_response_model", model)], factory: factory)
            .recordNanoseconds(Int64(max(seconds, 0) * 1e9))
    }

    /// The gap between two chunks the client receives.
    func interTokenGap(seconds: Double) {
        gap.recordNanoseconds(Int64(max(seconds, 0) * 1e9))
    }

    /// One finished request: counts, duration, tokens by type, cost and savings.
    func completed(route: String, model: String?, status: Int, seconds: Double, promptTokens: Int, completionTokens: Int, cost: Double, savings: Double) {
        let modelLabel = model ?? "none"
        let route = knownRoutes.isEmpty || knownRoutes.contains(route) ? route : "unknown"
        let key = CompletedKey(route: route, model: modelLabel, status: status)
        let handles = completedHandles.withLock { cache in
            if let handles = cache[key] { return handles }
            let handles = CompletedHandles(
                requests: Counter(
                    label: "switchyard_requests_total", dimensions: [("route", route), ("model", modelLabel), ("status", String(status))], factory: factory
                ),
                duration: Timer(
                    label: "gen_ai_client_operation_duration_seconds",
                    dimensions: [("gen_ai_operation_name", "chat"), ("gen_ai_response_model", modelLabel)], factory: factory
                ),
                inputTokens: Recorder(
                    label: "gen_ai_client_token_usage", dimensions: [("gen_ai_token_type", "input"), ("gen_ai_response_model", modelLabel)], factory: factory
                ),
                outputTokens: Recorder(
                    label: "gen_ai_client_token_usage", dimensions: [("gen_ai_token_type", "output"), ("gen_ai_response_model", modelLabel)], factory: factory
                ),
                cost: FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: [("model", modelLabel)], factory: factory),
                savings: FloatingPointCounter(label: "switchyard_savings_usd_total", dimensions: [("model", modelLabel)], factory: factory)
            )
            cache[key] = handles
            return handles
        }
        handles.requests.increment()
        handles.duration.recordNanoseconds(Int64(max(seconds, 0) * 1e9))
        guard model != nil else { return }
        handles.inputTokens.record(promptTokens)
        handles.outputTokens.record(completionTokens)
        handles.cost.increment(by: cost)
        if savings > 0 { handles.savings.increment(by: savings) }
    }

    /// `outcome`: reserved, refused, degraded.
    func budgetReservation(outcome: String, amount: Double) {
        Counter(label: "switchyard_budget_reservations_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        if outcome != "refused" {
            FloatingPointCounter(label: "switchyard_budget_reserved_usd_total", factory: factory).increment(by: amount)
        }
    }

    func rateLimited(kind: String) {
        Counter(label: "switchyard_rate_limited_total", dimensions: [("limit", kind)], factory: factory).increment()
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
