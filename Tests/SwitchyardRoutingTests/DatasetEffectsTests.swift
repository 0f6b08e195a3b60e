import Foundation
import SwitchyardEmbeddings
import Testing
@testable import SwitchyardRouting

/// Embeds prompts by looking them up (the synthetic sets below choose each vector).
struct TableEmbedder: TextEmbedder {
    let table: [String: [Float]]
    var dimension: Int { 2 }
    func embed(_ text: String) throws -> [Float] { table[text] ?? [0, 0] }
    func embed(batch texts: [String]) throws -> [[Float]] { try texts.map { try embed($0) } }
}

/// Two training sets whose level differs a lot (set "loud": the strong model wins 95 % of the time
/// far from the boundary; set "quiet": rarely) and is readable from embedding dimension 0, while
/// inside each set difficulty is dimension 1. The held-out set reverses dimension 0 (its hard prompts
/// look like "quiet" prompts), so a router that learned to recognise the set ranks it backwards and
/// one that learned difficulty ranks it right.
@Suite("Per-dataset intercepts keep routers from learning which set a prompt came from")
struct DatasetEffectsTests {
    static let strong = "big", weak = "small"

    static func sets() -> (train: RoutingDataset, test: RoutingDataset, embedder: TableEmbedder) {
        var rng = SeededGenerator(seed: 11)
        var table: [String: [Float]] = [:]
        var train = "", test = ""
        func line(_ id: String, _ category: String, _ prompt: String, _ s: Double, _ w: Double) -> String {
            "{\"id\":\"\(id)\",\"prompt\":\"\(prompt)\",\"category\":\"\(category)\",\"scores\":{\"big\":\(s),\"small\":\(w)}}\n"
        }
        for i in 0..<600 {
            let loud = i % 2 == 0
            let d = Float(rng.nextUnit() * 2 - 1)
            let prompt = "train prompt \(i)"
            table[prompt] = [loud ? 1 : -1, d]
            let p = 1 / (1 + exp(-Double(2 * d + (loud ? 4 : -4))))
            let strongWins = rng.nextUnit() < p
            train += line("\(loud ? "loud" : "quiet")/\(i)", loud ? "loud/all" : "quiet/all", prompt,
                          strongWins ? 1 : 0, strongWins ? 0 : 1)
        }
        for i in 0..<300 {
            let d = Float(rng.nextUnit() * 2 - 1)
            let prompt = "held-out prompt \(i)"
            table[prompt] = [-d, d]
            test += line("new/\(i)", "new/all", prompt, 1, d > 0 ? 0 : 1)
        }
        return (try! RoutingDataset.parse(jsonl: train, strong: strong, weak: weak),
                try! RoutingDataset.parse(jsonl: test, strong: strong, weak: weak), TableEmbedder(table: table))
    }

    static func heldOut(_ kind: RouterKind, effects: Double, extra: [String: Double] = [:]) throws -> Double {
        let (train, test, embedder) = sets()
        var hyper = extra
        hyper["dataset_effects"] = effects
        if kind == .classifier { hyper["lexical"] = 0 }
        let file = try RouterTrainer.train(kind: kind, data: train, embeddings: try embedder.embed(batch: train.prompts),
                                           options: TrainingOptions(seed: 3, hyperparameters: hyper))
        let router = try makeRouter(from: file, embedder: embedder)
        let scores = try router.scores(prompts: test.prompts)
        return RoutingMetrics.evaluate(scores: scores, on: test).apgr ?? .nan
    }

    /// Oracle APGR on the held-out set is 0.75 (half its prompts need the strong model).
    @Test("with dataset effects the router ranks a new set by difficulty; without, backwards",
          arguments: [("logistic", RouterKind.classifier, [String: Double]()),
                      ("mlp", RouterKind.classifier, ["hidden": 8, "epochs": 60]),
                      ("mf", RouterKind.mf, ["epochs": 40, "dim": 8])])
    func intercepts(name: String, kind: RouterKind, extra: [String: Double]) throws {
        let with = try Self.heldOut(kind, effects: 1, extra: extra)
        let without = try Self.heldOut(kind, effects: 0, extra: extra)
        #expect(with > 0.68, "\(name) with dataset effects: APGR \(with)")
        #expect(without < 0.45, "\(name) without dataset effects: APGR \(without)")
    }

    @Test func centredLabelsEqualiseGroupMeansAndKeepOrder() throws {
        let (train, _, _) = Self.sets()
        let groups = DatasetGroups(train)
        #expect(groups.names == ["loud", "quiet"])
        let labels = RouterTrainer.trainingLabels(train, mode: 0)
        let ones = [Float](repeating: 1, count: labels.count)
        let before = groups.means(labels, weights: ones)
        #expect(abs(before[0] - before[1]) > 0.5)
        let centred = groups.centred(labels, weights: ones)
        let after = groups.means(centred, weights: ones)
        #expect(abs(after[0] - after[1]) < 1e-4)
        #expect(centred.allSatisfy { $0 >= 0 && $0 <= 1 })
        for i in labels.indices { for j in labels.indices where groups.index[i] == groups.index[j] && labels[i] < labels[j] {
            #expect(centred[i] < centred[j]); break
        } }
    }

    /// Rows whose ids name no set (each row its own "dataset") must not each get an intercept:
    /// that would explain every label away and leave the weights untrained.
    @Test func setsBelowTheMinimumShareOneIntercept() throws {
        let (train, test, embedder) = Self.sets()
        var anonymous = train
        for i in anonymous.examples.indices {
            anonymous.examples[i].dataset = "row\(i)"
        }
        let groups = DatasetGroups(anonymous)
        #expect(groups.names == [DatasetGroups.pooled])
        let mixed = DatasetGroups(RoutingDataset(strongModel: "big", weakModel: "small",
                                                 examples: Array(train.examples.prefix(100)) + Array(anonymous.examples.suffix(10)),
                                                 scale: .binary))
        #expect(mixed.names == [DatasetGroups.pooled, "loud", "quiet"])
        let file = try RouterTrainer.train(kind: .classifier, data: anonymous, embeddings: try embedder.embed(batch: anonymous.prompts),
                                           options: TrainingOptions(seed: 3, hyperparameters: ["lexical": 0]))
        let router = try makeRouter(from: file, embedder: embedder)
        let scores = try router.scores(prompts: test.prompts)
        // One pooled intercept is the old behaviour: the set direction is learned, and the
        // held-out set (where it runs against difficulty) is ranked backwards, not at random.
        let apgr = RoutingMetrics.evaluate(scores: scores, on: test).apgr ?? .nan
        #expect(apgr < 0.45, "APGR \(apgr)")
    }

    @Test func storedBiasIsTheWeightedMeanOfTheIntercepts() throws {
        let (train, _, embedder) = Self.sets()
        let file = try RouterTrainer.train(kind: .classifier, data: train, embeddings: try embedder.embed(batch: train.prompts),
                                           options: TrainingOptions(seed: 3, hyperparameters: ["lexical": 0]))
        // Equal-sized sets: the intercepts are about ±(level), so the mean lies near 0, far from both.
        let b = try file.tensor("b1").floats()[0]
        #expect(abs(b) < 1, "bias \(b)")
        #expect(file.hyperparameters["dataset_effects"] == 1)
    }
}
