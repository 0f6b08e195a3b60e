import Foundation

/// How to hold out data when estimating generalisation.
public enum CrossValidationScheme: String, CaseIterable, Sendable, Codable {
    /// K folds of whole categories (e.g. MMLU subjects); a dataset with fewer categories than folds
    /// (GSM8K) is split by prompt instead, matching "other problems of the same benchmark".
    case category
    /// Train on all other datasets, test on the held-out one (no in-domain data at all).
    case dataset
    /// K random folds of prompts.
    case random
}

public enum CrossValidation {
    /// Fold index per example.
    public static func folds(for data: RoutingDataset, scheme: CrossValidationScheme, k: Int = 5, seed: UInt64 = 0) -> [Int] {
        func hash(_ s: String) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
            for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            var g = SeededGenerator(seed: h)
            return g.next()
        }
        switch scheme {
        case .dataset:
            let names = data.datasets
            return data.examples.map { names.firstIndex(of: $0.dataset)! }
        case .random:
            return data.examples.map { Int(hash($0.id) % UInt64(k)) }
        case .category:
            var catsPerDataset: [String: Set<String>] = [:]
            for e in data.examples { catsPerDataset[e.dataset, default: []].insert(e.category) }
            // Deal categories round-robin (in a seeded order) so folds have similar numbers of categories.
            var categoryFold: [String: Int] = [:]
            for (_, cats) in catsPerDataset where cats.count >= k {
                let ordered = cats.sorted().sorted { hash($0) < hash($1) }
                for (i, c) in ordered.enumerated() { categoryFold[c] = i % k }
            }
            return data.examples.map { e in
                if (catsPerDataset[e.dataset]?.count ?? 0) >= k, let f = categoryFold[e.category] { return f }
                return Int(hash(e.id) % UInt64(k))
            }
        }
    }

    /// Out-of-fold scores: for each fold, trains on the rest and scores the held-out examples.
    /// `embeddings` must align with `data.examples`.
    public static func outOfFoldScores(
        kind: RouterKind, data: RoutingDataset, embeddings: [[Float]]?, scheme: CrossValidationScheme, k: Int = 5,
        options: TrainingOptions = TrainingOptions(), progress: ProgressHandler? = nil
    ) throws -> [Double] {
        let fold = folds(for: data, scheme: scheme, k: k, seed: options.seed)
        let foldIDs = Array(Set(fold)).sorted()
        var scores = [Double](repeating: 0.5, count: data.count)
        for (fi, f) in foldIDs.enumerated() {
            let trainIdx = fold.indices.filter { fold[$0] != f }
            let testIdx = fold.indices.filter { fold[$0] == f }
            let trainData = data.subset(trainIdx)
            let trainEmb = embeddings.map { e in trainIdx.map { e[$0] } }
            var opts = options
            opts.progress = nil
            let file = try RouterTrainer.train(kind: kind, data: trainData, embeddings: trainEmb, options: opts)
            let router = try makeRouter(from: file, embedder: embeddings == nil ? nil : PrecomputedEmbedder(dimension: embeddings!.first?.count ?? 0))
            for i in testIdx {
                if let er = router as? any EmbeddingRouter, let e = embeddings {
                    scores[i] = er.score(prompt: data.examples[i].prompt, embedding: e[i])
                } else {
                    scores[i] = try router.score(prompt: data.examples[i].prompt)
                }
            }
            progress?(RoutingProgress(phase: "cv \(kind.rawValue)", completed: fi + 1, total: foldIDs.count))
        }
        return scores
    }

    /// Evaluates out-of-fold scores separately on every dataset.
    public static func evaluatePerDataset(scores: [Double], data: RoutingDataset, cost: CostModel? = nil) -> [String: RoutingEvaluation] {
        var out: [String: RoutingEvaluation] = [:]
        for name in data.datasets {
            let idx = data.examples.indices.filter { data.examples[$0].dataset == name }
            out[name] = RoutingMetrics.evaluate(scores: idx.map { scores[$0] }, on: data.subset(idx), cost: cost)
        }
        return out
    }
}

import SwitchyardEmbeddings

/// An embedder placeholder for routers scored only through precomputed embeddings
/// (``EmbeddingRouter/score(prompt:embedding:)``). Calling `embed` is an error.
public struct PrecomputedEmbedder: TextEmbedder {
    public let dimension: Int
    public init(dimension: Int) { self.dimension = dimension }
    public func embed(_ text: String) throws -> [Float] {
        throw RoutingError.invalidData("PrecomputedEmbedder cannot embed text; pass embeddings explicitly")
    }
    public func embed(batch texts: [String]) throws -> [[Float]] { try texts.map { try embed($0) } }
}
