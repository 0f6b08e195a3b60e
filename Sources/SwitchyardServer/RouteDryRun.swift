import HTTPTypes
import SwitchyardCore
import SwitchyardPolicy

/// The policy decision for a request, computed without calling any model, as JSON:
/// what `switchyard route` prints. Detected data is reported as kinds and counts only.
public enum RouteDryRun {
    public static func decide(config: GatewayConfig, request: ChatRequest, profile: String?, dataClass: String?) async throws -> JSONValue {
        let learned = try config.routing.routerFile.map { try LearnedRouter(file: $0, encoderDirectory: config.routing.encoderDirectory, precision: config.routing.encoderPrecision) }
        defer { if let learned { Task { await learned.shutdown() } } }
        let gate = try PolicyGate(config: config, learned: learned)
        var headers = HTTPFields()
        if let profile { headers[PolicyGate.profileHeader] = profile }
        if let dataClass { headers[PolicyGate.dataClassHeader] = dataClass }
        // The dry run is an operator tool: it may name any profile even when keys are configured.
        let unauthenticated = PolicyGate(copying: gate, auth: AuthSettings())
        do {
            let plan = try await unauthenticated.plan(request, caller: .anonymous, headers: headers, health: { name in
                config.model(named: name)?.deployments.contains { if case .missing = $0.credential { return false } else { return true } } ?? false
            })
            let d = plan.decision
            var o = JSONObject()
            o["decision"] = "route"
            o["profile"] = .string(plan.profile)
            o["route"] = .string(plan.route)
            o["model"] = .string(d.model)
            o["fallbacks"] = .array(Array(plan.chain.dropFirst()).map(JSONValue.string))
            o["strategy"] = .string(d.strategy.rawValue)
            o["reason"] = .string(d.reason)
            o["header"] = .string(d.headerReason)
            o["data_class"] = .string(d.dataClass.name)
            o["detections"] = counts(d.detections)
            if let score = d.score {
                o["score"] = .double((score.value * 1000).rounded() / 1000)
                // The learned router's score reaches the engine precomputed (it runs off the event loops).
                o["score_source"] = .string(score.source == "precomputed" ? "router" : score.source)
                o["score_reason"] = .string(score.reason)
            }
            if let t = d.threshold { o["threshold"] = .double(t) }
            if let rule = d.rule { o["rule"] = .string(rule) }
            o["redacted_for"] = .array(plan.redactedModels.sorted().map(JSONValue.string))
            o["candidates"] = verdicts(d.candidates)
            return .object(o)
        } catch {
            var o = JSONObject()
            o["decision"] = "refuse"
            o["status"] = .int(error.error.status)
            o["code"] = error.error.code.map(JSONValue.string) ?? .null
            o["message"] = .string(error.error.message)
            if let header = error.decision { o["header"] = .string(header) }
            return .object(o)
        }
    }

    static func counts(_ detections: [SensitiveKind: Int]) -> JSONValue {
        .object(JSONObject(detections.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, JSONValue.int($0.value)) }))
    }

    static func verdicts(_ list: [CandidateVerdict]) -> JSONValue {
        .array(list.map { .object(JSONObject([("name", .string($0.name)), ("kept", .bool($0.kept)), ("reason", .string($0.reason))])) })
    }
}

extension PolicyGate {
    init(copying other: PolicyGate, auth: AuthSettings) {
        self.engine = other.engine
        self.profiles = other.profiles
        self.defaultProfile = other.defaultProfile
        self.auth = auth
        self.config = other.config
        self.learned = other.learned
        self.fallbackChains = other.fallbackChains
    }
}
