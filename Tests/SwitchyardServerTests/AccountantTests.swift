import Foundation
import Logging
import Testing
@testable import SwitchyardCore
@testable import SwitchyardPolicy
@testable import SwitchyardServer
@testable import SwitchyardStore

/// The accountant against a real SQLite store: sliding-window rate limits, worst-case
/// reservations, degrade and settlement.
@Suite struct AccountantTests {
    static let yaml = """
        models:
          - {name: big, provider: openai, base_url: "http://127.0.0.1:9/v1", openness: closed, hosting: cloud, price: {input_per_mtok: 1000, output_per_mtok: 2000}}
          - {name: small, provider: openai, base_url: "http://127.0.0.1:9/v1", openness: open, hosting: local, price: {input_per_mtok: 0, output_per_mtok: 0}}
        """

    func withAccountant(_ body: (Accountant, SQLiteStore) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-acct-\(UUID().uuidString)")
        let store = try SQLiteStore(path: dir.appendingPathComponent("a.db").path)
        try await store.migrate()
        let config = try ConfigLoader.parse(yaml: Self.yaml, file: "t.yaml", environment: [:])
        let accountant = Accountant(config: config, store: store, writer: nil, metrics: GatewayMetrics(), logger: Logger(label: "test"))
        try await body(accountant, store)
        await store.close()
        try? FileManager.default.removeItem(at: dir)
    }

    func plan(_ chain: [String], action: BudgetAction = .refuse) -> PolicyGate.Plan {
        let decision = PolicyDecision(
            profile: "p", route: nil, model: chain[0], fallbacks: Array(chain.dropFirst()), strategy: .fixed, candidates: [],
            detections: [:], dataClass: .public, score: nil, threshold: nil, redaction: nil, cascade: nil, rule: nil, reason: "test"
        )
        return PolicyGate.Plan(profile: "p", budgetAction: action, route: chain[0], chain: chain, decision: decision, redacted: nil, redactedModels: [], mapping: nil)
    }

    let request = ChatRequest(model: "big", messages: [.text(.user, "hello there")], maxTokens: 10)

    @Test func previousMinuteStillCountsInProportion() async throws {
        try await withAccountant { accountant, store in
            let caller = Caller(keyID: "k", rpm: 10)
            let minute: Int64 = 29_000_000
            for _ in 0..<10 { _ = try await store.admit(keyID: "k", window: minute - 1, tokens: 0, rpm: nil, tpm: nil) }
            // 6 s into the next minute, 90 % of the previous one is still within the last 60 s:
            // 9 of its 10 requests count, leaving room for one.
            let now = Date(timeIntervalSince1970: Double(minute) * 60 + 6)
            guard case .admitted = await accountant.admit(request, caller: caller, plan: plan(["big"]), now: now) else {
                Issue.record("the first request should pass")
                return
            }
            guard case .refused(let error) = await accountant.admit(request, caller: caller, plan: plan(["big"]), now: now) else {
                Issue.record("the second request should be refused")
                return
            }
            #expect(error.status == 429 && error.code == "rate_limit_exceeded")
            #expect(error.message.contains("10 requests per minute"))
            // 54 s into the minute only 10 % of the previous one counts.
            let later = Date(timeIntervalSince1970: Double(minute) * 60 + 54)
            let slid = await accountant.admit(request, caller: caller, plan: plan(["big"]), now: later)
            guard case .admitted = slid else {
                Issue.record("the window should have slid: \(slid)")
                return
            }
        }
    }

    @Test func reservesTheWorstCaseAndDegradesOrRefuses() async throws {
        try await withAccountant { accountant, store in
            // Worst case for "hello there", max_tokens 10 at the big model: (ceil(11/3)+8+8) x 1000 + 10 x 2000 per Mtok.
            let worst = accountant.worstCaseCost(request, chain: ["small", "big"])
            #expect(abs(worst - (20 * 1000 + 10 * 2000) / 1e6) < 1e-12)
            let caller = Caller(keyID: "b", budget: BudgetSpec(amount: 0.05, period: .total))
            guard case .admitted(let first, _) = await accountant.admit(request, caller: caller, plan: plan(["big"])) else {
                Issue.record("the first reservation fits")
                return
            }
            #expect(abs(first.reserved - 0.04) < 1e-12)
            // Refused while the first is still reserved.
            guard case .refused(let error) = await accountant.admit(request, caller: caller, plan: plan(["big"])) else {
                Issue.record("no room left")
                return
            }
            #expect(error.status == 429 && error.type == "insufficient_quota" && error.code == "budget_exceeded")
            // Under a degrading profile the same request goes to the local model instead.
            guard case .admitted(let degradedTicket, let degraded) = await accountant.admit(request, caller: caller, plan: plan(["big"], action: .degrade)) else {
                Issue.record("degrade should admit")
                return
            }
            #expect(degraded.chain == ["small"])
            #expect(degradedTicket.degraded && degradedTicket.reserved == 0)
            #expect(degraded.budgetNote == "budget-exhausted->degraded:small")
            // Settling to the actual cost frees the rest of the reservation.
            await accountant.release(first)
            let usage = try await store.budgetUsage(keyID: "b", period: "total")
            #expect(usage.reserved < 1e-12 && usage.spent == 0)
        }
    }
}

extension AccountantTests {
    @Test func degradeKeepsTheProfilesAllowList() async throws {
        let yaml = Self.yaml + """

            routing:
              profiles:
                - {name: strict, allowed_models: [big], on_budget_exceeded: degrade}
            """
        let config = try ConfigLoader.parse(yaml: yaml, file: "t.yaml", environment: [:])
        let accountant = Accountant(config: config, store: nil, writer: nil, metrics: GatewayMetrics(), logger: Logger(label: "test"))
        var strict = plan(["big"], action: .degrade)
        strict.profile = "strict"
        #expect(accountant.degrade(strict, request: request) == nil)
        #expect(accountant.degrade(plan(["big"], action: .degrade), request: request)?.chain == ["small"])
    }
}
