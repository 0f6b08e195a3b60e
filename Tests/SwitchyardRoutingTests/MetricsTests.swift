import Foundation
import Testing
@testable import SwitchyardRouting

@Suite("Metrics against hand-computed cases")
struct MetricsTests {
    func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-9) -> Bool { a.map { abs($0 - b) < tol } ?? false }

    @Test func quantileMatchesNumPyLinear() {
        #expect(close(RoutingMetrics.quantile(sorted: [1, 2, 3, 4], 0.1), 1.3))
        #expect(close(RoutingMetrics.quantile(sorted: [1, 2, 3, 4], 0.5), 2.5))
        #expect(close(RoutingMetrics.quantile(sorted: [1, 2, 3, 4], 1), 4))
        #expect(close(RoutingMetrics.quantile(sorted: [7], 0.3), 7))
    }

    /// scores [0.9, 0.1, 0.5, 0.3], strong [1,1,1,0], weak [0,1,0,0] (strong 0.75, weak 0.25).
    /// Deciles 0.1, .16, .22, .28, .34, .40, .46, .54, .66, .78, .9 give shares 1, .75×3, .5×3, .25×3, 0 and
    /// PGR 1, 1, 1, .5, 0 ⇒ APGR = .0625 + .1875 + .25 + .25 = .75, CPT50 = .25, CPT80 = .25 + .3/.5 × .25 = .4.
    @Test func smallHandComputedCurve() {
        let c = RoutingMetrics.curve(scores: [0.9, 0.1, 0.5, 0.3], strong: [1, 1, 1, 0], weak: [0, 1, 0, 0])
        #expect(c.count == 11)
        let shares = c.map(\.strongShare)
        #expect(shares == [0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 1])
        #expect(shares == shares.sorted())
        let q = Dictionary(c.map { ($0.strongShare, $0.quality) }, uniquingKeysWith: { a, _ in a })
        #expect(q[0] == 0.25 && q[0.25] == 0.5 && q[0.5] == 0.75 && q[0.75] == 0.75 && q[1] == 0.75)
        #expect(close(RoutingMetrics.apgr(curve: c), 0.75))
        #expect(close(RoutingMetrics.cpt(curve: c, fraction: 0.5), 0.25))
        #expect(close(RoutingMetrics.cpt(curve: c, fraction: 0.8), 0.4))
        #expect(close(c.first { $0.strongShare == 0 }?.threshold, 0.9))
        #expect(close(c.first { $0.strongShare == 1 }?.threshold, 0.1))
    }

    @Test func constantScoresAreTheRandomLine() {
        let c = RoutingMetrics.curve(scores: [0.3, 0.3, 0.3, 0.3], strong: [1, 1, 0, 1], weak: [0, 1, 0, 0])
        #expect(Set(c.map(\.strongShare)) == [0, 1])
        #expect(close(RoutingMetrics.apgr(curve: c), 0.5))
        #expect(close(RoutingMetrics.cpt(curve: c, fraction: 0.5), 0.5))
        #expect(close(RoutingMetrics.cpt(curve: c, fraction: 0.8), 0.8))
    }

    @Test func tiedScoresRouteTogether() {
        // Two tie groups: 0.8 (prompts 0, 1) and 0.2 (prompts 2, 3): only shares 0, ½, 1 are reachable.
        let c = RoutingMetrics.curve(scores: [0.8, 0.8, 0.2, 0.2], strong: [1, 0, 1, 1], weak: [0, 0, 1, 1])
        #expect(Set(c.map(\.strongShare)) == [0, 0.5, 1])
        // strong 0.75, weak 0.5; at ½: prompts 0,1 strong → (1 + 0 + 1 + 1)/4 = .75 → PGR 1.
        #expect(close(RoutingMetrics.apgr(curve: c), 0.75))
        #expect(close(RoutingMetrics.cpt(curve: c, fraction: 0.5), 0.25))
    }

    @Test func perfectAndInverseRouters() {
        let strong: [Double] = [1, 1, 0, 1, 1, 0, 1, 1, 1, 1], weak: [Double] = [0, 0, 0, 1, 1, 0, 1, 1, 1, 1]
        let oracle = zip(strong, weak).map { $0 > $1 ? 1.0 : 0.0 }
        let good = RoutingMetrics.evaluate(scores: oracle, on: Self.dataset(strong, weak))
        let bad = RoutingMetrics.evaluate(scores: oracle.map { 1 - $0 }, on: Self.dataset(strong, weak))
        #expect(good.apgr! > 0.85)
        #expect(bad.apgr! < 0.15)
        #expect(close(good.oracleQuality, 0.8))
        #expect(close(good.oracleStrongShare, 0.2))
    }

    @Test func equalModelsHaveUndefinedAPGR() {
        let c = RoutingMetrics.curve(scores: [0.1, 0.9], strong: [1, 0], weak: [1, 0])
        #expect(RoutingMetrics.apgr(curve: c) == nil)
        #expect(RoutingMetrics.cpt(curve: c, fraction: 0.5) == nil)
        #expect(RoutingMetrics.curve(scores: [], strong: [], weak: []).isEmpty)
    }

    @Test func costSavedWithPrices() {
        let data = Self.dataset([1, 1], [0, 1], prompts: ["abcd", "abcdefgh"])  // 1 and 2 input tokens
        let cost = CostModel(strongPrice: ModelPrice(input: 10, output: 30), weakPrice: ModelPrice(input: 1, output: 1), outputTokens: 100)
        let e = RoutingMetrics.evaluate(scores: [0.9, 0.1], on: data, cost: cost)
        let all = e.curve.last!, none = e.curve.first!
        #expect(close(all.costSaved, 0))
        let strong1 = (1 * 10 + 100 * 30) / 1e6, strong2 = (2 * 10 + 100 * 30) / 1e6
        let weak1 = (1 + 100) / 1e6, weak2 = (2 + 100) / 1e6
        #expect(close(none.costPerPrompt, (weak1 + weak2) / 2, 1e-12))
        #expect(close(none.costSaved, 1 - (weak1 + weak2) / (strong1 + strong2), 1e-12))
        #expect(ModelPrice(parsing: "10/30") == ModelPrice(input: 10, output: 30))
        #expect(ModelPrice(parsing: "0.5") == ModelPrice(input: 0.5, output: 0.5))
        #expect(ModelPrice(parsing: "x/1") == nil)
    }

    @Test func perCallCostWithoutPrices() {
        let e = RoutingMetrics.evaluate(scores: [0.9, 0.1, 0.5, 0.3], on: Self.dataset([1, 1, 1, 0], [0, 1, 0, 0]))
        for p in e.curve { #expect(close(p.costSaved, 1 - p.strongShare)) }
    }

    @Test func aucHandlesTies() {
        #expect(close(RoutingMetrics.auc(scores: [0.1, 0.4, 0.35, 0.8], positives: [false, false, true, true]), 0.75))
        #expect(close(RoutingMetrics.auc(scores: [0.5, 0.5], positives: [true, false]), 0.5))
        #expect(RoutingMetrics.auc(scores: [0.5], positives: [true]) == nil)
    }

    @Test func calibrationHitsRequestedShare() {
        let scores = (1...10).map { Double($0) / 10 }
        let t = Calibration.threshold(scores: scores, strongShare: 0.3)
        #expect(close(t, 0.8))
        #expect(close(Calibration.strongShare(scores: scores, threshold: t), 0.3))
        #expect(Calibration.strongShare(scores: scores, threshold: Calibration.threshold(scores: scores, strongShare: 0)) == 0)
        #expect(Calibration.strongShare(scores: scores, threshold: Calibration.threshold(scores: scores, strongShare: 1)) == 1)
    }

    @Test func calibrationKeepsTiesTogether() {
        // Target 2 of 5; the tie group at 0.5 would give 4 of 5, excluding it gives 1 of 5 (closer).
        let scores = [0.9, 0.5, 0.5, 0.5, 0.1]
        let t = Calibration.threshold(scores: scores, strongShare: 0.4)
        #expect(close(Calibration.strongShare(scores: scores, threshold: t), 0.2))
        // Constant scores: all or nothing.
        let c = Calibration.threshold(scores: [0.4, 0.4, 0.4], strongShare: 0.5)
        #expect([0.0, 1.0].contains(Calibration.strongShare(scores: [0.4, 0.4, 0.4], threshold: c)))
    }

    static func dataset(_ strong: [Double], _ weak: [Double], prompts: [String]? = nil) -> RoutingDataset {
        let ex = strong.indices.map { i in
            RoutingExample(id: "t/\(i)", prompt: prompts?[i] ?? "p\(i)", category: "t", strongScore: strong[i], weakScore: weak[i],
                           label: 0.5 + 0.5 * (strong[i] - weak[i]))
        }
        return RoutingDataset(strongModel: "s", weakModel: "w", examples: ex, scale: .binary)
    }
}
