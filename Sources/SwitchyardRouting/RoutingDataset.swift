import Foundation

/// How a set grades answers. Detected from the data; decides how a score gap maps to a label.
public enum ScoreScale: String, Codable, Sendable, CaseIterable {
    /// 0/1 correctness (MMLU, GSM8K).
    case binary
    /// Pairwise preference between the two models: 1 / 0.5 / 0, summing to 1.
    case pairwise
    /// A judge's grade, e.g. 1-10 (MT-Bench).
    case graded

    /// Largest possible |strong − weak| for the scale.
    public func range(observedMin: Double, observedMax: Double) -> Double {
        switch self {
        case .binary, .pairwise: return 1
        case .graded: return max(observedMax - observedMin, 9)  // 1-10 judge grades
        }
    }
}

/// One prompt with both models' quality on it.
public struct RoutingExample: Sendable, Equatable {
    public var id: String
    public var prompt: String
    /// e.g. `mmlu/anatomy`; empty when absent.
    public var category: String
    /// The benchmark the row belongs to (the part of `category`, else `id`, before the first `/`).
    public var dataset: String
    public var strongScore: Double
    public var weakScore: Double
    /// Training target in [0, 1]: 1 = strong clearly better, 0 = weak clearly better, 0.5 = no difference.
    public var label: Double

    public init(id: String, prompt: String, category: String, dataset: String? = nil,
                strongScore: Double, weakScore: Double, label: Double) {
        self.id = id
        self.prompt = prompt
        self.category = category
        self.dataset = dataset ?? RoutingExample.datasetName(category: category, id: id)
        self.strongScore = strongScore
        self.weakScore = weakScore
        self.label = label
    }

    /// Does the strong model strictly beat the weak one here?
    public var strongWins: Bool { strongScore > weakScore }

    static func datasetName(category: String, id: String) -> String {
        let key = category.isEmpty ? id : category
        return String(key.split(separator: "/", maxSplits: 1).first ?? Substring(key))
    }
}

/// Rows of the routing jsonl format restricted to one (strong, weak) pair.
///
/// Format: one JSON object per line with `id`, `prompt`, optional `category`, and `scores` mapping a
/// model name to its quality on the prompt. Rows that lack either model are skipped (counted in
/// ``skipped``). A row without `prompt` but with `turns` (MT-Bench) uses the turns joined by blank lines.
public struct RoutingDataset: Sendable {
    public var strongModel: String
    public var weakModel: String
    public var examples: [RoutingExample]
    public var scale: ScoreScale
    /// Rows without both models' scores.
    public var skipped: Int
    /// All model names seen, with every row's full score map (used by the MF router, which learns
    /// an embedding for every model that appears, as RouteLLM does).
    public var allScores: [[String: Double]]

    public init(strongModel: String, weakModel: String, examples: [RoutingExample], scale: ScoreScale,
                skipped: Int = 0, allScores: [[String: Double]]? = nil) {
        self.strongModel = strongModel
        self.weakModel = weakModel
        self.examples = examples
        self.scale = scale
        self.skipped = skipped
        self.allScores = allScores ?? examples.map { [strongModel: $0.strongScore, weakModel: $0.weakScore] }
    }

    public var count: Int { examples.count }
    public var prompts: [String] { examples.map(\.prompt) }
    public var strongQuality: Double { mean(examples.map(\.strongScore)) }
    public var weakQuality: Double { mean(examples.map(\.weakScore)) }
    public var categories: [String] { Array(Set(examples.map(\.category))).sorted() }
    public var datasets: [String] { Array(Set(examples.map(\.dataset))).sorted() }

    /// A subset keeping the pair and scale.
    public func subset(_ indices: [Int]) -> RoutingDataset {
        RoutingDataset(strongModel: strongModel, weakModel: weakModel, examples: indices.map { examples[$0] },
                       scale: scale, skipped: 0, allScores: indices.map { allScores[$0] })
    }

    /// Concatenates datasets of the same pair (scales may differ; labels are already normalised).
    public static func merge(_ parts: [RoutingDataset]) -> RoutingDataset? {
        guard let first = parts.first else { return nil }
        return RoutingDataset(strongModel: first.strongModel, weakModel: first.weakModel,
                              examples: parts.flatMap(\.examples),
                              scale: Set(parts.map(\.scale)).count == 1 ? first.scale : .graded,
                              skipped: parts.map(\.skipped).reduce(0, +), allScores: parts.flatMap(\.allScores))
    }

    // MARK: loading

    public static func load(contentsOf url: URL, strong: String, weak: String) throws -> RoutingDataset {
        let data = try Data(contentsOf: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw RoutingError.invalidData("\(url.path) is not UTF-8")
        }
        return try parse(jsonl: text, strong: strong, weak: weak, source: url.lastPathComponent)
    }

    public static func load(files: [URL], strong: String, weak: String) throws -> RoutingDataset {
        let parts = try files.map { try load(contentsOf: $0, strong: strong, weak: weak) }
        guard let merged = merge(parts) else { throw RoutingError.invalidData("no data files given") }
        return merged
    }

    public static func parse(jsonl text: String, strong: String, weak: String, source: String = "<input>") throws -> RoutingDataset {
        struct Raw {
            var id, prompt, category: String
            var s, w: Double
            var all: [String: Double]
        }
        var raws: [Raw] = []
        var skipped = 0
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw RoutingError.invalidData("\(source):\(lineNumber): not a JSON object")
            }
            var prompt = obj["prompt"] as? String
            if prompt == nil, let turns = obj["turns"] as? [String] { prompt = turns.joined(separator: "\n\n") }
            guard let prompt else { throw RoutingError.invalidData("\(source):\(lineNumber): no 'prompt'") }
            let id = (obj["id"] as? String) ?? (obj["id"] as? NSNumber)?.stringValue ?? "\(source)#\(lineNumber)"
            let category = obj["category"] as? String ?? ""
            var all: [String: Double] = [:]
            if let scores = obj["scores"] as? [String: Any] {
                for (k, v) in scores { if let n = v as? NSNumber { all[k] = n.doubleValue } }
            }
            guard let s = all[strong], let w = all[weak] else { skipped += 1; continue }
            raws.append(Raw(id: id, prompt: prompt, category: category, s: s, w: w, all: all))
        }
        let values = raws.flatMap { [$0.s, $0.w] }
        let scale = detectScale(pairs: raws.map { ($0.s, $0.w) })
        let range = scale.range(observedMin: values.min() ?? 0, observedMax: values.max() ?? 1)
        let examples = raws.map { r in
            RoutingExample(id: r.id, prompt: r.prompt, category: r.category, strongScore: r.s, weakScore: r.w,
                           label: min(1, max(0, 0.5 + 0.5 * (r.s - r.w) / range)))
        }
        return RoutingDataset(strongModel: strong, weakModel: weak, examples: examples, scale: scale,
                              skipped: skipped, allScores: raws.map(\.all))
    }

    /// binary: every score is 0 or 1 and some pair differs from a preference (1,1 or 0,0 present);
    /// pairwise: every pair sums to 1 with values in {0, 0.5, 1}; graded otherwise.
    public static func detectScale(pairs: [(Double, Double)]) -> ScoreScale {
        if pairs.isEmpty { return .binary }
        let isPref = pairs.allSatisfy { p in
            abs(p.0 + p.1 - 1) < 1e-9 && [0, 0.5, 1].contains(p.0)
        }
        if isPref && pairs.contains(where: { $0.0 == 0.5 }) { return .pairwise }
        let isBinary = pairs.allSatisfy { ($0.0 == 0 || $0.0 == 1) && ($0.1 == 0 || $0.1 == 1) }
        if isBinary { return isPref ? .pairwise : .binary }
        if isPref { return .pairwise }
        return .graded
    }
}

@inline(__always) func mean(_ xs: [Double]) -> Double {
    xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
}
