// router-bench: latency of one routing decision (tokenise + embed + score) and batch throughput.
//
//   OPENBLAS_NUM_THREADS=1 taskset -c 0 swift run -c release router-bench \
//       [--router routers/default.router] [--encoder DIR] [--iterations 200] [--batch 256]
//
// Reports p50/p95/p99 of single decisions for ~64- and ~512-token prompts (the encoder truncates to
// its maximum sequence length), the router-only share of that time, and prompts/s when scoring a
// batch of mixed-length prompts. Run pinned to one core for per-core numbers.
import Foundation
import SwitchyardEmbeddings
import SwitchyardRouting

func argument(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))]
}

let words = ("the router decides whether a prompt needs the strong model or whether the weak model answers it well "
    + "enough so that the gateway saves money while keeping quality close to the strong model on every benchmark "
    + "including math word problems code review requests and open ended questions about history science and art").split(separator: " ")

func prompt(tokens: Int, salt: Int) -> String {
    // ~1 WordPiece token per common English word; the salt keeps prompts distinct (no caching effects).
    (0..<max(1, tokens - 2)).map { i in String(words[(i * 7 + salt) % words.count]) }.joined(separator: " ")
}

let routerPath = argument("--router") ?? "routers/default.router"
let iterations = Int(argument("--iterations") ?? "200") ?? 200
let batchSize = Int(argument("--batch") ?? "256") ?? 256

guard let modelDir = argument("--encoder").map({ URL(fileURLWithPath: $0) }) ?? MiniLMEncoder.locateInstalledModel() else {
    FileHandle.standardError.write(Data("router-bench: no MiniLM model found; pass --encoder DIR\n".utf8))
    exit(2)
}
let encoder = try MiniLMEncoder(modelDirectory: modelDir)
let file = try RouterFile.load(from: URL(fileURLWithPath: routerPath))
let router = try makeRouter(from: file, embedder: encoder)
print("router-bench: \(file.kind.rawValue) router from \(routerPath), encoder \(modelDir.path)")

for tokens in [64, 512] {
    // Warm up.
    for i in 0..<5 { _ = try router.score(prompt: prompt(tokens: tokens, salt: 1000 + i)) }
    var total: [Double] = [], scoreOnly: [Double] = []
    for i in 0..<iterations {
        let p = prompt(tokens: tokens, salt: i)
        let t0 = now()
        _ = try router.score(prompt: p)
        let t1 = now()
        total.append(Double(t1 - t0) / 1e6)
        if let er = router as? any EmbeddingRouter {
            let e = try encoder.embed(p)
            let t2 = now()
            _ = er.score(prompt: p, embedding: e)
            scoreOnly.append(Double(now() - t2) / 1e6)
        }
    }
    var line = String(format: "%3d-token prompt: decision p50 %.2f ms  p95 %.2f ms  p99 %.2f ms", tokens,
                      percentile(total, 0.5), percentile(total, 0.95), percentile(total, 0.99))
    if !scoreOnly.isEmpty { line += String(format: "   (router scoring alone p95 %.3f ms)", percentile(scoreOnly, 0.95)) }
    print(line)
}

// Batch throughput on a realistic length mix (mostly short chat prompts).
let lengths = [16, 32, 48, 64, 96, 128, 200, 256]
let batch = (0..<batchSize).map { prompt(tokens: lengths[$0 % lengths.count], salt: $0) }
let t0 = now()
let scores = try router.scores(prompts: batch)
let seconds = Double(now() - t0) / 1e9
print(String(format: "batch of %d mixed-length prompts (16-256 tokens): %.1f prompts/s (%.2f s); mean score %.3f",
             batch.count, Double(batch.count) / seconds, seconds, scores.reduce(0, +) / Double(scores.count)))
let short = (0..<batchSize).map { prompt(tokens: 64, salt: 5000 + $0) }
let t1 = now()
_ = try router.scores(prompts: short)
let s2 = Double(now() - t1) / 1e9
print(String(format: "batch of %d 64-token prompts: %.1f prompts/s", short.count, Double(short.count) / s2))
