import Foundation
import SwitchyardEmbeddings
import Testing
@testable import SwitchyardRouting

@Suite("Routers learn synthetic tasks and fail shuffled-label controls")
struct RouterLearningTests {
    static let trainable: [RouterKind] = [.knn, .mf, .classifier, .ensemble]

    @Test("embedding routers learn the topic task", arguments: trainable)
    func learnsTopicTask(kind: RouterKind) throws {
        let train = Synthetic.topicTask(count: 240, seed: 1)
        let test = Synthetic.topicTask(count: 200, seed: 2)
        let apgr = try Synthetic.heldOutAPGR(kind, train: train, test: test, hyper: kind == .mf ? ["epochs": 30] : [:])
        #expect(apgr > 0.8, "\(kind.rawValue) held-out APGR \(apgr)")
    }

    @Test("embedding routers stay near random when trained on shuffled labels", arguments: trainable)
    func shuffledControl(kind: RouterKind) throws {
        let train = Synthetic.topicTask(count: 240, seed: 1, shuffleLabels: true)
        let test = Synthetic.topicTask(count: 200, seed: 2)
        let apgr = try Synthetic.heldOutAPGR(kind, train: train, test: test, hyper: kind == .mf ? ["epochs": 30] : [:])
        #expect(apgr > 0.3 && apgr < 0.7, "\(kind.rawValue) control APGR \(apgr)")
    }

    @Test func classifierMLPLearnsAndFailsControl() throws {
        let hyper: [String: Double] = ["hidden": 16, "epochs": 30]
        let good = try Synthetic.heldOutAPGR(.classifier, train: Synthetic.topicTask(count: 240, seed: 1),
                                             test: Synthetic.topicTask(count: 200, seed: 2), hyper: hyper)
        let control = try Synthetic.heldOutAPGR(.classifier, train: Synthetic.topicTask(count: 240, seed: 1, shuffleLabels: true),
                                                test: Synthetic.topicTask(count: 200, seed: 2), hyper: hyper)
        #expect(good > 0.8)
        #expect(control > 0.3 && control < 0.7)
    }

    /// Hard prompts are number-heavy word problems (strong 1, weak 0), easy ones chit-chat both models
    /// answer, so the best possible APGR is 0.75 (half the prompts need the strong model). Lexical features
    /// separate the groups along one direction, so a router trained on shuffled labels picks a random
    /// sign: the control averages over several shuffles.
    @Test func heuristicLearnsLexicalTaskAndFailsControl() throws {
        let good = try Synthetic.heldOutAPGR(.heuristic, train: Synthetic.mathTask(count: 200, seed: 3),
                                             test: Synthetic.mathTask(count: 200, seed: 4))
        #expect(good > 0.72, "heuristic APGR \(good) (oracle 0.75)")
        var controls: [Double] = []
        for seed in [3, 13, 23, 33] as [UInt64] {
            controls.append(try Synthetic.heldOutAPGR(.heuristic, train: Synthetic.mathTask(count: 200, seed: seed, shuffleLabels: true),
                                                      test: Synthetic.mathTask(count: 200, seed: 4)))
        }
        let mean = controls.reduce(0, +) / Double(controls.count)
        #expect(mean > 0.3 && mean < 0.7, "heuristic control APGRs \(controls)")
    }

    @Test func untrainedHeuristicPrefersStrongForMath() throws {
        let h = HeuristicRouter()
        let hard = try h.score(prompt: "Solve step by step: a train travels 120 km at 60 km/h, then 45 km at 90 km/h. What is the average speed?")
        let easy = try h.score(prompt: "write a haiku about spring")
        #expect(hard > easy)
    }

    @Test func randomRouterIsSeededAndUninformative() throws {
        let test = Synthetic.topicTask(count: 2000, seed: 5)
        let a = RandomRouter(seed: 1), b = RandomRouter(seed: 1), c = RandomRouter(seed: 2)
        let sa = try a.scores(prompts: test.prompts), sb = try b.scores(prompts: test.prompts), sc = try c.scores(prompts: test.prompts)
        #expect(sa == sb)
        #expect(sa != sc)
        let apgr = RoutingMetrics.evaluate(scores: sa, on: test).apgr!
        #expect(abs(apgr - 0.5) < 0.06, "random APGR \(apgr)")
    }
}
