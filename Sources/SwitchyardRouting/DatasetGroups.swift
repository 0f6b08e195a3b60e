import Foundation

/// Which dataset each training example came from, for training with one intercept per dataset
/// (`dataset_effects`, see ``RouterTrainer``).
///
/// A router is used on prompts from sets it has never seen, so the only transferable signal is what
/// makes one prompt of a set need the strong model more than another prompt of the same set. How
/// often the strong model wins across a whole set depends on the set's grading (pairwise preference,
/// correctness, a judge's grade), not on anything a new set shares; a per-dataset intercept absorbs
/// that level during training and is then replaced by the mean of all intercepts.
struct DatasetGroups: Sendable {
    /// Group index of each example.
    let index: [Int]
    let names: [String]

    /// Name of the group that pools the datasets with fewer than `minimumRows` examples.
    static let pooled = "(small sets)"

    /// - Parameter minimumRows: datasets with fewer examples share one intercept, so that rows
    ///   whose ids carry no set name (each its own "dataset") or a handful of tiny categories
    ///   do not each get an intercept that explains their labels away.
    init(_ data: RoutingDataset, minimumRows: Int = 30) {
        var counts: [String: Int] = [:]
        for e in data.examples { counts[e.dataset, default: 0] += 1 }
        let key: (String) -> String = { counts[$0, default: 0] >= minimumRows ? $0 : DatasetGroups.pooled }
        names = Array(Set(counts.keys.map(key))).sorted()
        let position = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        index = data.examples.map { position[key($0.dataset)]! }
    }

    var count: Int { names.count }

    /// Each group's share of the total example weight (what the inference intercept averages over).
    func shares(weights: [Float]) -> [Float] {
        var total = [Float](repeating: 0, count: count)
        for (g, w) in zip(index, weights) { total[g] += w }
        let sum = max(total.reduce(0, +), 1e-12)
        return total.map { $0 / sum }
    }

    /// Weighted mean label of each group.
    func means(_ labels: [Float], weights: [Float]) -> [Float] {
        var num = [Float](repeating: 0, count: count), den = [Float](repeating: 0, count: count)
        for i in index.indices {
            num[index[i]] += labels[i] * weights[i]
            den[index[i]] += weights[i]
        }
        return zip(num, den).map { $1 > 0 ? $0 / $1 : 0.5 }
    }

    /// Labels shifted so that every group has the same mean, y − mean(group), then mapped by one
    /// affine map for all groups onto [0, 1] (so labels stay probabilities; the order inside a group
    /// and the equality of the group means are kept). Used by kNN, which averages labels.
    func centred(_ labels: [Float], weights: [Float]) -> [Float] {
        let m = means(labels, weights: weights)
        guard let lowest = m.min(), let highest = m.max() else { return labels }
        // y − m[g] lies in [−highest, 1 − lowest] over all groups.
        let lo = -highest, span = 1 - lowest - lo
        return labels.indices.map { i in (labels[i] - m[index[i]] - lo) / span }
    }
}
