import ArgumentParser
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

/// `switchyard train`: fits a cost/quality router on labelled prompts and writes a router file.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a strong-vs-weak model router from labelled prompts.",
        discussion: """
        Reads routing jsonl files (one object per line with "prompt" and "scores": {model: quality}), keeps the \
        rows scored for both --strong and --weak, embeds the prompts with all-MiniLM-L6-v2 and fits the chosen \
        router. The result is a versioned JSON router file that `switchyard eval`, `switchyard calibrate` and \
        the gateway load.

        Router kinds:
        \(RouterKind.allCases.map { "  \($0.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n"))

        Training on several benchmarks (a row's benchmark is its category or id up to the first "/"): \
        balance=1 gives each the same total weight, and dataset_effects=1 gives each its own intercept while \
        training, dropped afterwards, so that the router learns what makes a prompt need the strong model more \
        than other prompts of its set, not which set it looks like (sets differ in how often the strong model \
        wins because of how they are graded, which a new set does not share).

        Hyperparameters can be overridden with --set key=value (ensemble members with member.key=value, e.g. \
        --set knn.k=32). Defaults:
        \(RouterKind.allCases.map { k in "  \(k.rawValue): " + RouterTrainer.defaultHyperparameters(for: k).sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%g", $0.value))" }.joined(separator: " ") }.joined(separator: "\n"))

        Example:
          switchyard train --router ensemble --data mmlu.jsonl --data gsm8k.jsonl \\
            --strong gpt-4-1106-preview --weak Mixtral-8x7B-Instruct-v0.1 --out router.bin --strong-share 0.5
        """)

    @Option(name: .customLong("router"), help: ArgumentHelp("Router kind: \(RouterKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: String

    @Option(name: .customLong("data"), parsing: .singleValue, help: ArgumentHelp("Routing jsonl file (repeatable).", valueName: "file"))
    var data: [String]

    @Option(help: ArgumentHelp("Name of the strong (expensive) model as it appears in \"scores\".", valueName: "model"))
    var strong: String

    @Option(help: ArgumentHelp("Name of the weak (cheap) model as it appears in \"scores\".", valueName: "model"))
    var weak: String

    @Option(help: ArgumentHelp("Where to write the router file.", valueName: "file"))
    var out: String

    @Option(help: "Seed for shuffling, initialisation and the random router.")
    var seed: UInt64 = 0

    @Option(name: .customLong("set"), parsing: .singleValue, help: ArgumentHelp("Override a hyperparameter (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .customLong("strong-share"), help: ArgumentHelp(
        "Also calibrate the stored threshold so this share of the training prompts goes to the strong model (0…1).",
        valueName: "share"))
    var strongShare: Double?

    @OptionGroup var encoder: RoutingEncoderOptions

    func validate() throws {
        guard RouterKind(rawValue: kind) != nil else { throw ValidationError(RoutingError.unknownKind(kind).description) }
        if let s = strongShare, !(0...1).contains(s) { throw ValidationError("--strong-share must be in 0…1") }
    }

    func run() throws {
        let kind = RouterKind(rawValue: kind)!
        let dataset = try RoutingDataset.load(files: data.map { URL(fileURLWithPath: $0) }, strong: strong, weak: weak)
        guard dataset.count > 0 else { throw ValidationError("no rows scored for both \(strong) and \(weak)") }
        FileHandle.standardError.write(Data("loaded \(dataset.count) prompts (\(dataset.skipped) skipped) from \(dataset.datasets.joined(separator: ", "))\n".utf8))
        let embedder = try encoder.makeEmbedder()
        var embeddings: [[Float]]? = nil
        if kind.needsEmbedder || strongShare != nil {
            if kind.needsEmbedder {
                embeddings = try embedAll(dataset.prompts, with: embedder, progress: encoder.progressBar("train"))
                encoder.saveCache(embedder)
            }
        }
        let options = TrainingOptions(seed: seed, hyperparameters: try routingParseHyperparameters(overrides),
                                      progress: encoder.progressBar("train \(kind.rawValue)"))
        var file = try RouterTrainer.train(kind: kind, data: dataset, embeddings: embeddings, options: options)
        file.provenance = TrainingProvenance(files: data.map { URL(fileURLWithPath: $0).lastPathComponent }, rows: dataset.count,
                                             command: CommandLine.arguments.joined(separator: " "))
        if let share = strongShare {
            let router = try makeRouter(from: file, embedder: embedder)
            let scores: [Double]
            if let er = router as? any EmbeddingRouter, let embeddings {
                scores = zip(dataset.prompts, embeddings).map { er.score(prompt: $0, embedding: $1) }
            } else {
                scores = try dataset.prompts.map { try router.score(prompt: $0) }
            }
            file.threshold = Calibration.threshold(scores: scores, strongShare: share)
            file.calibratedStrongShare = share
            file.calibrationSet = "training prompts"
        }
        try file.write(to: URL(fileURLWithPath: out))
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("wrote \(kind.rawValue) router to \(out) (\(size / 1024) KiB)\(file.threshold.map { String(format: ", threshold %.6f", $0) } ?? "")")
    }
}
