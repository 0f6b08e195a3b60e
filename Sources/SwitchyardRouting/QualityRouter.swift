import Foundation
import SwitchyardEmbeddings

/// A cost/quality router: for one prompt, its belief that the strong model is needed.
///
/// `score` is in `[0, 1]`; higher means "more likely that the strong model beats the weak one".
/// A gateway routes to the strong model when `score >= threshold`, where the threshold comes
/// from calibration (see ``Calibration``) or from the router file.
public protocol QualityRouter: Sendable {
    func score(prompt: String) throws -> Double
}

extension QualityRouter {
    /// Scores many prompts; trainable routers override the batch path through ``EmbeddingRouter``.
    public func scores(prompts: [String], progress: ProgressHandler? = nil) throws -> [Double] {
        if let router = self as? any EmbeddingRouter {
            return try router.batchScores(prompts: prompts, progress: progress)
        }
        var out: [Double] = []
        out.reserveCapacity(prompts.count)
        for (i, p) in prompts.enumerated() {
            out.append(try score(prompt: p))
            progress?(RoutingProgress(phase: "score", completed: i + 1, total: prompts.count))
        }
        return out
    }
}

/// A router whose decision is a function of (prompt text, prompt embedding). Lets batch scoring
/// embed prompts in batches and lets evaluation reuse precomputed embeddings.
public protocol EmbeddingRouter: QualityRouter {
    var embedder: any TextEmbedder { get }
    /// Score from an already computed, L2-normalised embedding.
    func score(prompt: String, embedding: [Float]) -> Double
}

extension EmbeddingRouter {
    public func score(prompt: String) throws -> Double {
        score(prompt: prompt, embedding: try embedder.embed(prompt))
    }

    public func batchScores(prompts: [String], progress: ProgressHandler? = nil) throws -> [Double] {
        let embeddings = try embedAll(prompts, with: embedder, progress: progress)
        return zip(prompts, embeddings).map { score(prompt: $0, embedding: $1) }
    }
}

/// Progress of a long run (embedding, training epochs, scoring).
public struct RoutingProgress: Sendable, Equatable {
    public var phase: String
    public var completed: Int
    public var total: Int
    /// Optional detail, e.g. the current training loss.
    public var detail: String?

    public init(phase: String, completed: Int, total: Int, detail: String? = nil) {
        self.phase = phase
        self.completed = completed
        self.total = total
        self.detail = detail
    }

    public var fraction: Double { total > 0 ? min(1, Double(completed) / Double(total)) : 1 }
}

/// Called from the working thread; keep it cheap (the CLI draws a progress bar on stderr).
public typealias ProgressHandler = @Sendable (RoutingProgress) -> Void

/// Embeds `texts` in batches of `batchSize`, reporting progress after each batch.
public func embedAll(
    _ texts: [String], with embedder: any TextEmbedder, batchSize: Int = 32,
    progress: ProgressHandler? = nil
) throws -> [[Float]] {
    var out: [[Float]] = []
    out.reserveCapacity(texts.count)
    var start = 0
    while start < texts.count {
        let end = min(texts.count, start + max(1, batchSize))
        out.append(contentsOf: try embedder.embed(batch: Array(texts[start..<end])))
        start = end
        progress?(RoutingProgress(phase: "embed", completed: end, total: texts.count))
    }
    return out
}

public enum RoutingError: Error, CustomStringConvertible, Equatable {
    case invalidData(String)
    case invalidRouterFile(String)
    case unsupportedVersion(Int)
    case unknownKind(String)
    case training(String)

    public var description: String {
        switch self {
        case .invalidData(let m): return "invalid routing data: \(m)"
        case .invalidRouterFile(let m): return "invalid router file: \(m)"
        case .unsupportedVersion(let v): return "unsupported router file version \(v) (this build reads up to \(RouterFile.currentVersion))"
        case .unknownKind(let k): return "unknown router kind '\(k)' (known: \(RouterKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .training(let m): return "training failed: \(m)"
        }
    }
}
