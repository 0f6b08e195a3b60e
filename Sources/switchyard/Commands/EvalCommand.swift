import ArgumentParser
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

/// `switchyard eval`: scores a labelled set with a router and reports the RouteLLM metrics.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a router on labelled prompts: APGR, CPT(50%), CPT(80%) and the cost–quality curve.",
        discussion: """
        Scores every prompt scored for both models, then sweeps thresholds at the 11 deciles of the scores \
        (strong when score >= threshold; at the last, score > threshold), as in RouteLLM (arXiv 2406.18665). \
        Reported per point: share of strong calls, mean quality, performance gap recovered (PGR) and cost \
        saved versus sending everything to the strong model.

        APGR is the area under the PGR curve (random routing = 0.5, higher is better). CPT(x%) is the share \
        of strong calls needed to recover x% of the quality gap (lower is better).

        Cost: with --price for both models, a prompt costs in×⌈bytes/4⌉ + out×--output-tokens (USD per million \
        tokens); without prices a strong call costs 1 and a weak call 0.

        Example:
          switchyard eval --router router.bin --data gsm8k.jsonl --strong gpt-4-1106-preview \\
            --weak Mixtral-8x7B-Instruct-v0.1 --price gpt-4-1106-preview=10/30 \\
            --price Mixtral-8x7B-Instruct-v0.1=0.6/0.6 --plot curve.svg
        """)

    @Option(name: .customLong("router"), help: ArgumentHelp("Router file written by `switchyard train`.", valueName: "file"))
    var routerPath: String

    @Option(name: .customLong("data"), parsing: .singleValue, help: ArgumentHelp("Routing jsonl file to evaluate on (repeatable).", valueName: "file"))
    var data: [String]

    @Option(help: ArgumentHelp("Strong model name (default: the router file's).", valueName: "model"))
    var strong: String?

    @Option(help: ArgumentHelp("Weak model name (default: the router file's).", valueName: "model"))
    var weak: String?

    @Option(name: .customLong("price"), parsing: .singleValue, help: ArgumentHelp(
        "Price of a model in USD per million tokens as MODEL=IN/OUT, e.g. gpt-4-1106-preview=10/30 (repeatable).",
        valueName: "model=in/out"))
    var prices: [String] = []

    @Option(name: .customLong("output-tokens"), help: "Assumed answer length in tokens for priced costs.")
    var outputTokens = 256

    @Option(name: .customLong("scores-out"), help: ArgumentHelp("Write one {\"id\":…,\"score\":…} line per prompt here.", valueName: "file"))
    var scoresOut: String?

    @Option(name: .customLong("plot"), help: ArgumentHelp("Write an SVG cost–quality curve (with random and oracle lines) here.", valueName: "file"))
    var plot: String?

    @Flag(help: "Print the evaluation as JSON instead of a table.")
    var json = false

    @OptionGroup var encoder: RoutingEncoderOptions

    func run() throws {
        let file = try RouterFile.load(from: URL(fileURLWithPath: routerPath))
        let strongModel = strong ?? file.strongModel, weakModel = weak ?? file.weakModel
        guard !strongModel.isEmpty, !weakModel.isEmpty else { throw ValidationError("pass --strong and --weak (the router file names none)") }
        var priceTable: [String: ModelPrice] = [:]
        for p in prices {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let price = ModelPrice(parsing: parts[1]) else { throw ValidationError("--price expects MODEL=IN/OUT, got '\(p)'") }
            priceTable[parts[0]] = price
        }
        let dataset = try RoutingDataset.load(files: data.map { URL(fileURLWithPath: $0) }, strong: strongModel, weak: weakModel)
        guard dataset.count > 0 else { throw ValidationError("no rows scored for both \(strongModel) and \(weakModel)") }
        let embedder = try encoder.makeEmbedder()
        let router = try makeRouter(from: file, embedder: embedder)
        let scores = try router.scores(prompts: dataset.prompts, progress: encoder.progressBar("eval"))
        encoder.saveCache(embedder)
        let cost = priceTable.isEmpty ? nil : CostModel(strongPrice: priceTable[strongModel], weakPrice: priceTable[weakModel], outputTokens: outputTokens)
        let eval = RoutingMetrics.evaluate(scores: scores, on: dataset, cost: cost)

        if let path = scoresOut {
            var lines = ""
            for (e, s) in zip(dataset.examples, scores) {
                let obj: [String: Any] = ["id": e.id, "score": s]
                let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                lines += String(decoding: d, as: UTF8.self) + "\n"
            }
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
        }
        if let path = plot {
            let title = "\(file.kind.rawValue) router on \(data.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }.joined(separator: "+"))"
            try CostQualityPlot.svg(eval, title: title).write(toFile: path, atomically: true, encoding: .utf8)
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(eval), as: UTF8.self))
            return
        }
        print("router: \(routerPath) (\(file.kind.rawValue)); \(dataset.count) prompts; strong \(strongModel), weak \(weakModel)")
        print(String(format: "quality: strong %.4f, weak %.4f, oracle %.4f (%.1f%% strong)", eval.strongQuality, eval.weakQuality,
                     eval.oracleQuality, eval.oracleStrongShare * 100))
        print("APGR \(routingFmt(eval.apgr))   CPT(50%) \(routingPct(eval.cpt50))   CPT(80%) \(routingPct(eval.cpt80))   (random: APGR 0.500, CPT 50.0% / 80.0%)")
        print("")
        print("threshold      strong   quality      PGR   cost/prompt   cost saved")
        for p in eval.curve {
            let costText = cost == nil ? String(format: "%11.3f", p.costPerPrompt) : String(format: "$%10.6f", p.costPerPrompt)
            let pgr = p.pgr.map { String(format: "%.3f", $0) } ?? "n/a"
            let head = String(format: "%9.5f   %6.1f%%   %7.4f  ", p.threshold, p.strongShare * 100, p.quality)
            print(head + String(repeating: " ", count: max(0, 7 - pgr.count)) + pgr + "   " + costText
                  + String(format: "   %9.1f%%", p.costSaved * 100))
        }
        if let t = file.threshold {
            let share = Calibration.strongShare(scores: scores, threshold: t)
            print(String(format: "\nstored threshold %.6f sends %.1f%% of these prompts to the strong model", t, share * 100))
        }
    }
}
