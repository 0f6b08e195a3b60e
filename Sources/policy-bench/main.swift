// Measures the full policy decision (classification + filtering + strategy + redaction plan)
// for a 2 KB and a 100 KB prompt. Run with: swift run -c release policy-bench
import Foundation
import SwitchyardPolicy

let catalog: [PolicyCandidate] = [
    PolicyCandidate(name: "local-small", openness: .open, hosting: .local, capabilities: ModelCapabilities(tools: true), contextWindow: 32768, tier: .small),
    PolicyCandidate(name: "local-large", openness: .open, hosting: .local, capabilities: .all, contextWindow: 131072, tier: .large, qualityRank: 5),
    PolicyCandidate(name: "mini-cloud", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 131072, inputPricePerMTok: 0.15, outputPricePerMTok: 0.6, tier: .medium),
    PolicyCandidate(name: "frontier-a", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 200000, inputPricePerMTok: 3, outputPricePerMTok: 15, tier: .frontier, qualityRank: 10),
    PolicyCandidate(name: "frontier-b", openness: .closed, hosting: .cloud, capabilities: .all, contextWindow: 200000, inputPricePerMTok: 2.5, outputPricePerMTok: 10, tier: .frontier, qualityRank: 9),
]

let paragraphs = [
    "Our service handled 1,284 requests yesterday between 09:00 and 17:30; latency p99 was 412 ms on version 2.4.1. ",
    "Please review the following function and explain step by step why it might deadlock under load:\n```swift\nfunc load() async throws -> Data {\n    try await withCheckedThrowingContinuation { c in queue.sync { c.resume(returning: cache[key] ?? Data()) } }\n}\n```\n",
    "The customer (order 2024-00017731, placed 2024-03-14) asked whether the invoice total of $1,249.99 includes VAT at 19%. ",
    "Compare the trade-offs between a write-ahead log and shadow paging for an embedded database, and recommend one. ",
    "Meeting notes: Alice and Bob agreed to migrate the staging cluster before Q3; see ticket OPS-4411 and the runbook. ",
    "If the forecast for 2025 holds, revenue grows 12.5% while costs rise 3.1%, giving a margin of roughly 18 points. ",
]

func prompt(bytes: Int, withPII: Bool) -> [PolicyText] {
    var user = ""
    var i = 0
    while user.utf8.count < bytes {
        user += paragraphs[i % paragraphs.count]
        if withPII && i % 7 == 3 { user += "Contact maria.lopez@example.com or +49 30 12345678 about server 10.20.30.40. " }
        i += 1
    }
    return [
        PolicyText(role: .system, text: "You are a careful assistant for the operations team. Answer concisely.", path: "messages[0].content"),
        PolicyText(role: .user, text: user, path: "messages[1].content"),
    ]
}

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
}

func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }

let engine = PolicyEngine(candidates: catalog, scanner: try SensitiveDataScanner())
let clock = ContinuousClock()

func bench(_ label: String, texts: [PolicyText], profile: PolicyProfile, iterations: Int, rounds: Int) {
    let req = PolicyRequest(texts: texts, needs: CapabilityNeeds(estimatedPromptTokens: texts.reduce(0) { $0 + $1.text.utf8.count } / 4))
    var sink = 0
    for _ in 0..<max(50, iterations / 10) {  // warm-up
        if case .success(let d) = engine.decide(req, profile: profile) { sink &+= d.model.utf8.count }
    }
    var p50s: [Double] = [], p99s: [Double] = [], c50s: [Double] = [], c99s: [Double] = [], means: [Double] = []
    for _ in 0..<rounds {
        var samples: [Double] = [], cpu: [Double] = []
        samples.reserveCapacity(iterations)
        cpu.reserveCapacity(iterations)
        for _ in 0..<iterations {
            let c0 = threadCPUMicros()
            let t0 = clock.now
            let r = engine.decide(req, profile: profile)
            let dt = t0.duration(to: clock.now)
            let c1 = threadCPUMicros()
            if case .success(let d) = r { sink &+= d.fallbacks.count }
            samples.append(Double(dt.components.attoseconds) / 1e12 + Double(dt.components.seconds) * 1e6)
            cpu.append(c1 - c0)
        }
        means.append(samples.reduce(0, +) / Double(samples.count))
        p50s.append(percentile(samples, 0.5))
        p99s.append(percentile(samples, 0.99))
        c50s.append(percentile(cpu, 0.5))
        c99s.append(percentile(cpu, 0.99))
    }
    let bytes = texts.reduce(0) { $0 + $1.text.utf8.count }
    let d = try! engine.decide(req, profile: profile).get()
    print(
        "\(label.padding(toLength: 32, withPad: " ", startingAt: 0)) \(String(bytes).padding(toLength: 7, withPad: " ", startingAt: 0)) B  wall mean \(fmt(median(means))) p50 \(fmt(median(p50s))) p99 \(fmt(median(p99s))) µs | thread-CPU p50 \(fmt(median(c50s))) p99 \(fmt(median(c99s))) µs  [\(d.headerReason)]\(sink == 42 ? "" : "")"
    )
}

/// CPU time of the calling thread: unaffected by time spent preempted on a busy machine.
func threadCPUMicros() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
}

func fmt(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return String(r)
}

var redacting = PolicyProfile.balanced
redacting.allowRedaction = true
redacting.redaction = .always

let only = CommandLine.arguments.dropFirst().first  // optional filter: "2k" or "100k"
let scale = Double(CommandLine.arguments.dropFirst(2).first ?? "") ?? 1
let n2k = Int(20000 * scale), n100k = Int(400 * scale)
print("policy-bench: full PolicyEngine.decide (scan + classify + filter + strategy + redaction plan), 5 candidates; median over 5 rounds of per-call p50/p99")
if only == nil || only == "2k" {
    bench("2 KB clean, balanced", texts: prompt(bytes: 2048, withPII: false), profile: .balanced, iterations: n2k, rounds: 5)
    bench("2 KB with PII, balanced", texts: prompt(bytes: 2048, withPII: true), profile: .balanced, iterations: n2k, rounds: 5)
    bench("2 KB with PII, redact always", texts: prompt(bytes: 2048, withPII: true), profile: redacting, iterations: n2k, rounds: 5)
}
if only == nil || only == "100k" {
    bench("100 KB clean, balanced", texts: prompt(bytes: 100 * 1024, withPII: false), profile: .balanced, iterations: n100k, rounds: 5)
    bench("100 KB with PII, balanced", texts: prompt(bytes: 100 * 1024, withPII: true), profile: .balanced, iterations: n100k, rounds: 5)
    bench("100 KB with PII, redact always", texts: prompt(bytes: 100 * 1024, withPII: true), profile: redacting, iterations: n100k, rounds: 5)
}

if only == nil || only == "parts" {
    // Where the time goes, per component.
    let texts = prompt(bytes: 2048, withPII: true)
    let strings = texts.map(\.text)
    func fastest(_ label: String, _ body: () -> Int) {
        // Median per-call thread-CPU time over 3000 calls (time spent preempted does not count).
        var cpu: [Double] = []
        var sink = 0
        for _ in 0..<3000 {
            let c0 = threadCPUMicros()
            sink &+= body()
            cpu.append(threadCPUMicros() - c0)
        }
        print("  component \(label.padding(toLength: 28, withPad: " ", startingAt: 0)) p50 \(fmt(median(cpu))) µs CPU\(sink == -1 ? "!" : "")")
    }
    let scanner = try SensitiveDataScanner()
    let heuristic = HeuristicQualityScorer()
    print("components, 2 KB with PII:")
    fastest("empty (clock overhead)") { 0 }
    fastest("baseline: count spaces") {
        var n = 0
        for t in strings {
            var t = t
            t.withUTF8 { buf in for b in buf where b == 0x20 { n += 1 } }
        }
        return n
    }
    fastest("baseline: sum bytes mod 251") {
        var n = 0
        for t in strings {
            var t = t
            t.withUTF8 { buf in for b in buf { n = (n &* 31 &+ Int(b)) % 251 } }
        }
        return n
    }
    fastest("scan each text") { strings.reduce(0) { $0 + scanner.scan($1).count } }
    fastest("scan texts + junctions") { scanner.scan(strings).count }
    fastest("heuristic score") { Int(heuristic.score(strings).value * 100) }
    fastest("full decide, balanced") { (try? engine.decide(PolicyRequest(texts: texts), profile: .balanced).get())?.fallbacks.count ?? 0 }
    fastest("full decide, redact always") { (try? engine.decide(PolicyRequest(texts: texts), profile: redacting).get())?.fallbacks.count ?? 0 }
}
