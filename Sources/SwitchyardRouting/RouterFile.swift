import Foundation
import SwitchyardEmbeddings

/// The router families this module can train and load.
public enum RouterKind: String, CaseIterable, Codable, Sendable {
    /// Uniform pseudo-random score per prompt, from a seed (the 0.5-APGR baseline).
    case random
    /// Transparent logistic model over ``LexicalFeatures`` (length, numbers, math, code, reasoning).
    case heuristic
    /// Similarity-weighted vote of the k nearest labelled prompts (cosine on embeddings).
    case knn
    /// RouteLLM matrix factorisation: σ(wᵀ((v_strong − v_weak) ⊙ (W e + b))).
    case mf
    /// Logistic regression or one-hidden-layer MLP on [embedding, lexical features].
    case classifier
    /// Weighted mean of member routers' scores.
    case ensemble

    public var needsEmbedder: Bool { self != .random && self != .heuristic }

    public var summary: String {
        switch self {
        case .random: return "seeded uniform random score (baseline, APGR ≈ 0.5)"
        case .heuristic: return "logistic model over transparent lexical features (no embedder)"
        case .knn: return "similarity-weighted vote of the k nearest labelled prompts"
        case .mf: return "RouteLLM-style matrix factorisation over prompt and model embeddings"
        case .classifier: return "logistic regression / small MLP on embedding + lexical features"
        case .ensemble: return "weighted mean of classifier, kNN and heuristic routers"
        }
    }
}

/// A named array of numbers stored in a router file.
///
/// `f32`: little-endian Float32, base64. `i8`: one Int8 per value with a Float32 scale per row
/// (symmetric per-row quantisation, used for kNN's stored embeddings to keep files small).
public struct StoredTensor: Codable, Sendable, Equatable {
    public var shape: [Int]
    public var encoding: String
    public var data: String
    public var rowScales: [Float]?

    public init(_ values: [Float], shape: [Int]? = nil) {
        self.shape = shape ?? [values.count]
        encoding = "f32"
        var le = values.map { $0.bitPattern.littleEndian }
        data = Data(bytes: &le, count: le.count * 4).base64EncodedString()
        rowScales = nil
    }

    /// Per-row symmetric Int8 quantisation of a `rows × cols` matrix.
    public init(quantizing rows: [[Float]]) {
        let cols = rows.first?.count ?? 0
        shape = [rows.count, cols]
        encoding = "i8"
        var bytes = [UInt8]()
        bytes.reserveCapacity(rows.count * cols)
        var scales = [Float]()
        for r in rows {
            let m = r.map(abs).max() ?? 0
            let s = m > 0 ? m / 127 : 1
            scales.append(s)
            for v in r { bytes.append(UInt8(bitPattern: Int8(max(-127, min(127, (v / s).rounded()))))) }
        }
        data = Data(bytes).base64EncodedString()
        rowScales = scales
    }

    public var count: Int { shape.reduce(1, *) }

    public func floats() throws -> [Float] {
        guard let raw = Data(base64Encoded: data) else { throw RoutingError.invalidRouterFile("bad base64 in tensor") }
        switch encoding {
        case "f32":
            guard raw.count == count * 4 else { throw RoutingError.invalidRouterFile("tensor size \(raw.count) ≠ 4×\(count)") }
            return raw.withUnsafeBytes { buf in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
        case "i8":
            guard raw.count == count, shape.count == 2, let scales = rowScales, scales.count == shape[0] else {
                throw RoutingError.invalidRouterFile("malformed i8 tensor")
            }
            let cols = shape[1]
            return raw.enumerated().map { i, b in Float(Int8(bitPattern: b)) * scales[i / max(cols, 1)] }
        default:
            throw RoutingError.invalidRouterFile("unknown tensor encoding \(encoding)")
        }
    }

    public func matrix() throws -> [[Float]] {
        let flat = try floats()
        guard shape.count == 2 else { throw RoutingError.invalidRouterFile("expected a matrix, got shape \(shape)") }
        let cols = shape[1]
        return (0..<shape[0]).map { Array(flat[($0 * cols)..<(($0 + 1) * cols)]) }
    }
}

/// Where a router came from (informational).
public struct TrainingProvenance: Codable, Sendable, Equatable {
    public var files: [String]
    public var rows: Int
    public var trainedAt: String
    public var command: String?
    public init(files: [String], rows: Int, trainedAt: String = ISO8601DateFormatter().string(from: Date()), command: String? = nil) {
        self.files = files
        self.rows = rows
        self.trainedAt = trainedAt
        self.command = command
    }
}

/// A trained router on disk: versioned JSON with kind, model pair, hyperparameters, weights and the
/// calibrated threshold. The gateway loads it with ``loadRouter(from:embedder:)``.
public struct RouterFile: Codable, Sendable, Equatable {
    public static let currentVersion = 1
    public static let formatName = "switchyard-router"

    public var format: String
    public var version: Int
    public var kind: RouterKind
    public var strongModel: String
    public var weakModel: String
    /// Name and dimension of the prompt encoder the weights expect (nil for text-only routers).
    public var embeddingModel: String?
    public var embeddingDimension: Int?
    public var hyperparameters: [String: Double]
    public var tensors: [String: StoredTensor]
    /// Extra string lists (model names for MF).
    public var names: [String: [String]]
    /// Route to the strong model when `score >= threshold`.
    public var threshold: Double?
    /// The strong-call share the threshold was calibrated for, and on what prompt set.
    public var calibratedStrongShare: Double?
    public var calibrationSet: String?
    /// Ensemble members and their weights.
    public var members: [RouterFile]?
    public var memberWeights: [Double]?
    public var provenance: TrainingProvenance?

    public init(kind: RouterKind, strongModel: String, weakModel: String, embeddingModel: String? = nil,
                embeddingDimension: Int? = nil, hyperparameters: [String: Double] = [:],
                tensors: [String: StoredTensor] = [:], names: [String: [String]] = [:], threshold: Double? = nil,
                members: [RouterFile]? = nil, memberWeights: [Double]? = nil) {
        format = RouterFile.formatName
        version = RouterFile.currentVersion
        self.kind = kind
        self.strongModel = strongModel
        self.weakModel = weakModel
        self.embeddingModel = embeddingModel
        self.embeddingDimension = embeddingDimension
        self.hyperparameters = hyperparameters
        self.tensors = tensors
        self.names = names
        self.threshold = threshold
        self.members = members
        self.memberWeights = memberWeights
    }

    public func tensor(_ name: String) throws -> StoredTensor {
        guard let t = tensors[name] else { throw RoutingError.invalidRouterFile("\(kind.rawValue) router lacks tensor '\(name)'") }
        return t
    }

    public func hyper(_ name: String, default value: Double) -> Double { hyperparameters[name] ?? value }

    public func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return try enc.encode(self)
    }

    public static func decode(_ data: Data) throws -> RouterFile {
        struct Header: Decodable { var format: String?; var version: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data), header.format == formatName else {
            throw RoutingError.invalidRouterFile("not a \(formatName) file")
        }
        guard let v = header.version, v <= currentVersion, v >= 1 else {
            throw RoutingError.unsupportedVersion(header.version ?? -1)
        }
        do { return try JSONDecoder().decode(RouterFile.self, from: data) } catch let e as DecodingError {
            throw RoutingError.invalidRouterFile("\(e)")
        }
    }

    public static func load(from url: URL) throws -> RouterFile { try decode(Data(contentsOf: url)) }

    public func write(to url: URL) throws { try encoded().write(to: url, options: .atomic) }
}

/// Loads a router file and builds the router. `embedder` is used by the embedding-based kinds (it must
/// produce vectors of the dimension the file records); random and heuristic routers ignore it.
public func loadRouter(from url: URL, embedder: any TextEmbedder) throws -> any QualityRouter {
    try makeRouter(from: RouterFile.load(from: url), embedder: embedder)
}

/// Builds the router described by an in-memory file.
public func makeRouter(from file: RouterFile, embedder: (any TextEmbedder)?) throws -> any QualityRouter {
    if file.kind.needsEmbedder {
        guard let embedder else { throw RoutingError.invalidRouterFile("\(file.kind.rawValue) router needs a text embedder") }
        if let d = file.embeddingDimension, d != embedder.dimension {
            throw RoutingError.invalidRouterFile("router expects \(d)-dimensional embeddings, embedder gives \(embedder.dimension)")
        }
        return try makeEmbeddingRouter(from: file, embedder: embedder)
    }
    switch file.kind {
    case .random: return RandomRouter(file: file)
    case .heuristic: return try HeuristicRouter(file: file)
    default: throw RoutingError.unknownKind(file.kind.rawValue)
    }
}

func makeEmbeddingRouter(from file: RouterFile, embedder: any TextEmbedder) throws -> any EmbeddingRouter {
    switch file.kind {
    case .knn: return try KNNRouter(file: file, embedder: embedder)
    case .mf: return try MFRouter(file: file, embedder: embedder)
    case .classifier: return try ClassifierRouter(file: file, embedder: embedder)
    case .ensemble: return try EnsembleRouter(file: file, embedder: embedder)
    case .random, .heuristic: return AnyTextRouterAdapter(inner: try makeRouter(from: file, embedder: nil), embedder: embedder)
    }
}

/// Lets a text-only router sit inside an ensemble (it ignores the embedding).
struct AnyTextRouterAdapter: EmbeddingRouter {
    let inner: any QualityRouter
    let embedder: any TextEmbedder
    func score(prompt: String, embedding: [Float]) -> Double { (try? inner.score(prompt: prompt)) ?? 0.5 }
}
