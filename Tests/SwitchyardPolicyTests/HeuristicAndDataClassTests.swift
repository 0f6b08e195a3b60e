import Testing

@testable import SwitchyardPolicy

@Suite struct HeuristicAndDataClassTests {
    let h = HeuristicQualityScorer()

    @Test func simpleVersusHard() {
        let simple = h.score([Fixtures.simplePrompt])
        let hard = h.analyze([Fixtures.hardPrompt])
        #expect(simple.value < 0.2)
        #expect(simple.reason.contains("simple="))
        #expect(hard.score.value > 0.6)
        #expect(hard.signals.isSuperset(of: [.code, .reasoning, .multiPart]))
        #expect(hard.score.source == "heuristic")
        #expect(hard.score.reason.hasPrefix("len="))
    }

    @Test func mathAndLength() {
        let math = h.analyze(["Prove the theorem: the integral of a derivative equals the function."])
        #expect(math.signals.contains(.math))
        let short = h.score(["ok"]).value
        let long = h.score([String(repeating: "The committee reviewed the figures again. ", count: 800)]).value
        #expect(long > short)
        #expect((0...1).contains(long) && (0...1).contains(short))
    }

    @Test func boundedForHugeInputs() {
        let big = String(repeating: "func f() { return step by step; } why? prove integral\n1. a\n", count: 5000)
        let s = h.score([big, big])
        #expect(s.value <= 1 && s.value >= 0)
    }

    @Test func formatting() {
        #expect(HeuristicQualityScorer.fmt(0.705) == "0.71" || HeuristicQualityScorer.fmt(0.705) == "0.70")
        #expect(HeuristicQualityScorer.fmt(0.05) == "0.05")
        #expect(HeuristicQualityScorer.fmt(1) == "1.00")
        #expect(HeuristicQualityScorer.fmt(-0.5) == "-0.50")
    }

    @Test func dataClassOrderAndParsing() {
        #expect(DataClass.public < .internal && DataClass.internal < .confidential)
        #expect(max(DataClass.internal, .confidential) == .confidential)
        #expect(DataClass(name: "INTERNAL") == .internal)
        #expect(DataClass(name: "2") == .confidential)
        #expect(DataClass(name: "secret") == nil)
        let m = DataClassMapping.default
        #expect(m.dataClass(of: Detection(kind: .email, rule: "email", utf8Range: 0..<1)) == .internal)
        #expect(m.dataClass(of: Detection(kind: .creditCard, rule: "luhn_card", utf8Range: 0..<1)) == .confidential)
        var byRule = m
        byRule.byRule["ipv4"] = .confidential
        #expect(byRule.dataClass(of: Detection(kind: .ipAddress, rule: "ipv4", utf8Range: 0..<1)) == .confidential)
    }

    @Test func asciiHeaderReason() {
        #expect(PolicyReason.ascii("pii:iban→local router:0.71>=0.42→modèle") == "pii:iban->local router:0.71>=0.42->mod?le")
        #expect(PolicyReason.ascii("heuristic:0.40<0.50 -> local-small") == "heuristic:0.40<0.50 -> local-small")
        #expect(PolicyReason.ascii("a\tb\r\nc\u{7F}") == "a?b??c?")
    }
}
