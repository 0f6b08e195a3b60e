import Foundation
import Testing
import SwitchyardEmbeddings
@testable import SwitchyardRouting

/// Test double for the MiniLM encoder: a hashed bag of words (each word adds ±1 to two of
/// `dimension` buckets), L2-normalised. Prompts sharing words have high cosine similarity.
struct BagOfWordsEmbedder: TextEmbedder {
    let dimension: Int
    init(dimension: Int = 384) { self.dimension = dimension }

    func embed(_ text: String) throws -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in word.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            v[Int(h % UInt64(dimension))] += (h >> 40) & 1 == 0 ? 1 : -1
            v[Int((h >> 20) % UInt64(dimension))] += 0.5
        }
        let n = sqrtf(v.reduce(0) { $0 + $1 * $1 })
        return n > 0 ? v.map { $0 / n } : v
    }

    func embed(batch texts: [String]) throws -> [[Float]] { try texts.map { try embed($0) } }
}

enum Synthetic {
    static let strong = "big-model"
    static let weak = "small-model"

    static let hardTopics = ["quantum field renormalization", "stochastic calculus martingale", "algebraic topology homology",
                             "compiler register allocation", "protein folding thermodynamics", "tensor network contraction"]
    static let easyTopics = ["favourite pizza topping", "weekend picnic plans", "cute puppy names",
                             "summer holiday packing", "birthday card greeting", "morning coffee routine"]
    static let fillers = ["please", "tell me about", "I wonder about", "could you discuss", "a question on", "thoughts on"]

    /// Topic task: prompts about hard topics need the strong model (strong 1, weak 0); easy ones are
    /// answered by both (1, 1) or occasionally only by the weak one.
    static func topicTask(count: Int, seed: UInt64, shuffleLabels: Bool = false) -> RoutingDataset {
        var rng = SeededGenerator(seed: seed)
        var rows: [(String, Double, Double)] = []
        for i in 0..<count {
            let hard = i % 2 == 0
            let topics = hard ? hardTopics : easyTopics
            let topic = topics[Int(rng.next() % UInt64(topics.count))]
            let filler = fillers[Int(rng.next() % UInt64(fillers.count))]
            let prompt = "\(filler) \(topic) number \(rng.next() % 1000)"
            let (s, w): (Double, Double) = hard ? (rng.nextUnit() < 0.9 ? (1, 0) : (1, 1))
                                                : (rng.nextUnit() < 0.8 ? (1, 1) : (0, 1))
            rows.append((prompt, s, w))
        }
        return dataset(rows, shuffleLabels: shuffleLabels, seed: seed)
    }

    /// Length/number task for the lexical heuristic: long, number-heavy word problems need the strong model.
    static func mathTask(count: Int, seed: UInt64, shuffleLabels: Bool = false) -> RoutingDataset {
        var rng = SeededGenerator(seed: seed)
        var rows: [(String, Double, Double)] = []
        for i in 0..<count {
            let hard = i % 2 == 0
            let prompt: String
            if hard {
                let n = 3 + Int(rng.next() % 4)
                let parts = (0..<n).map { _ in "a crate holds \(rng.next() % 90 + 10) apples and each costs $\(rng.next() % 9 + 1)." }
                prompt = "Solve step by step: " + parts.joined(separator: " ") + " How many dollars in total, if 1/3 are sold?"
            } else {
                prompt = ["hi there", "write a short poem", "say hello", "tell a joke", "name a colour"][Int(rng.next() % 5)]
            }
            let (s, w): (Double, Double) = hard ? (1, 0) : (1, 1)
            rows.append((prompt, s, w))
        }
        return dataset(rows, shuffleLabels: shuffleLabels, seed: seed)
    }

    static func dataset(_ rows: [(String, Double, Double)], shuffleLabels: Bool, seed: UInt64) -> RoutingDataset {
        var outcomes = rows.map { ($0.1, $0.2) }
        if shuffleLabels {
            var rng = SeededGenerator(seed: seed ^ 0xABCDEF)
            outcomes.shuffle(using: &rng)
        }
        var lines = ""
        for (i, r) in rows.enumerated() {
            let obj: [String: Any] = ["id": "synthetic/\(i)", "prompt": r.0, "category": "synthetic/\(i % 3)",
                                      "scores": [strong: outcomes[i].0, weak: outcomes[i].1]]
            lines += String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self) + "\n"
        }
        return try! RoutingDataset.parse(jsonl: lines, strong: strong, weak: weak)
    }

    /// Trains `kind` on `train` and returns held-out APGR on `test`.
    static func heldOutAPGR(_ kind: RouterKind, train: RoutingDataset, test: RoutingDataset,
                            hyper: [String: Double] = [:]) throws -> Double {
        let embedder = BagOfWordsEmbedder()
        let emb = try embedder.embed(batch: train.prompts)
        let file = try RouterTrainer.train(kind: kind, data: train, embeddings: emb,
                                           options: TrainingOptions(seed: 7, hyperparameters: hyper))
        let router = try makeRouter(from: file, embedder: embedder)
        let scores = try router.scores(prompts: test.prompts)
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
        return RoutingMetrics.evaluate(scores: scores, on: test).apgr ?? .nan
    }
}
