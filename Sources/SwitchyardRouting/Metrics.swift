import Foundation

/// One operating point of a router: route to strong when `score >= threshold` (or `>` at the top decile).
public struct CurvePoint: Sendable, Equatable, Codable {
    /// Threshold used at this point.
    public var threshold: Double
    /// Fraction of prompts sent to the strong model, in [0, 1].
    public var strongShare: Double
    /// Mean quality of the routed answers.
    public var quality: Double
    /// Performance gap recovered: (quality − weak) / (strong − weak); nil when strong == weak.
    public var pgr: Double?
    /// Mean cost per prompt at this point (see ``CostModel``).
    public var costPerPrompt: Double
    /// 1 − cost / cost(all strong).
    public var costSaved: Double
}

/// Summary of a router on one labelled prompt set (RouteLLM, arXiv 2406.18665, §5).
public struct RoutingEvaluation: Sendable, Codable, Equatable {
    public var count: Int
    public var strongQuality: Double
    public var weakQuality: Double
    /// The 11 decile operating points, sorted by strong-call share (0 … 1).
    public var curve: [CurvePoint]
    /// Average performance gap recovered; 0.5 = random routing; nil when strong == weak on this set.
    public var apgr: Double?
    /// Strong-call share needed to recover 50 % / 80 % of the gap; nil when unreachable or undefined.
    public var cpt50: Double?
    public var cpt80: Double?
    /// Best reachable quality with an oracle router (strong only where it is strictly better).
    public var oracleQuality: Double
    public var oracleStrongShare: Double
}

/// Pure metric functions. Quality of a routing = mean over prompts of the chosen model's score.
public enum RoutingMetrics {
    /// Quantile with linear interpolation between order statistics (NumPy's default, used by pandas'
    /// `qcut`, which RouteLLM's evaluation uses to cut scores into deciles).
    public static func quantile(sorted xs: [Double], _ q: Double) -> Double {
        precondition(!xs.isEmpty, "quantile of an empty list")
        if xs.count == 1 { return xs[0] }
        let pos = min(max(q, 0), 1) * Double(xs.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, xs.count - 1)
        let frac = pos - Double(lo)
        return xs[lo] + (xs[hi] - xs[lo]) * frac
    }

    /// The decile thresholds of `scores` (11 values, ascending: min, 10 %, …, max).
    public static func decileThresholds(_ scores: [Double]) -> [Double] {
        let sorted = scores.sorted()
        return (0...10).map { quantile(sorted: sorted, Double($0) / 10) }
    }

    /// The decile sweep. Threshold i ∈ 0…9 routes `score >= t`, the last (the maximum) routes
    /// `score > t`, so the sweep always includes 100 % and 0 % strong. Ties in scores route together,
    /// so a router with constant scores yields exactly the two end points (the random line).
    public static func curve(scores: [Double], strong: [Double], weak: [Double],
                             cost: CostModel = .perCall) -> [CurvePoint] {
        precondition(scores.count == strong.count && strong.count == weak.count, "length mismatch")
        let n = scores.count
        guard n > 0 else { return [] }
        let sQ = mean(strong), wQ = mean(weak)
        let allStrongCost = (0..<n).reduce(0.0) { $0 + cost.strong($1) }
        let thresholds = decileThresholds(scores)
        var points: [CurvePoint] = []
        for (i, t) in thresholds.enumerated() {
            let last = i == thresholds.count - 1
            var q = 0.0, c = 0.0, k = 0
            for j in 0..<n {
                let goStrong = last ? scores[j] > t : scores[j] >= t
                if goStrong { q += strong[j]; c += cost.strong(j); k += 1 } else { q += weak[j]; c += cost.weak(j) }
            }
            let quality = q / Double(n)
            points.append(CurvePoint(
                threshold: t, strongShare: Double(k) / Double(n), quality: quality,
                pgr: sQ != wQ ? (quality - wQ) / (sQ - wQ) : nil,
                costPerPrompt: c / Double(n),
                costSaved: allStrongCost > 0 ? 1 - c / allStrongCost : 0))
        }
        // Ascending share; stable for equal shares (nested selections => identical points).
        return points.enumerated().sorted { a, b in
            a.element.strongShare != b.element.strongShare ? a.element.strongShare < b.element.strongShare : a.offset > b.offset
        }.map(\.element)
    }

    /// Area under the PGR curve over strong-call share 0…1 (trapezoids). Random = 0.5, nil if undefined.
    public static func apgr(curve: [CurvePoint]) -> Double? {
        guard curve.count >= 2, curve.allSatisfy({ $0.pgr != nil }) else { return nil }
        var area = 0.0
        for (a, b) in zip(curve, curve.dropFirst()) {
            area += (b.strongShare - a.strongShare) * (a.pgr! + b.pgr!) / 2
        }
        return area
    }

    /// Smallest strong-call share at which the (linearly interpolated) curve recovers `fraction` of the
    /// gap. nil if undefined (strong == weak) or never reached.
    public static func cpt(curve: [CurvePoint], fraction: Double) -> Double? {
        guard let first = curve.first, let p0 = first.pgr else { return nil }
        if p0 >= fraction { return first.strongShare }
        for (a, b) in zip(curve, curve.dropFirst()) {
            guard let pa = a.pgr, let pb = b.pgr else { return nil }
            if pb >= fraction && pa < fraction {
                if b.strongShare == a.strongShare { return a.strongShare }
                return a.strongShare + (fraction - pa) / (pb - pa) * (b.strongShare - a.strongShare)
            }
        }
        return nil
    }

    /// Full evaluation of precomputed scores on a dataset.
    public static func evaluate(scores: [Double], on data: RoutingDataset, cost: CostModel? = nil) -> RoutingEvaluation {
        let strong = data.examples.map(\.strongScore), weak = data.examples.map(\.weakScore)
        let model = cost ?? .perCall
        let c = curve(scores: scores, strong: strong, weak: weak, cost: model.bound(to: data))
        let oracle = zip(strong, weak).map { max($0, $1) }
        return RoutingEvaluation(
            count: data.count, strongQuality: mean(strong), weakQuality: mean(weak), curve: c,
            apgr: apgr(curve: c), cpt50: cpt(curve: c, fraction: 0.5), cpt80: cpt(curve: c, fraction: 0.8),
            oracleQuality: mean(oracle),
            oracleStrongShare: data.count > 0 ? Double(data.examples.filter(\.strongWins).count) / Double(data.count) : 0)
    }

    /// Area under the ROC curve of `scores` for "strong strictly wins" vs not (ties count ½); a
    /// threshold-free diagnostic used in model selection. nil when one class is empty.
    public static func auc(scores: [Double], positives: [Bool]) -> Double? {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let r = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = r }
            i = j + 1
        }
        let nPos = positives.filter { $0 }.count, nNeg = positives.count - nPos
        guard nPos > 0, nNeg > 0 else { return nil }
        let sumPos = zip(ranks, positives).filter { $0.1 }.map(\.0).reduce(0, +)
        return (sumPos - Double(nPos * (nPos + 1)) / 2) / Double(nPos * nNeg)
    }
}

/// Prices in USD per million tokens.
public struct ModelPrice: Sendable, Codable, Equatable {
    public var input: Double
    public var output: Double
    public init(input: Double, output: Double) { self.input = input; self.output = output }

    /// Parses `in/out` (e.g. `10/30`) or a single number for both.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 1, let v = parts[0] { self.init(input: v, output: v); return }
        guard parts.count == 2, let i = parts[0], let o = parts[1], i >= 0, o >= 0 else { return nil }
        self.init(input: i, output: o)
    }
}

/// Cost of answering each prompt with each model.
///
/// With prices, a prompt's cost is `inputTokens × in + outputTokens × out` (per million), with
/// input tokens estimated as ⌈UTF-8 bytes / 4⌉ and a fixed `outputTokens` per answer (the routing
/// sets carry no token counts). Without prices, one strong call costs 1 and a weak call 0, so
/// "cost saved" is simply the share of calls kept off the strong model.
public struct CostModel: Sendable {
    public var strongPrice: ModelPrice?
    public var weakPrice: ModelPrice?
    public var outputTokens: Int
    var strongCost: [Double] = []
    var weakCost: [Double] = []

    public static let perCall = CostModel(strongPrice: nil, weakPrice: nil)

    public init(strongPrice: ModelPrice?, weakPrice: ModelPrice?, outputTokens: Int = 256) {
        self.strongPrice = strongPrice
        self.weakPrice = weakPrice
        self.outputTokens = outputTokens
    }

    /// Per-prompt costs for `prompts` (used by ``RoutingMetrics/curve``).
    public func bound(toPrompts prompts: [String]) -> CostModel {
        var m = self
        if strongPrice == nil && weakPrice == nil {
            m.strongCost = Array(repeating: 1, count: prompts.count)
            m.weakCost = Array(repeating: 0, count: prompts.count)
        } else {
            let tokens = prompts.map { Double(($0.utf8.count + 3) / 4) }
            let out = Double(outputTokens)
            func c(_ p: ModelPrice?, _ t: Double) -> Double { p.map { (t * $0.input + out * $0.output) / 1e6 } ?? 0 }
            m.strongCost = tokens.map { c(strongPrice, $0) }
            m.weakCost = tokens.map { c(weakPrice, $0) }
        }
        return m
    }

    func bound(to data: RoutingDataset) -> CostModel { bound(toPrompts: data.prompts) }

    func strong(_ i: Int) -> Double { i < strongCost.count ? strongCost[i] : 1 }
    func weak(_ i: Int) -> Double { i < weakCost.count ? weakCost[i] : 0 }
}
