import ArgumentParser
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

/// `switchyard crossval`: held-out APGR / CPT per dataset for one or more router kinds.
struct CrossValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossval",
        abstract: "Cross-validate router kinds on labelled prompts and print held-out APGR / CPT per dataset.",
        discussion: """
        Schemes: 'category' holds out whole categories (e.g. MMLU subjects; a dataset with fewer categories than \
        folds, like GSM8K, is split by prompt), 'dataset' trains on all other datasets and tests on the held-out \
        one, 'random' uses random folds. Scores of all held-out folds are pooled and evaluated per dataset.

        Example:
          switchyard crossval --router knn,classifier,ensemble --scheme category \\
            --data mmlu.jsonl --data gsm8k.jsonl --data alpaca.jsonl \\
            --strong gpt-4-1106-preview --weak Mixtral-8x7B-Instruct-v0.1 --markdown
        """)

    @Option(name: .customLong("router"), help: ArgumentHelp("Comma-separated router kinds.", valueName: "kinds"))
    var kinds: String

    @Option(name: .customLong("data"), parsing: .singleValue, help: ArgumentHelp("Routing jsonl file (repeatable).", valueName: "file"))
    var data: [String]

    @Option(help: ArgumentHelp("Strong model name.", valueName: "model"))
    var strong: String

    @Option(help: ArgumentHelp("Weak model name.", valueName: "model"))
    var weak: String

    @Option(help: "Hold-out scheme: category, dataset or random.")
    var scheme: String = "category"

    @Option(help: "Number of folds (category and random schemes).")
    var folds = 5

    @Option(help: "Seed for fold assignment and training.")
    var seed: UInt64 = 0

    @Option(name: .customLong("set"), parsing: .singleValue, help: ArgumentHelp("Override a hyperparameter (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Print a Markdown table.")
    var markdown = false

    @OptionGroup var encoder: RoutingEncoderOptions

    func run() throws {
        guard let cv = CrossValidationScheme(rawValue: scheme) else { throw ValidationError("unknown scheme \(scheme)") }
        let kindList = try kinds.split(separator: ",").map { s -> RouterKind in
            guard let k = RouterKind(rawValue: String(s)) else { throw ValidationError(RoutingError.unknownKind(String(s)).description) }
            return k
        }
        let dataset = try RoutingDataset.load(files: data.map { URL(fileURLWithPath: $0) }, strong: strong, weak: weak)
        var embeddings: [[Float]]? = nil
        if kindList.contains(where: \.needsEmbedder) {
            let embedder = try encoder.makeEmbedder()
            embeddings = try embedAll(dataset.prompts, with: embedder, progress: encoder.progressBar("crossval"))
            encoder.saveCache(embedder)
        }
        let options = TrainingOptions(seed: seed, hyperparameters: try routingParseHyperparameters(overrides))
        let names = dataset.datasets
        if markdown {
            print("| router | " + names.map { "\($0) APGR | \($0) CPT(50%)" }.joined(separator: " | ") + " |")
            print("|---|" + names.map { _ in "---:|---:" }.joined(separator: "|") + "|")
        }
        for kind in kindList {
            let scores = try CrossValidation.outOfFoldScores(kind: kind, data: dataset, embeddings: embeddings, scheme: cv, k: folds,
                                                             options: options, progress: encoder.progressBar("crossval \(kind.rawValue)"))
            let per = CrossValidation.evaluatePerDataset(scores: scores, data: dataset)
            if markdown {
                print("| \(kind.rawValue) | " + names.map { "\(routingFmt(per[$0]?.apgr)) | \(routingPct(per[$0]?.cpt50))" }.joined(separator: " | ") + " |")
            } else {
                for n in names {
                    let e = per[n]!
                    print("\(kind.rawValue)\t\(n)\tAPGR \(routingFmt(e.apgr))\tCPT50 \(routingPct(e.cpt50))\tCPT80 \(routingPct(e.cpt80))\tn=\(e.count)")
                }
            }
        }
    }
}
