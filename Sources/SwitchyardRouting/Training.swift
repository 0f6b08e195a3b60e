import Foundation
import SwitchyardEmbeddings

/// Settings for ``RouterTrainer/train(kind:data:embeddings:options:)``.
public struct TrainingOptions: Sendable {
    public var seed: UInt64
    /// Overrides of ``RouterTrainer/defaultHyperparameters(for:)``.
    public var hyperparameters: [String: Double]
    public var embeddingModel: String
    public var progress: ProgressHandler?

    public init(seed: UInt64 = 0, hyperparameters: [String: Double] = [:], embeddingModel: String = "all-MiniLM-L6-v2",
                progress: ProgressHandler? = nil) {
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.embeddingModel = embeddingModel
        self.progress = progress
    }
}

/// Trains routers from labelled prompts and their embeddings; the result is a ``RouterFile``.
///
/// Common hyperparameters:
/// - `label`: 0 = soft gain label (0.5 + ½·(strong − weak)/range; ties → 0.5), 1 = "strong strictly
///   wins" as 1 else 0.
/// - `balance`: 1 = weight examples so each dataset (id/category prefix) carries equal total weight.
/// - `dataset_effects`: 1 = give every dataset its own intercept while training and drop it afterwards
///   (the stored bias is their weighted mean; kNN stores labels centred per dataset instead). Sets
///   differ in how often the strong model wins for reasons a new set does not share (their scales:
///   AlpacaEval's pairwise preference makes 77 % strong wins, MMLU's correctness 17 %), and without
///   this the model spends its weights on recognising which set a prompt came from instead of what
///   makes one prompt of a set harder than another. Held-out APGR rises on all three shared sets
///   (BENCHMARKS.md, "Router quality: one intercept per dataset"). Sets with fewer than
///   `dataset_min_rows` (default 30) examples share one intercept.
public enum RouterTrainer {
    public static func defaultHyperparameters(for kind: RouterKind) -> [String: Double] {
        switch kind {
        case .random: return ["seed": 0]
        case .heuristic:
            return ["epochs": 200, "lr": 0.05, "l2": 1e-3, "label": 0, "balance": 1, "dataset_effects": 1, "dataset_min_rows": 30]
        case .knn:
            return ["k": 48, "temperature": 0.05, "prior_strength": 2, "label": 0, "balance": 0, "dataset_effects": 1,
                    "dataset_min_rows": 30]
        case .mf: return ["dim": 64, "epochs": 12, "lr": 3e-3, "l2": 1e-4, "batch": 64, "label": 0, "balance": 1,
                          "dataset_effects": 1, "dataset_min_rows": 30]
        case .classifier:
            return ["hidden": 0, "epochs": 40, "lr": 3e-3, "l2": 3e-3, "batch": 64, "lexical": 1, "label": 0, "balance": 1,
                    "dataset_effects": 1, "dataset_min_rows": 30]
        case .ensemble:
            return ["w_classifier": 1, "w_knn": 1, "w_mf": 0, "w_heuristic": 0.5]
        }
    }

    /// - Parameter embeddings: one L2-normalised vector per example (ignored by random/heuristic; may be nil there).
    public static func train(kind: RouterKind, data: RoutingDataset, embeddings: [[Float]]?,
                             options: TrainingOptions = TrainingOptions()) throws -> RouterFile {
        var hp = defaultHyperparameters(for: kind)
        for (k, v) in options.hyperparameters { hp[k] = v }
        guard !data.examples.isEmpty || kind == .random else { throw RoutingError.training("no training examples") }
        if kind.needsEmbedder {
            guard let embeddings, embeddings.count == data.count else {
                throw RoutingError.training("\(kind.rawValue) needs one embedding per example")
            }
            guard let d = embeddings.first?.count, d > 0, embeddings.allSatisfy({ $0.count == d }) else {
                throw RoutingError.training("embeddings have inconsistent dimensions")
            }
        }
        let labels = trainingLabels(data, mode: hp["label"] ?? 0)
        let weights = exampleWeights(data, balance: (hp["balance"] ?? 0) != 0)
        let groups = (hp["dataset_effects"] ?? 0) != 0 ? DatasetGroups(data, minimumRows: Int(hp["dataset_min_rows"] ?? 30)) : nil
        var file: RouterFile
        switch kind {
        case .random:
            hp["seed"] = Double(options.seed)
            file = RouterFile(kind: .random, strongModel: data.strongModel, weakModel: data.weakModel, hyperparameters: hp)
        case .heuristic:
            let x = data.examples.map { LexicalFeatures($0.prompt).values }
            let (w, b) = trainLinear(x: x, y: labels, weights: weights, groups: groups, hp: hp, seed: options.seed,
                                     progress: options.progress)
            file = RouterFile(kind: .heuristic, strongModel: data.strongModel, weakModel: data.weakModel,
                              hyperparameters: hp, tensors: ["weights": StoredTensor(w + [b])],
                              names: ["features": LexicalFeatures.names])
        case .knn:
            file = RouterFile(kind: .knn, strongModel: data.strongModel, weakModel: data.weakModel,
                              hyperparameters: hp,
                              tensors: ["embeddings": StoredTensor(quantizing: embeddings!),
                                        "labels": StoredTensor(groups.map { $0.centred(labels, weights: weights) } ?? labels)])
        case .classifier:
            let lexical = (hp["lexical"] ?? 1) != 0
            let x = zip(data.examples, embeddings!).map { lexical ? $1 + LexicalFeatures($0.prompt).values : $1 }
            let hidden = Int(hp["hidden"] ?? 0)
            if hidden == 0 {
                let (w, b) = trainLinear(x: x, y: labels, weights: weights, groups: groups, hp: hp, seed: options.seed,
                                         progress: options.progress)
                file = RouterFile(kind: .classifier, strongModel: data.strongModel, weakModel: data.weakModel, hyperparameters: hp,
                                  tensors: ["w1": StoredTensor(w), "b1": StoredTensor([b]), "w2": StoredTensor([]), "b2": StoredTensor([0])])
            } else {
                let m = trainMLP(x: x, y: labels, weights: weights, groups: groups, hidden: hidden, hp: hp, seed: options.seed,
                                 progress: options.progress)
                file = RouterFile(kind: .classifier, strongModel: data.strongModel, weakModel: data.weakModel, hyperparameters: hp,
                                  tensors: ["w1": StoredTensor(m.w1, shape: [hidden, x[0].count]), "b1": StoredTensor(m.b1),
                                            "w2": StoredTensor(m.w2), "b2": StoredTensor([m.b2])])
            }
        case .mf:
            file = trainMF(data: data, embeddings: embeddings!, labels: labels, weights: weights, groups: groups, hp: hp,
                           seed: options.seed, progress: options.progress)
        case .ensemble:
            var members: [RouterFile] = [], mw: [Double] = []
            for member in [RouterKind.classifier, .knn, .mf, .heuristic] {
                let w = hp["w_\(member.rawValue)"] ?? 0
                guard w > 0 else { continue }
                var sub = options
                sub.hyperparameters = [:]
                for (k, v) in options.hyperparameters where k.hasPrefix(member.rawValue + ".") {
                    sub.hyperparameters[String(k.dropFirst(member.rawValue.count + 1))] = v
                }
                members.append(try train(kind: member, data: data, embeddings: embeddings, options: sub))
                mw.append(w)
            }
            guard !members.isEmpty else { throw RoutingError.training("ensemble: all member weights are 0") }
            file = RouterFile(kind: .ensemble, strongModel: data.strongModel, weakModel: data.weakModel, hyperparameters: hp,
                              members: members, memberWeights: mw)
        }
        if kind.needsEmbedder {
            file.embeddingModel = options.embeddingModel
            file.embeddingDimension = embeddings?.first?.count
        }
        hp["seed"] = Double(options.seed)
        file.hyperparameters = hp
        return file
    }

    /// Per-example targets in [0, 1] (see `label` above).
    public static func trainingLabels(_ data: RoutingDataset, mode: Double) -> [Float] {
        data.examples.map { mode == 1 ? ($0.strongWins ? 1 : 0) : Float($0.label) }
    }

    /// Mean-1 weights; with `balance`, every dataset gets the same total weight.
    public static func exampleWeights(_ data: RoutingDataset, balance: Bool) -> [Float] {
        guard balance else { return Array(repeating: 1, count: data.count) }
        var counts: [String: Int] = [:]
        for e in data.examples { counts[e.dataset, default: 0] += 1 }
        let groups = Float(counts.count)
        return data.examples.map { Float(data.count) / (groups * Float(counts[$0.dataset]!)) }
    }

    // MARK: linear / logistic

    /// Logistic regression on soft labels. With `groups`, every group has its own intercept (parameters
    /// after `b`, initialised at the group's mean label and not decayed); the returned bias is their
    /// weighted mean.
    static func trainLinear(x: [[Float]], y: [Float], weights: [Float], groups: DatasetGroups? = nil,
                            hp: [String: Double], seed: UInt64, progress: ProgressHandler?) -> (w: [Float], b: Float) {
        let n = x.count, f = x.first?.count ?? 0
        let epochs = Int(hp["epochs"] ?? 40), batch = max(1, Int(hp["batch"] ?? 64))
        let groupCount = groups?.count ?? 0
        // Layout: w (f) | b | group offsets (groupCount). With groups, b stays 0 and the offsets carry the level.
        var params = [Float](repeating: 0, count: f + 1 + groupCount)
        let prior = zip(y, weights).map(*).reduce(0, +) / max(weights.reduce(0, +), 1e-9)
        if let groups {
            for (g, m) in groups.means(y, weights: weights).enumerated() { params[f + 1 + g] = Float(logit(Double(m))) }
        } else {
            params[f] = Float(logit(Double(prior)))
        }
        var opt = Adam(count: params.count, lr: Float(hp["lr"] ?? 3e-3), weightDecay: Float(hp["l2"] ?? 1e-3))
        let mask = params.indices.map { $0 < f }
        var rng = SeededGenerator(seed: seed)
        var order = Array(0..<n)
        var grads = [Float](repeating: 0, count: params.count)
        for epoch in 0..<epochs {
            order.shuffle(using: &rng)
            var loss: Float = 0
            var start = 0
            while start < n {
                let end = min(n, start + batch)
                for i in 0..<grads.count { grads[i] = 0 }
                var wsum: Float = 0
                for idx in order[start..<end] {
                    let groupSlot = groups.map { f + 1 + $0.index[idx] } ?? f
                    let z = dot(params, x[idx]) + params[groupSlot]
                    let p = sigmoidF(z)
                    let g = (p - y[idx]) * weights[idx]
                    loss -= weights[idx] * (y[idx] * logf(max(p, 1e-7)) + (1 - y[idx]) * logf(max(1 - p, 1e-7)))
                    x[idx].withUnsafeBufferPointer { xi in for j in 0..<f { grads[j] += g * xi[j] } }
                    grads[groupSlot] += g
                    wsum += weights[idx]
                }
                let inv = 1 / max(wsum, 1e-9)
                for i in 0..<grads.count { grads[i] *= inv }
                opt.step(params: &params, grads: grads, decayMask: mask)
                start = end
            }
            progress?(RoutingProgress(phase: "train", completed: epoch + 1, total: epochs,
                                      detail: String(format: "loss %.4f", loss / Float(max(n, 1)))))
        }
        if let groups {
            let shares = groups.shares(weights: weights)
            return (Array(params[0..<f]), (0..<groupCount).reduce(0) { $0 + shares[$1] * params[f + 1 + $1] })
        }
        return (Array(params[0..<f]), params[f])
    }

    // MARK: MLP

    struct MLP { var w1: [Float]; var b1: [Float]; var w2: [Float]; var b2: Float }

    /// One-hidden-layer ReLU MLP; `groups` adds per-group output intercepts as in ``trainLinear``.
    static func trainMLP(x: [[Float]], y: [Float], weights: [Float], groups: DatasetGroups? = nil, hidden: Int,
                         hp: [String: Double], seed: UInt64, progress: ProgressHandler?) -> MLP {
        let n = x.count, f = x.first?.count ?? 0, h = hidden
        let epochs = Int(hp["epochs"] ?? 40), batch = max(1, Int(hp["batch"] ?? 64))
        var rng = SeededGenerator(seed: seed)
        // Layout: w1 (h×f) | b1 (h) | w2 (h) | b2, then group offsets (groupCount) after everything.
        let count = h * f + h + h + 1
        let groupCount = groups?.count ?? 0
        var offsets = [Float](repeating: 0, count: groupCount)
        var offsetOpt = Adam(count: groupCount, lr: Float(hp["lr"] ?? 3e-3), weightDecay: 0)
        var offsetGrads = [Float](repeating: 0, count: groupCount)
        var p = [Float](repeating: 0, count: count)
        let s1 = Float(sqrt(2.0 / Double(f)))
        for i in 0..<(h * f) { p[i] = Float(rng.nextGaussian()) * s1 }
        for i in 0..<h { p[h * f + h + i] = Float(rng.nextGaussian()) * Float(sqrt(1.0 / Double(h))) }
        let prior = zip(y, weights).map(*).reduce(0, +) / max(weights.reduce(0, +), 1e-9)
        if let groups {
            // b2 stays at 0 (and is trained only through the offsets' mean afterwards).
            for (g, m) in groups.means(y, weights: weights).enumerated() { offsets[g] = Float(logit(Double(m))) }
        } else {
            p[count - 1] = Float(logit(Double(prior)))
        }
        var mask = [Bool](repeating: false, count: count)
        for i in 0..<(h * f) { mask[i] = true }
        for i in 0..<h { mask[h * f + h + i] = true }
        var opt = Adam(count: count, lr: Float(hp["lr"] ?? 3e-3), weightDecay: Float(hp["l2"] ?? 1e-3))
        var grads = [Float](repeating: 0, count: count)
        var order = Array(0..<n)
        var act = [Float](repeating: 0, count: h)
        for epoch in 0..<epochs {
            order.shuffle(using: &rng)
            var loss: Float = 0
            var start = 0
            while start < n {
                let end = min(n, start + batch)
                for i in 0..<count { grads[i] = 0 }
                for i in 0..<groupCount { offsetGrads[i] = 0 }
                var wsum: Float = 0
                p.withUnsafeMutableBufferPointer { P in
                    grads.withUnsafeMutableBufferPointer { G in
                        for idx in order[start..<end] {
                            x[idx].withUnsafeBufferPointer { X in
                                let group = groups?.index[idx]
                                var z = P[count - 1] + (group.map { offsets[$0] } ?? 0)
                                for j in 0..<h {
                                    let a = dot(UnsafeBufferPointer(rebasing: P[(j * f)..<((j + 1) * f)]), X, f) + P[h * f + j]
                                    act[j] = max(a, 0)
                                    z += P[h * f + h + j] * act[j]
                                }
                                let prob = sigmoidF(z)
                                let g = (prob - y[idx]) * weights[idx]
                                loss -= weights[idx] * (y[idx] * logf(max(prob, 1e-7)) + (1 - y[idx]) * logf(max(1 - prob, 1e-7)))
                                if let group { offsetGrads[group] += g } else { G[count - 1] += g }
                                for j in 0..<h where act[j] > 0 {
                                    G[h * f + h + j] += g * act[j]
                                    let gh = g * P[h * f + h + j]
                                    G[h * f + j] += gh
                                    let row = j * f
                                    for k in 0..<f { G[row + k] += gh * X[k] }
                                }
                                wsum += weights[idx]
                            }
                        }
                    }
                }
                let inv = 1 / max(wsum, 1e-9)
                for i in 0..<count { grads[i] *= inv }
                opt.step(params: &p, grads: grads, decayMask: mask)
                if groupCount > 0 {
                    for i in 0..<groupCount { offsetGrads[i] *= inv }
                    offsetOpt.step(params: &offsets, grads: offsetGrads, decayMask: [Bool](repeating: false, count: groupCount))
                }
                start = end
            }
            progress?(RoutingProgress(phase: "train", completed: epoch + 1, total: epochs,
                                      detail: String(format: "loss %.4f", loss / Float(max(n, 1)))))
        }
        if let groups {
            let shares = groups.shares(weights: weights)
            p[count - 1] = (0..<groupCount).reduce(0) { $0 + shares[$1] * offsets[$1] }
        }
        return MLP(w1: Array(p[0..<(h * f)]), b1: Array(p[(h * f)..<(h * f + h)]),
                   w2: Array(p[(h * f + h)..<(h * f + 2 * h)]), b2: p[count - 1])
    }

    // MARK: matrix factorisation

    /// RouteLLM's matrix factorisation. With `groups`, the routed pair's comparisons get a per-group
    /// logit offset while training, stored as their weighted mean in `pair_bias`.
    static func trainMF(data: RoutingDataset, embeddings: [[Float]], labels: [Float], weights: [Float],
                        groups: DatasetGroups? = nil, hp: [String: Double], seed: UInt64,
                        progress: ProgressHandler?) -> RouterFile {
        let D = embeddings[0].count, d = max(1, Int(hp["dim"] ?? 64))
        let epochs = Int(hp["epochs"] ?? 12), batch = max(1, Int(hp["batch"] ?? 64))
        // Model table: every model seen, strong and weak first.
        var models = [data.strongModel, data.weakModel]
        for row in data.allScores { for m in row.keys.sorted() where !models.contains(m) { models.append(m) } }
        let mIndex = Dictionary(uniqueKeysWithValues: models.enumerated().map { ($1, $0) })
        // Comparisons (example, a, b, target, weight): the routed pair with its soft label, plus any
        // other pairs in the row with win/tie/loss targets.
        var comps: [(Int, Int, Int, Float, Float)] = []
        for (i, row) in data.allScores.enumerated() {
            comps.append((i, 0, 1, labels[i], weights[i]))
            let names = row.keys.sorted()
            for (ai, a) in names.enumerated() {
                for b in names[(ai + 1)...] where !([a, b].contains(data.strongModel) && [a, b].contains(data.weakModel)) {
                    let sa = row[a]!, sb = row[b]!
                    comps.append((i, mIndex[a]!, mIndex[b]!, sa > sb ? 1 : (sa < sb ? 0 : 0.5), weights[i]))
                }
            }
        }
        var rng = SeededGenerator(seed: seed)
        // Layout: W (d×D) | b (d) | V (M×d) | w (d).
        let M = models.count
        let oW = 0, oB = d * D, oV = oB + d, oH = oV + M * d, count = oH + d
        var p = [Float](repeating: 0, count: count)
        let sW = Float(1 / sqrt(Double(D)))
        for i in 0..<(d * D) { p[oW + i] = Float(rng.nextGaussian()) * sW }
        for i in 0..<(M * d) { p[oV + i] = Float(rng.nextGaussian()) * 0.5 }
        for i in 0..<d { p[oH + i] = Float(rng.nextGaussian()) * Float(1 / sqrt(Double(d))) }
        var mask = [Bool](repeating: true, count: count)
        for i in 0..<d { mask[oB + i] = false }
        var opt = Adam(count: count, lr: Float(hp["lr"] ?? 3e-3), weightDecay: Float(hp["l2"] ?? 1e-4))
        var grads = [Float](repeating: 0, count: count)
        var hvec = [Float](repeating: 0, count: d)
        let groupCount = groups?.count ?? 0
        var offsets = [Float](repeating: 0, count: groupCount)
        if let groups {
            let m = groups.means(labels, weights: weights), shares = groups.shares(weights: weights)
            let centre = zip(m, shares).reduce(Float(0)) { $0 + $1.1 * Float(logit(Double($1.0))) }
            for g in 0..<groupCount { offsets[g] = Float(logit(Double(m[g]))) - centre }
        }
        var offsetOpt = Adam(count: groupCount, lr: Float(hp["lr"] ?? 3e-3), weightDecay: 0)
        var offsetGrads = [Float](repeating: 0, count: groupCount)
        var order = Array(0..<comps.count)
        for epoch in 0..<epochs {
            order.shuffle(using: &rng)
            var loss: Float = 0
            var start = 0
            while start < order.count {
                let end = min(order.count, start + batch)
                for i in 0..<count { grads[i] = 0 }
                for i in 0..<groupCount { offsetGrads[i] = 0 }
                var wsum: Float = 0
                p.withUnsafeMutableBufferPointer { P in
                    grads.withUnsafeMutableBufferPointer { G in
                        for ci in order[start..<end] {
                            let (ex, a, b, y, wt) = comps[ci]
                            let group = a == 0 && b == 1 ? groups?.index[ex] : nil
                            embeddings[ex].withUnsafeBufferPointer { E in
                                var z: Float = group.map { offsets[$0] } ?? 0
                                for r in 0..<d {
                                    hvec[r] = dot(UnsafeBufferPointer(rebasing: P[(oW + r * D)..<(oW + (r + 1) * D)]), E, D) + P[oB + r]
                                    z += P[oH + r] * (P[oV + a * d + r] - P[oV + b * d + r]) * hvec[r]
                                }
                                let prob = sigmoidF(z)
                                let g = (prob - y) * wt
                                loss -= wt * (y * logf(max(prob, 1e-7)) + (1 - y) * logf(max(1 - prob, 1e-7)))
                                if let group { offsetGrads[group] += g }
                                for r in 0..<d {
                                    let diff = P[oV + a * d + r] - P[oV + b * d + r]
                                    G[oH + r] += g * diff * hvec[r]
                                    G[oV + a * d + r] += g * P[oH + r] * hvec[r]
                                    G[oV + b * d + r] -= g * P[oH + r] * hvec[r]
                                    let u = g * P[oH + r] * diff
                                    G[oB + r] += u
                                    let row = oW + r * D
                                    for c in 0..<D { G[row + c] += u * E[c] }
                                }
                                wsum += wt
                            }
                        }
                    }
                }
                let inv = 1 / max(wsum, 1e-9)
                for i in 0..<count { grads[i] *= inv }
                opt.step(params: &p, grads: grads, decayMask: mask)
                if groupCount > 0 {
                    for i in 0..<groupCount { offsetGrads[i] *= inv }
                    offsetOpt.step(params: &offsets, grads: offsetGrads, decayMask: [Bool](repeating: false, count: groupCount))
                }
                start = end
            }
            progress?(RoutingProgress(phase: "train", completed: epoch + 1, total: epochs,
                                      detail: String(format: "loss %.4f", loss / Float(max(comps.count, 1)))))
        }
        var tensors = ["projection": StoredTensor(Array(p[oW..<oB]), shape: [d, D]),
                       "projection_bias": StoredTensor(Array(p[oB..<oV])),
                       "model_embeddings": StoredTensor(Array(p[oV..<oH]), shape: [M, d]),
                       "head": StoredTensor(Array(p[oH..<count]))]
        if let groups {
            let shares = groups.shares(weights: weights)
            tensors["pair_bias"] = StoredTensor([(0..<groupCount).reduce(Float(0)) { $0 + shares[$1] * offsets[$1] }])
        }
        return RouterFile(kind: .mf, strongModel: data.strongModel, weakModel: data.weakModel, hyperparameters: hp,
                          tensors: tensors, names: ["models": models])
    }
}
