import HTTPTypes
import SwitchyardCore
import SwitchyardPolicy

/// The policy step in front of the attempt engine: authenticates the caller, picks the
/// profile, classifies the request's data, and turns the policy decision into the ordered
/// list of models the gateway may try — with the masked request for models that may only
/// see redacted text.
struct PolicyGate: Sendable {
    let engine: PolicyEngine
    let profiles: [String: PolicyProfile]
    let defaultProfile: String
    let auth: AuthSettings
    let config: GatewayConfig
    let learned: LearnedRouter?
    /// Each model's configured fallbacks, transitively and in breadth-first order.
    let fallbackChains: [String: [String]]

    static let profileHeader = HTTPField.Name("x-switchyard-profile")!
    static let dataClassHeader = HTTPField.Name("x-switchyard-data-class")!

    init(config: GatewayConfig, learned: LearnedRouter?) throws {
        self.config = config
        self.learned = learned
        let scanner = try SensitiveDataScanner(customRules: config.routing.customRules)
        engine = PolicyEngine(
            candidates: config.models.map { $0.policyCandidate(healthy: true) }, routes: config.routing.routes, scanner: scanner,
            mapping: config.routing.dataClassMapping
        )
        profiles = config.routing.allProfiles
        defaultProfile = config.routing.defaultProfile
        auth = config.auth
        var chains: [String: [String]] = [:]
        for model in config.models { chains[model.name] = Self.configFallbacks(of: model.name, in: config) }
        fallbackChains = chains
    }

    /// What the gateway will do with one request.
    struct Plan: Sendable {
        var profile: String
        var budgetAction: BudgetAction = .refuse
        /// Why the budget changed the plan, for `x-switchyard-decision`.
        var budgetNote: String?
        var route: String
        var chain: [String]
        var decision: PolicyDecision
        /// The masked request for the models in `redactedModels`.
        var redacted: ChatRequest?
        var redactedModels: Set<String>
        var mapping: RedactionMapping?
    }

    struct Refusal: Error {
        var error: GatewayError
        var route: String?
        var decision: String?
    }

    /// The caller's profile: its key's, or in dev mode the `x-switchyard-profile` header's
    /// or the default.
    func profile(for caller: Caller, headers: HTTPFields) throws(Refusal) -> PolicyProfile {
        var name = caller.profile ?? defaultProfile
        if caller.keyID == nil, auth.devMode, let requested = headers[Self.profileHeader] { name = requested }
        guard let profile = profiles[name] else {
            throw Refusal(error: .invalidRequest("Unknown profile '\(name)'. Known: \(profiles.keys.sorted().joined(separator: ", ")).", param: nil, code: "unknown_profile"))
        }
        return profile
    }

    func plan(_ request: ChatRequest, caller: Caller, headers: HTTPFields, health: (String) -> Bool) async throws(Refusal) -> Plan {
        var profile = try profile(for: caller, headers: headers)
        var headerClass: DataClass?
        if let raw = headers[Self.dataClassHeader] {
            guard let parsed = DataClass(name: raw) else {
                throw Refusal(error: .invalidRequest("Invalid x-switchyard-data-class '\(raw)': expected public, internal or confidential.", code: "invalid_data_class"))
            }
            headerClass = parsed
        }
        let texts = RequestTexts(request)
        let explicitModel = config.model(named: request.model)
        if let explicitModel {
            // Named models keep their configured fallbacks; the policy only says which of
            // those may be used. Real health is handled by the attempt engine's breakers, so
            // the engine's candidates stay as built: all healthy (no per-request copy).
            let configured = profile.explicitModelFallbacks
            profile.explicitModelFallbacks = true
            let decision = try decide(engine, request, texts: texts, profile: profile, headerClass: headerClass, score: nil)
            let fallbacks: [String]
            if configured {
                fallbacks = decision.fallbacks
            } else {
                let chain = fallbackChains[explicitModel.name] ?? []
                fallbacks = chain.isEmpty ? [] : chain.filter(Set(decision.fallbacks).contains)
            }
            return makePlan(request, texts: texts, decision: decision, profile: profile, route: explicitModel.name, chain: [decision.model] + fallbacks)
        }
        // Routes see each deployment's health; the candidates are copied only when some
        // model is down.
        var engine = self.engine
        if engine.candidates.contains(where: { !health($0.name) }) {
            for i in engine.candidates.indices { engine.candidates[i].healthy = health(engine.candidates[i].name) }
        }
        let score = await learnedScore(request, route: engine.routes[request.model], profile: profile)
        let decision = try decide(engine, request, texts: texts, profile: profile, headerClass: headerClass, score: score)
        return makePlan(request, texts: texts, decision: decision, profile: profile, route: decision.route ?? request.model, chain: decision.targets)
    }

    private func decide(
        _ engine: PolicyEngine, _ request: ChatRequest, texts: RequestTexts, profile: PolicyProfile, headerClass: DataClass?,
        score: Double?
    ) throws(Refusal) -> PolicyDecision {
        let policyRequest = PolicyRequest(
            model: request.model, texts: texts.texts, needs: request.policyNeeds, headerDataClass: headerClass, routerScore: score
        )
        switch engine.decide(policyRequest, profile: profile) {
        case .success(let decision):
            return decision
        case .failure(let refusal):
            let code = refusal.status == 404 ? "model_not_found" : refusal.code
            let type = refusal.status == 403 ? "permission_error" : refusal.status == 503 ? "service_unavailable" : "invalid_request_error"
            throw Refusal(
                error: GatewayError(status: refusal.status, type: type, code: code, param: refusal.status == 404 ? "model" : nil, message: refusal.message),
                route: request.model, decision: refusal.headerReason
            )
        }
    }

    /// The learned router's score, when the request names a route whose effective strategy
    /// asks for one. Nil (the heuristic decides) when no router is configured or scoring fails.
    private func learnedScore(_ request: ChatRequest, route: PolicyRoute?, profile: PolicyProfile) async -> Double? {
        guard let learned, let route else { return nil }
        let strategy = profile.strategy == .qualityRouter ? (route.strategy ?? profile.strategy) : profile.strategy
        guard strategy == .qualityRouter || strategy == .cascade else { return nil }
        // RouteLLM-style routers score the user's prompt: the last user turn.
        guard let prompt = request.messages.last(where: { $0.role == .user })?.text, !prompt.isEmpty else { return nil }
        return try? await learned.score(prompt)
    }

    private func makePlan(_ request: ChatRequest, texts: RequestTexts, decision: PolicyDecision, profile: PolicyProfile, route: String, chain: [String]) -> Plan {
        var plan = Plan(profile: profile.name, budgetAction: profile.onBudgetExceeded, route: route, chain: chain, decision: decision, redacted: nil, redactedModels: [], mapping: nil)
        if let redaction = decision.redaction {
            plan.redacted = texts.applying(redaction.texts, to: request)
            plan.redactedModels = Set(redaction.models)
            plan.mapping = redaction.mapping
        }
        return plan
    }

    private static func configFallbacks(of name: String, in config: GatewayConfig) -> [String] {
        var chain: [String] = []
        var seen: Set<String> = [name]
        var queue = [name]
        while !queue.isEmpty {
            let current = queue.removeFirst()
            for fallback in config.model(named: current)?.fallbacks ?? [] where !seen.contains(fallback) {
                seen.insert(fallback)
                chain.append(fallback)
                queue.append(fallback)
            }
        }
        return chain
    }
}

/// Equality whose running time depends only on the lengths, not on the contents.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference: UInt8 = a.count == b.count ? 0 : 1
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0
}
