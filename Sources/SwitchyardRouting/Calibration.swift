import Foundation

/// RouteLLM-style threshold calibration: choose the threshold that sends a requested share of a
/// representative prompt set to the strong model.
public enum Calibration {
    /// The threshold `t` such that routing `score >= t` sends as close as possible to
    /// `strongShare` of `scores` to the strong model (never more, unless ties force it; ties are
    /// kept together because the gateway cannot split equal scores).
    ///
    /// - Returns: a threshold in [0, 1]; `strongShare <= 0` gives a threshold just above the maximum
    ///   score (nothing strong), `>= 1` gives the minimum score (everything strong).
    public static func threshold(scores: [Double], strongShare: Double) -> Double {
        guard !scores.isEmpty else { return 0.5 }
        let sorted = scores.sorted(by: >)
        let n = sorted.count
        if strongShare <= 0 { return sorted[0].nextUp }
        if strongShare >= 1 { return sorted[n - 1] }
        let target = Int((strongShare * Double(n)).rounded())
        if target == 0 { return sorted[0].nextUp }
        // Candidate: the target-th highest score. With ties straddling the cut, compare the two
        // achievable shares (include the tie group vs exclude it) and keep the closer.
        let t = sorted[target - 1]
        let atOrAbove = sorted.prefix { $0 >= t }.count
        let above = sorted.prefix { $0 > t }.count
        if atOrAbove == target || above == 0 { return t }
        let overshoot = atOrAbove - target, undershoot = target - above
        return undershoot <= overshoot ? (sorted[above - 1] + t) / 2 : t
    }

    /// The share of `scores` that `threshold` sends to the strong model.
    public static func strongShare(scores: [Double], threshold: Double) -> Double {
        scores.isEmpty ? 0 : Double(scores.filter { $0 >= threshold }.count) / Double(scores.count)
    }
}
