import Foundation
import SwitchyardEmbeddings

/// Seeded pseudo-random router: each prompt gets a fixed uniform score derived from (seed, prompt).
public struct RandomRouter: QualityRouter {
    public let seed: UInt64
    public init(seed: UInt64 = 0) { self.seed = seed }
    init(file: RouterFile) { seed = UInt64(file.hyper("seed", default: 0)) }

    public func score(prompt: String) throws -> Double {
        // FNV-1a over the UTF-8 bytes, mixed with the seed, then one SplitMix step.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for b in prompt.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var g = SeededGenerator(seed: h)
        return g.nextUnit()
    }

    public var file: RouterFile {
        RouterFile(kind: .random, strongModel: "", weakModel: "", hyperparameters: ["seed": Double(seed)])
    }
}

/// Transparent router: a logistic model over ``LexicalFeatures``; the weights are readable in the file
/// (`weights`, in the order of `LexicalFeatures.names`, then a bias). Untrained default weights
/// encode the prior that long, numeric, code or multi-step prompts need the strong model.
public struct HeuristicRouter: QualityRouter {
    public let weights: [Float]
    public let bias: Float

    public static let defaultWeights: [String: Float] = [
        "log_chars": 1.0, "numbers": 1.0, "math_symbols": 0.8, "math_words": 1.2, "code": 1.5,
        "reasoning_words": 1.0, "constraints": 0.6, "latex": 1.0, "creative_words": -0.8,
    ]

    public init(weights: [Float]? = nil, bias: Float = -1.5) {
        self.weights = weights ?? LexicalFeatures.names.map { HeuristicRouter.defaultWeights[$0] ?? 0 }
        self.bias = bias
    }

    init(file: RouterFile) throws {
        let w = try file.tensor("weights").floats()
        guard w.count == LexicalFeatures.count + 1 else { throw RoutingError.invalidRouterFile("heuristic weights: \(w.count) values") }
        weights = Array(w.dropLast())
        bias = w.last!
    }

    public func score(prompt: String) throws -> Double {
        Double(sigmoidF(dot(weights, LexicalFeatures(prompt).values) + bias))
    }

    /// Per-feature contributions to the logit, for explaining a decision.
    public func explain(prompt: String) -> [(feature: String, contribution: Float)] {
        let f = LexicalFeatures(prompt).values
        return zip(LexicalFeatures.names, zip(weights, f).map(*)).map { ($0, $1) }
    }
}

/// k-nearest-neighbour vote: score = (Σ wᵢ yᵢ + α·prior) / (Σ wᵢ + α), wᵢ = exp((simᵢ − sim₁)/τ) over
/// the k most cosine-similar training prompts.
public struct KNNRouter: EmbeddingRouter {
    public let embedder: any TextEmbedder
    let flat: [Float]
    let labels: [Float]
    let dim: Int
    public let k: Int
    public let temperature: Float
    public let priorStrength: Float
    public let prior: Float

    init(file: RouterFile, embedder: any TextEmbedder) throws {
        self.embedder = embedder
        let t = try file.tensor("embeddings")
        flat = try t.floats()
        dim = t.shape.count == 2 ? t.shape[1] : 0
        labels = try file.tensor("labels").floats()
        guard dim > 0, labels.count == t.shape[0] else { throw RoutingError.invalidRouterFile("knn: shape mismatch") }
        k = max(1, Int(file.hyper("k", default: 32)))
        temperature = Float(file.hyper("temperature", default: 0.05))
        priorStrength = Float(file.hyper("prior_strength", default: 1))
        prior = labels.isEmpty ? 0.5 : labels.reduce(0, +) / Float(labels.count)
    }

    public func score(prompt: String, embedding: [Float]) -> Double {
        let n = labels.count
        guard embedding.count == dim, n > 0 else { return Double(prior) }
        // Keep the k best in a small sorted buffer (k ≪ n).
        var best: [(Float, Int)] = []
        best.reserveCapacity(k + 1)
        flat.withUnsafeBufferPointer { base in
            embedding.withUnsafeBufferPointer { q in
                for i in 0..<n {
                    let s = dot(UnsafeBufferPointer(rebasing: base[(i * dim)..<((i + 1) * dim)]), q, dim)
                    if best.count < k || s > best[best.count - 1].0 {
                        var pos = best.count
                        while pos > 0 && best[pos - 1].0 < s { pos -= 1 }
                        best.insert((s, i), at: pos)
                        if best.count > k { best.removeLast() }
                    }
                }
            }
        }
        let top = best.first?.0 ?? 0
        var num = priorStrength * prior, den = priorStrength
        for (s, i) in best {
            let w = expf((s - top) / max(temperature, 1e-4))
            num += w * labels[i]
            den += w
        }
        return Double(num / den)
    }
}

/// RouteLLM matrix factorisation (arXiv 2406.18665 §4.2): δ(m, q) = wᵀ(v_m ⊙ (W e_q + b)), and
/// P(strong beats weak | q) = σ(δ(strong, q) − δ(weak, q)). With the pair fixed, the score collapses
/// to σ(uᵀ(W e + b)) with u = w ⊙ (v_strong − v_weak), which is what is precomputed here.
public struct MFRouter: EmbeddingRouter {
    public let embedder: any TextEmbedder
    let direction: [Float]   // Wᵀu, length = embedding dimension
    let offset: Float        // uᵀb

    init(file: RouterFile, embedder: any TextEmbedder) throws {
        self.embedder = embedder
        let names = file.names["models"] ?? []
        guard let si = names.firstIndex(of: file.strongModel), let wi = names.firstIndex(of: file.weakModel) else {
            throw RoutingError.invalidRouterFile("mf: model table lacks \(file.strongModel) or \(file.weakModel)")
        }
        let proj = try file.tensor("projection")   // d × D
        let W = try proj.floats()
        let b = try file.tensor("projection_bias").floats()
        let V = try file.tensor("model_embeddings").floats()   // M × d
        let head = try file.tensor("head").floats()
        let d = proj.shape[0], D = proj.shape[1]
        guard b.count == d, head.count == d, V.count == names.count * d else { throw RoutingError.invalidRouterFile("mf: shape mismatch") }
        let u = (0..<d).map { head[$0] * (V[si * d + $0] - V[wi * d + $0]) }
        var dir = [Float](repeating: 0, count: D)
        for r in 0..<d where u[r] != 0 {
            for c in 0..<D { dir[c] += u[r] * W[r * D + c] }
        }
        direction = dir
        // `pair_bias`: the mean of the per-dataset offsets a `dataset_effects` training learned.
        offset = dot(u, b) + (try file.tensors["pair_bias"]?.floats().first ?? 0)
    }

    public func score(prompt: String, embedding: [Float]) -> Double {
        Double(sigmoidF(dot(direction, embedding) + offset))
    }
}

/// Logistic regression (`hidden == 0`) or one-hidden-layer ReLU MLP over [embedding, lexical features].
public struct ClassifierRouter: EmbeddingRouter {
    public let embedder: any TextEmbedder
    let hidden: Int
    let inputs: Int
    let w1: [Float]    // hidden × inputs (or inputs when hidden == 0)
    let b1: [Float]
    let w2: [Float]
    let b2: Float
    let useLexical: Bool

    init(file: RouterFile, embedder: any TextEmbedder) throws {
        self.embedder = embedder
        hidden = Int(file.hyper("hidden", default: 0))
        useLexical = file.hyper("lexical", default: 1) != 0
        w1 = try file.tensor("w1").floats()
        b1 = try file.tensor("b1").floats()
        w2 = try file.tensor("w2").floats()
        b2 = try file.tensor("b2").floats().first ?? 0
        inputs = (file.embeddingDimension ?? embedder.dimension) + (useLexical ? LexicalFeatures.count : 0)
        let expected = hidden == 0 ? inputs : hidden * inputs
        guard w1.count == expected, b1.count == max(hidden, 1) else { throw RoutingError.invalidRouterFile("classifier: shape mismatch") }
    }

    public func score(prompt: String, embedding: [Float]) -> Double {
        let x = useLexical ? embedding + LexicalFeatures(prompt).values : embedding
        return Double(sigmoidF(ClassifierRouter.forward(x: x, hidden: hidden, w1: w1, b1: b1, w2: w2, b2: b2)))
    }

    static func forward(x: [Float], hidden: Int, w1: [Float], b1: [Float], w2: [Float], b2: Float) -> Float {
        let n = x.count
        if hidden == 0 { return dot(w1, x) + b1[0] }
        var z = b2
        w1.withUnsafeBufferPointer { W in
            x.withUnsafeBufferPointer { X in
                for h in 0..<hidden {
                    let a = dot(UnsafeBufferPointer(rebasing: W[(h * n)..<((h + 1) * n)]), X, n) + b1[h]
                    if a > 0 { z += w2[h] * a }
                }
            }
        }
        return z
    }
}

/// Weighted mean of member scores (members share one embedding computation).
public struct EnsembleRouter: EmbeddingRouter {
    public let embedder: any TextEmbedder
    let members: [any EmbeddingRouter]
    let weights: [Double]

    init(file: RouterFile, embedder: any TextEmbedder) throws {
        self.embedder = embedder
        let files = file.members ?? []
        guard !files.isEmpty else { throw RoutingError.invalidRouterFile("ensemble without members") }
        members = try files.map { try makeEmbeddingRouter(from: $0, embedder: embedder) }
        let w = file.memberWeights ?? Array(repeating: 1, count: files.count)
        guard w.count == files.count, w.reduce(0, +) > 0 else { throw RoutingError.invalidRouterFile("ensemble weights") }
        weights = w
    }

    public func score(prompt: String, embedding: [Float]) -> Double {
        var s = 0.0
        for (m, w) in zip(members, weights) { s += w * m.score(prompt: prompt, embedding: embedding) }
        return s / weights.reduce(0, +)
    }
}
