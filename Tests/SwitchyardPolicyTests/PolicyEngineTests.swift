import Foundation
import Testing

@testable import SwitchyardPolicy

@Suite struct PolicyEngineTests {
    let engine = Fixtures.engine()

    func decide(
        _ text: String, profile: PolicyProfile = .balanced, model: String? = nil, needs: CapabilityNeeds = CapabilityNeeds(),
        header: DataClass? = nil, redaction: RedactionMode? = nil, score: Double? = nil, router: PolicyEngine.Router? = nil
    ) -> Result<PolicyDecision, PolicyRefusal> {
        engine.decide(
            PolicyRequest(model: model, texts: Fixtures.user(text), needs: needs, headerDataClass: header, redaction: redaction, routerScore: score),
            profile: profile, router: router)
    }

    // MARK: Profiles

    @Test func balancedSimplePromptGoesWeak() throws {
        let d = try #require(decide(Fixtures.simplePrompt).decision)
        #expect(d.strategy == .qualityRouter)
        #expect(d.model == "local-small")
        #expect(d.score?.source == "heuristic")
        #expect(d.reason.hasPrefix("heuristic:"))
        #expect(d.reason.contains("<0.50→local-small"))
        #expect(d.dataClass == .public)
    }

    @Test func balancedHardPromptGoesStrong() throws {
        let d = try #require(decide(Fixtures.hardPrompt).decision)
        #expect(d.model == "frontier-a")
        #expect(d.score!.value >= 0.5)
        #expect(d.score!.reason.contains("code="))
        #expect(d.fallbacks.first == "frontier-b")
    }

    @Test func balancedCreditCardStaysLocal() throws {
        let d = try #require(decide(Fixtures.hardPrompt + " My card is 4111 1111 1111 1111.").decision)
        #expect(d.dataClass == .confidential)
        #expect(d.detections == [.creditCard: 1])
        #expect(Fixtures.localNames.isSuperset(of: d.targets))
        #expect(d.model == "local-large")
        #expect(d.reason.hasPrefix("pii:credit_card→local "))
        #expect(d.headerReason.hasPrefix("pii:credit_card->local "))
        #expect(d.headerReason.allSatisfy { $0.isASCII })
        #expect(d.candidates.first { $0.name == "frontier-a" }?.reason == "class:confidential->local_only")
        #expect(d.redaction == nil)
    }

    @Test func emailIsInternalAndMayGoToCloud() throws {
        let d = try #require(decide(Fixtures.hardPrompt + " Reply to jane@example.com").decision)
        #expect(d.dataClass == .internal)
        #expect(d.model == "frontier-a")
        #expect(d.reason.hasPrefix("pii:email→allowed "))
    }

    @Test func strictMappingMakesEmailConfidential() throws {
        let e = Fixtures.engine(mapping: .strict)
        let d = try #require(
            e.decide(PolicyRequest(texts: Fixtures.user(Fixtures.hardPrompt + " jane@example.com")), profile: .balanced).decision)
        #expect(d.dataClass == .confidential)
        #expect(Fixtures.localNames.isSuperset(of: d.targets))
    }

    @Test func headerConfidentialForcesLocalEvenWithRedaction() throws {
        var p = PolicyProfile.balanced
        p.allowRedaction = true
        p.redaction = .whenNeeded
        let d = try #require(decide(Fixtures.hardPrompt, profile: p, header: .confidential).decision)
        #expect(Fixtures.localNames.isSuperset(of: d.targets))
        #expect(d.reason.hasPrefix("header:confidential→local"))
        #expect(d.redaction == nil)
    }

    @Test func headerCannotLowerProfileDefault() throws {
        let d = try #require(decide(Fixtures.hardPrompt, profile: .privacyFirst, header: .public).decision)
        #expect(d.dataClass == .confidential)
        #expect(Fixtures.localNames.isSuperset(of: d.targets))
    }

    @Test func privacyFirst() throws {
        let d = try #require(decide(Fixtures.simplePrompt, profile: .privacyFirst).decision)
        #expect(d.model == "local-large")
        #expect(d.fallbacks == ["local-small"])
        #expect(d.reason == "profile:privacy-first→local strongest→local-large")
    }

    @Test func maxQuality() throws {
        let d = try #require(decide(Fixtures.simplePrompt, profile: .maxQuality).decision)
        #expect(d.model == "frontier-a")
        #expect(d.fallbacks == ["frontier-b", "local-large", "open-cloud", "mini-cloud", "local-small"])
    }

    @Test func budget() throws {
        // Simple prompt: cheapest open/local.
        let d1 = try #require(decide(Fixtures.simplePrompt, profile: .budget).decision)
        #expect(d1.model == "local-small")
        #expect(d1.threshold == 0.8)
        // Hard prompt, but heuristic below the strict threshold: still weak.
        let d2 = try #require(decide(Fixtures.hardPrompt, profile: .budget, score: 0.7).decision)
        #expect(d2.model == "local-small")
        #expect(d2.reason == "router:0.70<0.80→local-small")
        // Router is sure: frontier.
        let d3 = try #require(decide(Fixtures.hardPrompt, profile: .budget, score: 0.93).decision)
        #expect(d3.model == "frontier-a")
        #expect(d3.reason == "router:0.93>=0.80→frontier-a")
        // Weak ordering prefers open/local before closed cloud.
        #expect(Array(d1.fallbacks.prefix(2)) == ["local-large", "open-cloud"])
    }

    @Test func prototypePrefersClosedFrontierButKeepsPrivacy() throws {
        let d = try #require(decide(Fixtures.simplePrompt, profile: .prototype).decision)
        #expect(d.model == "frontier-a")
        #expect(d.fallbacks.prefix(2) == ["frontier-b", "mini-cloud"])
        let s = try #require(decide("deploy with AKIAIOSFODNN7EXAMPLE", profile: .prototype).decision)
        #expect(Fixtures.localNames.isSuperset(of: s.targets))
        #expect(s.detections == [.apiKey: 1])
    }

    @Test func builtInsByName() {
        for name in ["privacy-first", "max-quality", "budget", "prototype", "balanced"] {
            #expect(PolicyProfile.builtIn(named: name)?.name == name)
        }
        #expect(PolicyProfile.builtIn(named: "nope") == nil)
    }

    // MARK: Strategies

    @Test func fixedRouteKeepsListedOrder() throws {
        let d = try #require(decide(Fixtures.simplePrompt, model: "fixed-route").decision)
        #expect(d.route == "fixed-route")
        #expect(d.targets == ["mini-cloud", "frontier-b", "local-small"])
        #expect(d.reason == "fixed→mini-cloud")
        // Confidential: the cloud entries disappear, the local one stays.
        let c = try #require(decide("ssn 123-45-6789", model: "fixed-route").decision)
        #expect(c.targets == ["local-small"])
    }

    @Test func cheapestAndStrongest() throws {
        let c = try #require(decide(Fixtures.hardPrompt, model: "cheap").decision)
        #expect(c.targets == ["local-small", "local-large", "mini-cloud", "open-cloud", "frontier-b", "frontier-a"])
        let s = try #require(decide(Fixtures.simplePrompt, model: "strong").decision)
        #expect(s.targets.first == "frontier-a")
        #expect(s.targets.last == "local-small")
    }

    @Test func qualityRouterWithClosureAndOverrides() throws {
        let hi = try #require(decide(Fixtures.simplePrompt, model: "auto", router: { _ in 0.71 }).decision)
        #expect(hi.model == "frontier-b")
        #expect(hi.reason == "router:0.71>=0.42→frontier-b")
        #expect(hi.score?.source == "router")
        let lo = try #require(decide(Fixtures.hardPrompt, model: "auto", router: { _ in 0.2 }).decision)
        #expect(lo.model == "mini-cloud")
        #expect(lo.reason == "router:0.20<0.42→mini-cloud")
        // The closure wins over a precomputed score.
        let both = try #require(decide(Fixtures.simplePrompt, model: "auto", score: 0.1, router: { _ in 0.9 }).decision)
        #expect(both.model == "frontier-b")
        // Override model not allowed (confidential): falls back to strongest/cheapest allowed.
        let conf = try #require(decide("card 4111111111111111", model: "auto", router: { _ in 0.9 }).decision)
        #expect(conf.model == "local-large")
    }

    @Test func cascadeLadder() throws {
        let d = try #require(decide(Fixtures.hardPrompt, model: "ladder").decision)
        #expect(d.strategy == .cascade)
        #expect(d.model == "local-small")
        #expect(d.cascade == ["local-small", "frontier-a"])
        #expect(d.reason == "cascade→local-small>frontier-a")
        #expect(d.escalation(after: "local-small") == "frontier-a")
        #expect(d.escalation(after: "frontier-a") == nil)
    }

    @Test func keywordAndCategoryRules() throws {
        let sql = try #require(decide("Write a Postgres query for monthly revenue", model: "support").decision)
        #expect(sql.model == "local-small")
        #expect(sql.rule == "sql")
        #expect(sql.reason == "rule:sql→local-small")
        let math = try #require(decide("Prove that the integral of x dx is x^2/2", model: "support").decision)
        #expect(math.model == "open-cloud")
        #expect(math.rule == "maths")
        // Rule target forbidden by data class: the rule is skipped, strategy decides among allowed.
        let conf = try #require(decide("Prove the equation holds; my IBAN DE89370400440532013000", model: "support").decision)
        #expect(conf.rule == nil)
        #expect(Fixtures.localNames.isSuperset(of: conf.targets))
        // No match: strategy.
        let none = try #require(decide("hello there", model: "support").decision)
        #expect(none.rule == nil)
    }

    // MARK: Hard constraints

    @Test func capabilityAndContextFilters() throws {
        let img = try #require(decide(Fixtures.simplePrompt, profile: .maxQuality, needs: CapabilityNeeds(images: true)).decision)
        #expect(Set(img.targets) == ["frontier-a", "frontier-b", "mini-cloud"])
        #expect(img.candidates.first { $0.name == "local-large" }?.reason == "needs:images")
        let json = try #require(decide(Fixtures.simplePrompt, profile: .privacyFirst, needs: CapabilityNeeds(jsonSchema: true)).decision)
        #expect(json.targets == ["local-large"])
        let long = try #require(
            decide(Fixtures.simplePrompt, profile: .maxQuality, needs: CapabilityNeeds(estimatedPromptTokens: 126_000, maxOutputTokens: 4000)).decision)
        #expect(Set(long.targets) == ["frontier-a", "open-cloud", "mini-cloud"])
        #expect(long.candidates.first { $0.name == "frontier-b" }?.reason == "needs:context")
    }

    @Test func profileAllowListsAndPriceCap() throws {
        var p = PolicyProfile(name: "team", allowedModels: ["mini-cloud", "frontier-b", "local-small"], strategy: .strongest)
        var d = try #require(decide(Fixtures.simplePrompt, profile: p).decision)
        #expect(d.targets == ["frontier-b", "mini-cloud", "local-small"])
        p = PolicyProfile(name: "tiers", allowedTiers: [.small, .medium], strategy: .strongest)
        d = try #require(decide(Fixtures.simplePrompt, profile: p).decision)
        #expect(d.targets == ["mini-cloud", "local-small"])
        p = PolicyProfile(name: "cap", strategy: .strongest, maxBlendedPrice: 1)
        d = try #require(decide(Fixtures.simplePrompt, profile: p).decision)
        #expect(!d.targets.contains("frontier-a"))
        #expect(d.candidates.first { $0.name == "frontier-a" }?.reason == "budget:price")
        p = PolicyProfile(name: "cloud-only", allowedHosting: [.cloud], strategy: .cheapest)
        d = try #require(decide(Fixtures.simplePrompt, profile: p).decision)
        #expect(d.model == "mini-cloud")
    }

    @Test func unhealthyCandidatesAreSkipped() throws {
        var cat = Fixtures.catalog
        cat[4].healthy = false  // frontier-a
        let e = Fixtures.engine(catalog: cat)
        let d = try #require(e.decide(PolicyRequest(texts: Fixtures.user(Fixtures.hardPrompt)), profile: .maxQuality).decision)
        #expect(d.model == "frontier-b")
        #expect(!d.targets.contains("frontier-a"))
        #expect(d.candidates.first { $0.name == "frontier-a" }?.reason == "unhealthy")
    }

    // MARK: Refusals

    @Test func explicitCloudModelWithConfidentialDataIs403() throws {
        let r = try #require(decide("card 4111 1111 1111 1111", model: "frontier-a").refusal)
        #expect(r.status == 403)
        #expect(r.code == "policy_forbids_model")
        #expect(r.reason == "pii:credit_card→local forbidden:frontier-a")
        #expect(r.headerReason == "pii:credit_card->local forbidden:frontier-a")
        #expect(!r.message.contains("4111"))
        #expect(r.detections == [.creditCard: 1])
    }

    @Test func explicitModelOutsideProfileIs403() throws {
        let p = PolicyProfile(name: "locals", allowedHosting: [.local])
        let r = try #require(decide(Fixtures.simplePrompt, profile: p, model: "mini-cloud").refusal)
        #expect(r.status == 403)
        #expect(r.message.contains("profile:hosting_not_allowed"))
    }

    @Test func explicitAllowedModelIsUsedWithoutFallbacks() throws {
        let d = try #require(decide(Fixtures.simplePrompt, model: "mini-cloud").decision)
        #expect(d.targets == ["mini-cloud"])
        #expect(d.reason == "explicit→mini-cloud")
        var p = PolicyProfile.balanced
        p.explicitModelFallbacks = true
        let f = try #require(decide(Fixtures.simplePrompt, profile: p, model: "mini-cloud").decision)
        #expect(f.model == "mini-cloud")
        #expect(f.fallbacks.count == 5)
    }

    @Test func explicitUnhealthyModelMayFallBackWhenProfileAllows() throws {
        var cat = Fixtures.catalog
        cat[3].healthy = false  // mini-cloud
        var p = PolicyProfile.balanced
        p.explicitModelFallbacks = true
        let d = try #require(
            Fixtures.engine(catalog: cat).decide(PolicyRequest(model: "mini-cloud", texts: Fixtures.user("hi")), profile: p).decision)
        #expect(d.model != "mini-cloud")
        #expect(d.reason.hasPrefix("explicit:mini-cloud:unhealthy→"))
        // A policy-forbidden explicit model is still refused, fallbacks or not.
        let r = try #require(
            Fixtures.engine(catalog: cat).decide(PolicyRequest(model: "frontier-a", texts: Fixtures.user("ssn 123-45-6789")), profile: p).refusal)
        #expect(r.status == 403)
    }

    @Test func explicitLocalModelWithConfidentialDataIsFine() throws {
        let d = try #require(decide("card 4111 1111 1111 1111", model: "local-small").decision)
        #expect(d.model == "local-small")
    }

    @Test func explicitModelLackingCapabilityIs400() throws {
        let r = try #require(decide(Fixtures.simplePrompt, model: "local-small", needs: CapabilityNeeds(images: true)).refusal)
        #expect(r.status == 400)
        #expect(r.code == "model_lacks_capability")
    }

    @Test func explicitUnhealthyModelIs503() throws {
        var cat = Fixtures.catalog
        cat[3].healthy = false  // mini-cloud
        let r = try #require(
            Fixtures.engine(catalog: cat).decide(PolicyRequest(model: "mini-cloud", texts: Fixtures.user("hi")), profile: .balanced).refusal)
        #expect(r.status == 503)
        #expect(r.code == "model_unavailable")
    }

    @Test func confidentialWithNoHealthyLocalIs503NeverCloud() throws {
        var cat = Fixtures.catalog
        cat[0].healthy = false
        cat[1].healthy = false
        let r = try #require(
            Fixtures.engine(catalog: cat).decide(PolicyRequest(texts: Fixtures.user("key AKIAIOSFODNN7EXAMPLE")), profile: .balanced).refusal)
        #expect(r.status == 503)
        #expect(r.code == "no_eligible_model")
        #expect(r.reason == "pii:api_key→local no_eligible_model")
        #expect(r.message.contains("unhealthy×2"))
    }

    @Test func unknownModelIs404() throws {
        let r = try #require(decide("hi", model: "gpt-17").refusal)
        #expect(r.status == 404)
        #expect(r.code == "unknown_model")
    }

    // MARK: Redaction through the pipeline

    @Test func redactionLetsCloudSeeMaskedTexts() throws {
        var p = PolicyProfile.maxQuality
        p.allowRedaction = true
        p.redaction = .whenNeeded
        let texts = [
            PolicyText(role: .system, text: "You are a billing assistant.", path: "messages[0].content"),
            PolicyText(role: .user, text: "Refund card 4111 1111 1111 1111 for bob@example.com", path: "messages[1].content"),
        ]
        let d = try #require(engine.decide(PolicyRequest(texts: texts), profile: p).decision)
        #expect(d.model == "frontier-a")
        #expect(d.reason == "pii:credit_card→redact strongest→frontier-a")
        let plan = try #require(d.redaction)
        #expect(Set(plan.models) == Set(d.targets.filter { !Fixtures.localNames.contains($0) }))
        #expect(d.requiresRedaction(for: "frontier-a"))
        #expect(!d.requiresRedaction(for: "local-large"))
        #expect(plan.texts[1].text == "Refund card [CREDIT_CARD_1] for [EMAIL_1]")
        #expect(plan.texts[1].path == "messages[1].content")
        #expect(d.texts(for: "local-large", original: texts) == texts)
        #expect(d.candidates.first { $0.name == "frontier-a" }?.reason == "ok+redact")
        var restorer = StreamingRestorer(mapping: plan.mapping)
        #expect(restorer.feed("Refunded [CREDIT_") + restorer.feed("CARD_1].") + restorer.finish() == "Refunded 4111 1111 1111 1111.")
    }

    @Test func redactionNeedsProfilePermission() throws {
        // Route asks for redaction, balanced does not allow it: local only.
        let d = try #require(decide("card 4111 1111 1111 1111", model: "redacting").decision)
        #expect(d.redaction == nil)
        #expect(Fixtures.localNames.isSuperset(of: d.targets))
        var p = PolicyProfile.balanced
        p.allowRedaction = true
        let r = try #require(decide("card 4111 1111 1111 1111", profile: p, model: "redacting").decision)
        #expect(r.model == "frontier-a")
        #expect(r.redaction != nil)
        // Request can switch it off.
        let off = try #require(decide("card 4111 1111 1111 1111", profile: p, model: "redacting", redaction: .off).decision)
        #expect(off.redaction == nil)
    }

    @Test func redactionAlwaysMasksInternalItemsToo() throws {
        var p = PolicyProfile.maxQuality
        p.allowRedaction = true
        p.redaction = .always
        let d = try #require(decide("mail jane@example.com", profile: p).decision)
        #expect(d.redaction?.texts[0].text == "mail [EMAIL_1]")
        #expect(d.reason.hasPrefix("pii:email→redact "))
    }

    @Test func customRuleDataClassFeedsMapping() throws {
        let e = Fixtures.engine(rules: [
            CustomRule(name: "codename", keywords: ["nightingale"], dataClass: .confidential),
            CustomRule(name: "ticket", pattern: "TCK-[0-9]+", dataClass: .internal),
        ])
        let c = try #require(e.decide(PolicyRequest(texts: Fixtures.user("Status of Nightingale?")), profile: .maxQuality).decision)
        #expect(Fixtures.localNames.isSuperset(of: c.targets))
        let i = try #require(e.decide(PolicyRequest(texts: Fixtures.user("Status of TCK-991?")), profile: .maxQuality).decision)
        #expect(i.model == "frontier-a")
        #expect(i.dataClass == .internal)
    }

    // MARK: Config

    @Test func profileAndRouteDecodeFromSnakeCaseJSON() throws {
        let json = """
            {"name":"ops","default_data_class":"internal","allowed_tiers":["large","frontier"],"strategy":"quality-router",
             "allow_redaction":true,"router_threshold":0.6,"preferred":["local"],"max_blended_price":20}
            """
        let p = try JSONDecoder().decode(PolicyProfile.self, from: Data(json.utf8))
        #expect(p.defaultDataClass == .internal)
        #expect(p.redaction == .whenNeeded)
        #expect(p.allowedTiers == [.large, .frontier])
        #expect(p.routerThreshold == 0.6)
        let back = try JSONDecoder().decode(PolicyProfile.self, from: JSONEncoder().encode(p))
        #expect(back == p)
        let r = try JSONDecoder().decode(
            PolicyRoute.self,
            from: Data(#"{"name":"auto","strategy":"cascade","strong_model":"a","rules":[{"name":"r","categories":["code"],"target":"b"}]}"#.utf8))
        #expect(r.strategy == .cascade)
        #expect(r.rules.first?.categories == [.code])
        let m = try JSONDecoder().decode(DataClassMapping.self, from: Data(#"{"by_kind":{"email":"confidential"}}"#.utf8))
        #expect(m.byKind[.email] == .confidential)
        #expect(m.byKind[.ipAddress] == .internal)
        let c = try JSONDecoder().decode(
            PolicyCandidate.self,
            from: Data(#"{"name":"x","openness":"open","hosting":"local","context_window":4096,"tier":"small","capabilities":{"json_schema":true}}"#.utf8))
        #expect(c.capabilities.jsonSchema && !c.capabilities.tools && c.healthy)
        #expect(DataClass(name: " Confidential ") == .confidential)
    }
}
