import ArgumentParser
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

/// `switchyard calibrate`: picks the threshold that sends a requested share of traffic to the strong model.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Find the router threshold that sends a given share of prompts to the strong model.",
        discussion: """
        Scores a representative prompt set (routing jsonl with "prompt"/"turns", or plain text with one prompt \
        per line) and prints the threshold t such that routing score >= t sends as close as possible to \
        --strong-share of them to the strong model (RouteLLM's calibration). Prompts with equal scores are \
        never split. With --write the threshold is stored in the router file, which the gateway then uses.

        Example:
          switchyard calibrate --router router.bin --prompts traffic.jsonl --strong-share 0.3 --write
        """)

    @Option(name: .customLong("router"), help: ArgumentHelp("Router file written by `switchyard train`.", valueName: "file"))
    var routerPath: String

    @Option(help: ArgumentHelp("Prompts representative of production traffic (jsonl or one per line).", valueName: "file"))
    var prompts: String

    @Option(name: .customLong("strong-share"), help: ArgumentHelp("Desired fraction of prompts routed to the strong model, 0…1.", valueName: "share"))
    var strongShare: Double

    @Flag(help: "Store the threshold (and the share) in the router file.")
    var write = false

    @OptionGroup var encoder: RoutingEncoderOptions

    func validate() throws {
        guard (0...1).contains(strongShare) else { throw ValidationError("--strong-share must be in 0…1") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: routerPath)
        var file = try RouterFile.load(from: url)
        let texts = try routingReadPrompts(prompts)
        guard !texts.isEmpty else { throw ValidationError("no prompts in \(prompts)") }
        let embedder = try encoder.makeEmbedder()
        let router = try makeRouter(from: file, embedder: embedder)
        let scores = try router.scores(prompts: texts, progress: encoder.progressBar("calibrate"))
        encoder.saveCache(embedder)
        let t = Calibration.threshold(scores: scores, strongShare: strongShare)
        let achieved = Calibration.strongShare(scores: scores, threshold: t)
        print(String(format: "%.8f", t))
        FileHandle.standardError.write(Data(String(format: "threshold %.8f sends %.1f%% of %d prompts to the strong model (requested %.1f%%)\n",
                                                   t, achieved * 100, texts.count, strongShare * 100).utf8))
        if write {
            file.threshold = t
            file.calibratedStrongShare = strongShare
            file.calibrationSet = URL(fileURLWithPath: prompts).lastPathComponent
            try file.write(to: url)
            FileHandle.standardError.write(Data("stored in \(routerPath)\n".utf8))
        }
    }
}
