@testable import SwitchyardPolicy

enum Fixtures {
    static let catalog: [PolicyCandidate] = [
        PolicyCandidate(
            name: "local-small", openness: .open, hosting: .local, capabilities: ModelCapabilities(tools: true),
            contextWindow: 8192, tier: .small, qualityRank: 1),
        PolicyCandidate(
            name: "local-large", openness: .open, hosting: .local, capabilities: ModelCapabilities(tools: true, jsonSchema: true),
            contextWindow: 32768, inputPricePerMTok: 0.01, outputPricePerMTok: 0.01, tier: .large, qualityRank: 5),
        PolicyCandidate(
            name: "open-cloud", openness: .open, hosting: .cloud, capabilities: ModelCapabilities(tools: true, jsonSchema: true),
            contextWindow: 131072, inputPricePerMTok: 0.2, outputPricePerMTok: 0.6, tier: .large, qualityRank: 4),
        PolicyCandidate(
            name: "mini-cloud", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 131072,
            inputPricePerMTok: 0.15, outputPricePerMTok: 0.6, tier: .medium, qualityRank: 3),
        PolicyCandidate(
            name: "frontier-a", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 200000,
            inputPricePerMTok: 3, outputPricePerMTok: 15, tier: .frontier, qualityRank: 10),
        PolicyCandidate(
            name: "frontier-b", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 128000,
            inputPricePerMTok: 2.5, outputPricePerMTok: 10, tier: .frontier, qualityRank: 9),
    ]

    static let localNames: Set<String> = ["local-small", "local-large"]

    static let routes: [PolicyRoute] = [
        PolicyRoute(name: "fixed-route", strategy: .fixed, candidates: ["mini-cloud", "frontier-b", "local-small"]),
        PolicyRoute(name: "cheap", strategy: .cheapest),
        PolicyRoute(name: "strong", strategy: .strongest),
        PolicyRoute(name: "auto", strategy: .qualityRouter, threshold: 0.42, strongModel: "frontier-b", weakModel: "mini-cloud"),
        PolicyRoute(name: "ladder", strategy: .cascade, candidates: ["local-small", "mini-cloud", "frontier-a"]),
        PolicyRoute(
            name: "support", strategy: .qualityRouter,
            rules: [
                RouteRule(name: "sql", keywords: ["sql", "postgres"], target: "local-small"),
                RouteRule(name: "maths", categories: [.math], target: "open-cloud"),
            ]),
        PolicyRoute(name: "redacting", strategy: .strongest, redaction: .whenNeeded),
    ]

    static func engine(
        catalog: [PolicyCandidate] = catalog, mapping: DataClassMapping = .default, rules: [CustomRule] = []
    ) -> PolicyEngine {
        PolicyEngine(candidates: catalog, routes: routes, scanner: try! SensitiveDataScanner(customRules: rules), mapping: mapping)
    }

    static func user(_ s: String) -> [PolicyText] { [PolicyText(role: .user, text: s, path: "messages[0].content")] }

    static let simplePrompt = "Translate 'good morning' into French."
    static let hardPrompt = """
        Explain step by step why this Swift function deadlocks, compare two designs to fix it, and analyze the trade-offs:
        ```swift
        func load() async throws -> Data { try await withCheckedThrowingContinuation { c in queue.sync { c.resume(returning: d) } } }
        ```
        1. What is the root cause?
        2. Which design would you pick and why?
        """
}

extension Result where Success == PolicyDecision, Failure == PolicyRefusal {
    var decision: PolicyDecision? { if case .success(let d) = self { return d } else { return nil } }
    var refusal: PolicyRefusal? { if case .failure(let r) = self { return r } else { return nil } }
}
