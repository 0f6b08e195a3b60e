import Foundation
import SwitchyardEmbeddings
import Testing
@testable import SwitchyardRouting

@Suite("Router files, dataset loading and the train → calibrate → eval pipeline")
struct RouterFileAndPipelineTests {
    func tempURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-routing-\(UUID().uuidString)-\(name)")
    }

    @Test("router file round trip gives identical scores", arguments: RouterKind.allCases)
    func roundTrip(kind: RouterKind) throws {
        let data = Synthetic.topicTask(count: 80, seed: 11)
        let embedder = BagOfWordsEmbedder()
        var file = try RouterTrainer.train(kind: kind, data: data, embeddings: try embedder.embed(batch: data.prompts),
                                           options: TrainingOptions(seed: 3, hyperparameters: ["epochs": 3]))
        file.threshold = 0.42
        let url = tempURL("r.router")
        defer { try? FileManager.default.removeItem(at: url) }
        try file.write(to: url)
        let reloaded = try RouterFile.load(from: url)
        #expect(reloaded == file)
        #expect(reloaded.kind == kind && reloaded.strongModel == Synthetic.strong && reloaded.weakModel == Synthetic.weak)
        #expect(reloaded.threshold == 0.42)
        let a = try makeRouter(from: file, embedder: embedder)
        let b = try loadRouter(from: url, embedder: embedder)
        let probe = Synthetic.topicTask(count: 20, seed: 12).prompts
        #expect(try a.scores(prompts: probe) == b.scores(prompts: probe))
    }

    @Test func rejectsForeignAndFutureFiles() throws {
        #expect(throws: RoutingError.self) { try RouterFile.decode(Data("{\"hello\":1}".utf8)) }
        var file = RouterFile(kind: .random, strongModel: "s", weakModel: "w")
        file.version = RouterFile.currentVersion + 1
        let data = try file.encoded()
        #expect(throws: RoutingError.unsupportedVersion(RouterFile.currentVersion + 1)) { try RouterFile.decode(data) }
    }

    @Test func rejectsWrongEmbeddingDimension() throws {
        let data = Synthetic.topicTask(count: 20, seed: 1)
        let e = BagOfWordsEmbedder(dimension: 16)
        let file = try RouterTrainer.train(kind: .classifier, data: data, embeddings: try e.embed(batch: data.prompts),
                                           options: TrainingOptions(hyperparameters: ["epochs": 1]))
        #expect(throws: RoutingError.self) { _ = try makeRouter(from: file, embedder: BagOfWordsEmbedder(dimension: 32)) }
    }

    @Test func storedTensorQuantisationIsClose() throws {
        let rows: [[Float]] = [[0.5, -0.25, 0.125], [0, 0, 0], [1, 2, -3]]
        let back = try StoredTensor(quantizing: rows).matrix()
        for (r, b) in zip(rows, back) { for (x, y) in zip(r, b) { #expect(abs(x - y) <= (r.map(abs).max() ?? 0) / 127 + 1e-6) } }
        #expect(try StoredTensor([1.5, -2, 3e-8]).floats() == [1.5, -2, 3e-8])
    }

    @Test func datasetLoaderHandlesScalesAndMissingModels() throws {
        let jsonl = """
        {"id": "mt-bench/1", "turns": ["Write a sonnet.", "Now in French."], "category": "mt-bench/writing", "scores": {"S": 9, "W": 6, "X": 3}}
        {"id": "mt-bench/2", "prompt": "Prove it.", "category": "mt-bench/math", "scores": {"S": 4, "W": 8}}
        {"id": "mt-bench/3", "prompt": "only one", "scores": {"S": 4}}
        """
        let d = try RoutingDataset.parse(jsonl: jsonl, strong: "S", weak: "W")
        #expect(d.count == 2 && d.skipped == 1)
        #expect(d.scale == .graded)
        #expect(d.examples[0].prompt == "Write a sonnet.\n\nNow in French.")
        #expect(abs(d.examples[0].label - (0.5 + 0.5 * 3 / 9)) < 1e-12)
        #expect(abs(d.examples[1].label - (0.5 - 0.5 * 4 / 9)) < 1e-12)
        #expect(d.examples[0].dataset == "mt-bench")
        #expect(d.allScores[0]["X"] == 3)

        let pairwise = try RoutingDataset.parse(jsonl: """
        {"id": "a/1", "prompt": "x", "scores": {"S": 1, "W": 0}}
        {"id": "a/2", "prompt": "y", "scores": {"S": 0.5, "W": 0.5}}
        """, strong: "S", weak: "W")
        #expect(pairwise.scale == .pairwise)
        #expect(pairwise.examples.map(\.label) == [1, 0.5])

        let binary = try RoutingDataset.parse(jsonl: """
        {"id": "b/1", "prompt": "x", "scores": {"S": 1, "W": 1}}
        {"id": "b/2", "prompt": "line\\u2028sep", "scores": {"S": 0, "W": 1}}
        """, strong: "S", weak: "W")
        #expect(binary.scale == .binary)
        #expect(binary.examples.map(\.label) == [0.5, 0])
        #expect(throws: RoutingError.self) { try RoutingDataset.parse(jsonl: "{not json", strong: "S", weak: "W") }
    }

    @Test func crossValidationFoldsHoldOutWholeCategories() {
        var rows: [(String, Double, Double)] = []
        for i in 0..<60 { rows.append(("p\(i)", 1, 0)) }
        let d0 = Synthetic.dataset(rows, shuffleLabels: false, seed: 0)
        // Rewrite categories: 10 categories of "bench", plus a single-category dataset "solo".
        let ex = d0.examples.enumerated().map { i, e in
            var e = e
            if i < 50 { e.category = "bench/c\(i % 10)"; e.dataset = "bench" } else { e.category = "solo"; e.dataset = "solo" }
            return e
        }
        let d = RoutingDataset(strongModel: "s", weakModel: "w", examples: ex, scale: .binary)
        let folds = CrossValidation.folds(for: d, scheme: .category, k: 5)
        var foldOfCategory: [String: Set<Int>] = [:]
        for (e, f) in zip(d.examples, folds) where e.dataset == "bench" { foldOfCategory[e.category, default: []].insert(f) }
        #expect(foldOfCategory.values.allSatisfy { $0.count == 1 })
        #expect(Set(folds).count == 5)
        let lodo = CrossValidation.folds(for: d, scheme: .dataset)
        #expect(Set(lodo) == [0, 1])
    }

    /// End to end on a small jsonl file: load → embed → train → write → calibrate → load → eval →
    /// scores file and SVG, through the same public API the CLI uses.
    @Test func evalEndToEndOnSmallFile() throws {
        let train = Synthetic.topicTask(count: 160, seed: 21), test = Synthetic.topicTask(count: 60, seed: 22)
        var jsonl = ""
        for e in test.examples {
            let obj: [String: Any] = ["id": e.id, "prompt": e.prompt, "category": e.category,
                                      "scores": [Synthetic.strong: e.strongScore, Synthetic.weak: e.weakScore]]
            jsonl += String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self) + "\n"
        }
        let dataURL = tempURL("tiny.jsonl"), routerURL = tempURL("tiny.router"), cacheURL = tempURL("cache.bin")
        defer { for u in [dataURL, routerURL, cacheURL] { try? FileManager.default.removeItem(at: u) } }
        try jsonl.write(to: dataURL, atomically: true, encoding: .utf8)

        let embedder = CachingEmbedder(base: BagOfWordsEmbedder())
        let progressCount = Counter()
        var file = try RouterTrainer.train(kind: .ensemble, data: train,
                                           embeddings: try embedAll(train.prompts, with: embedder, progress: { _ in progressCount.add() }),
                                           options: TrainingOptions(seed: 1, progress: { _ in progressCount.add() }))
        #expect(progressCount.value > 0)
        let trainScores = try makeRouter(from: file, embedder: embedder).scores(prompts: train.prompts)
        file.threshold = Calibration.threshold(scores: trainScores, strongShare: 0.5)
        try file.write(to: routerURL)
        try embedder.save(to: cacheURL)

        // A fresh process would only have the files: cache-only embedder, router file, data file.
        let cacheOnly = CachingEmbedder(base: BagOfWordsEmbedder())
        try cacheOnly.load(from: cacheURL)
        #expect(cacheOnly.count == embedder.count)
        let router = try loadRouter(from: routerURL, embedder: cacheOnly)
        let data = try RoutingDataset.load(contentsOf: dataURL, strong: Synthetic.strong, weak: Synthetic.weak)
        #expect(data.count == 60)
        let scores = try router.scores(prompts: data.prompts)
        let eval = RoutingMetrics.evaluate(scores: scores, on: data)
        #expect(eval.curve.count == 11)
        #expect(eval.apgr! > 0.8)
        #expect(eval.cpt50! < 0.5)
        let share = Calibration.strongShare(scores: scores, threshold: try RouterFile.load(from: routerURL).threshold!)
        #expect(share > 0.3 && share < 0.7)
        let svg = CostQualityPlot.svg(eval, title: "tiny <test>")
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline") && svg.contains("tiny &lt;test&gt;"))
        let json = try JSONEncoder().encode(eval)
        #expect(try JSONDecoder().decode(RoutingEvaluation.self, from: json) == eval)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
