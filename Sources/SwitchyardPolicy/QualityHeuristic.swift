import Foundation

/// Estimated need for a strong model, in [0, 1], with a human-readable reason.
public struct QualityScore: Sendable, Hashable {
    public var value: Double
    /// Where the value came from: `router`, `precomputed` or `heuristic`.
    public var source: String
    /// Short explanation, e.g. `len=0.31 code=1.0 reasoning=0.5`.
    public var reason: String

    public init(value: Double, source: String, reason: String) {
        self.value = min(1, max(0, value))
        self.source = source
        self.reason = reason
    }
}

/// Task categories the heuristic recognises; route rules can target them.
public enum TaskSignal: String, Codable, Sendable, CaseIterable {
    case code, math, reasoning, multiPart = "multi_part", simple
}

/// A transparent baseline for "does this prompt need a frontier model?", used until a learned
/// router is configured. Every term is visible in the reason string:
///
///     score = 0.10
///           + 0.25 × length     (log scale: ≤ 50 tokens → 0, ≥ 8 000 tokens → 1; tokens ≈ bytes / 4)
///           + 0.20 × code       (fences, `func`/`def`/`class`/`import`, stack traces …; 2+ hits → 1, 1 → 0.5)
///           + 0.20 × math       (prove, integral, equation, LaTeX …; same saturation)
///           + 0.20 × reasoning  (step by step, explain why, compare, trade-off, design …)
///           + 0.10 × multi-part (several questions or a numbered list)
///           − 0.15 × simple     (translate, summarize, rephrase, greetings)
///
/// clamped to [0, 1]. Signals are read from the user and system texts, at most the first
/// 8 KB and the last 4 KB of each, so the cost is bounded for 100 KB prompts; length uses
/// everything.
public struct HeuristicQualityScorer: Sendable {
    public init() {}

    static let words: [(String, TaskSignal)] = [
        ("func", .code), ("def", .code), ("class", .code), ("import", .code), ("return", .code),
        ("#include", .code), ("struct", .code), ("const", .code), ("fn", .code), ("traceback", .code),
        ("stacktrace", .code), ("exception", .code), ("segfault", .code), ("compile", .code),
        ("compiler", .code), ("regex", .code), ("sql", .code), ("refactor", .code), ("function", .code),
        ("bug", .code), ("api", .code), ("typescript", .code), ("python", .code), ("swift", .code),
        ("rust", .code), ("javascript", .code), ("kubernetes", .code),
        ("prove", .math), ("proof", .math), ("theorem", .math), ("lemma", .math), ("integral", .math),
        ("derivative", .math), ("equation", .math), ("probability", .math), ("matrix", .math),
        ("eigenvalue", .math), ("\\frac", .math), ("\\sum", .math), ("\\int", .math), ("calculate", .math),
        ("optimize", .reasoning), ("analyze", .reasoning), ("analyse", .reasoning), ("compare", .reasoning),
        ("trade-off", .reasoning), ("tradeoff", .reasoning), ("tradeoffs", .reasoning), ("design", .reasoning),
        ("architecture", .reasoning), ("evaluate", .reasoning), ("why", .reasoning), ("explain", .reasoning),
        ("reason", .reasoning), ("plan", .reasoning), ("strategy", .reasoning), ("debug", .reasoning),
        ("step-by-step", .reasoning), ("implications", .reasoning), ("pros", .reasoning),
        ("translate", .simple), ("summarize", .simple), ("summarise", .simple), ("tl;dr", .simple),
        ("rephrase", .simple), ("hello", .simple), ("hi", .simple), ("thanks", .simple), ("thank", .simple),
        ("spell", .simple), ("synonym", .simple),
    ]

    /// Open-addressing table: FNV-1a hash of the lower-cased word → signal (+1; 0 = empty).
    private struct WordTable {
        var keys: [UInt64]
        var signals: [UInt8]
        var mask: Int
    }

    private static let signalOrder: [TaskSignal] = TaskSignal.allCases
    private static let reasoningIndex = TaskSignal.allCases.firstIndex(of: .reasoning)!

    private static let table: WordTable = {
        let size = 512
        var t = WordTable(keys: [UInt64](repeating: 0, count: size), signals: [UInt8](repeating: 0, count: size), mask: size - 1)
        for (w, sig) in words {
            let h = fnv(Array(w.utf8))
            var i = Int(truncatingIfNeeded: h) & t.mask
            while t.keys[i] != 0 { i = (i + 1) & t.mask }
            t.keys[i] = h
            t.signals[i] = UInt8(signalOrder.firstIndex(of: sig)! + 1)
        }
        return t
    }()

    /// FNV-1a over the lower-cased bytes; never 0 (0 marks an empty slot).
    private static func fnv(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h | 1
    }

    /// Counters collected while scanning; index = position in `TaskSignal.allCases`.
    private struct Counters {
        var hits = [Int](repeating: 0, count: TaskSignal.allCases.count)
        var questions = 0
        var listItems = 0
        var fences = 0
    }

    /// Scores the texts that describe the task (pass user and system texts).
    public func score(_ texts: [String]) -> QualityScore { analyze(texts).score }

    /// Score plus the set of signals with at least one hit (for category route rules).
    public func analyze(_ texts: [String]) -> (score: QualityScore, signals: Set<TaskSignal>) {
        var totalBytes = 0
        var c = Counters()
        let table = Self.table
        for t in texts {
            var s = t
            totalBytes += s.utf8.count
            s.withUTF8 { buf in
                let n = buf.count
                if n <= 12 * 1024 {
                    scanSignals(buf, 0..<n, table, &c)
                } else {
                    scanSignals(buf, 0..<(8 * 1024), table, &c)
                    scanSignals(buf, (n - 4 * 1024)..<n, table, &c)
                }
            }
        }
        var hits: [TaskSignal: Int] = [:]
        for (k, sig) in Self.signalOrder.enumerated() where c.hits[k] > 0 { hits[sig] = c.hits[k] }
        hits[.code, default: 0] += c.fences / 2 * 2
        if c.questions >= 2 || c.listItems >= 2 { hits[.multiPart, default: 0] += 2 }

        let tokens = Double(totalBytes) / 4
        let len = tokens <= 50 ? 0 : min(1, log2(tokens / 50) / log2(8000.0 / 50))
        func sat(_ s: TaskSignal) -> Double {
            let h = hits[s, default: 0]
            return h >= 2 ? 1 : (h == 1 ? 0.5 : 0)
        }
        let code = sat(.code), math = sat(.math), reasoning = sat(.reasoning), multi = sat(.multiPart), simple = sat(.simple)
        let value = 0.10 + 0.25 * len + 0.20 * code + 0.20 * math + 0.20 * reasoning + 0.10 * multi - 0.15 * simple
        var parts = ["len=\(Self.fmt(len))"]
        if code > 0 { parts.append("code=\(Self.fmt(code))") }
        if math > 0 { parts.append("math=\(Self.fmt(math))") }
        if reasoning > 0 { parts.append("reasoning=\(Self.fmt(reasoning))") }
        if multi > 0 { parts.append("multi=\(Self.fmt(multi))") }
        if simple > 0 { parts.append("simple=\(Self.fmt(simple))") }
        let signals = Set(hits.filter { $0.value > 0 }.keys)
        return (QualityScore(value: value, source: "heuristic", reason: parts.joined(separator: " ")), signals)
    }

    /// Two decimals, without Foundation's slow `String(format:)`.
    static func fmt(_ v: Double) -> String {
        let cents = Int((min(max(v, -1e9), 1e9) * 100).rounded())
        let a = abs(cents)
        let frac = a % 100
        return (cents < 0 ? "-" : "") + String(a / 100) + (frac < 10 ? ".0" : ".") + String(frac)
    }

    private func matches(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int, _ s: StaticString) -> Bool {
        let q = s.utf8Start
        for k in 0..<s.utf8CodeUnitCount where ByteClass.lower(buf[i + k]) != q[k] { return false }
        return true
    }

    private func scanSignals(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ table: WordTable, _ c: inout Counters) {
        ByteFlags.table.withUnsafeBufferPointer { flags in
            var i = range.lowerBound
            let end = range.upperBound
            var prevWord = false
            if i == 0 { countListItem(buf, 0, end, &c) }
            while i < end {
                let ch = buf[i]
                let f = flags[Int(ch)]
                if f & ByteFlags.special != 0 {
                    if ch == 0x0A {
                        countListItem(buf, i + 1, end, &c)
                    } else if ch == UInt8(ascii: "?") {
                        c.questions += 1
                    } else if i + 2 < end && buf[i + 1] == ch && buf[i + 2] == ch {
                        c.fences += 1
                        i += 3
                        prevWord = false
                        continue
                    }
                    prevWord = false
                    i += 1
                    continue
                }
                if prevWord || f & ByteFlags.wordStart == 0 {
                    prevWord = f & ByteFlags.word != 0
                    i += 1
                    continue
                }
                if (ch | 0x20) == UInt8(ascii: "s") && i + 12 <= end && matches(buf, i, "step by step") {
                    c.hits[Self.reasoningIndex] += 2
                    i += 12
                    prevWord = true
                    continue
                }
                // One word: FNV-1a over its lower-cased bytes; trailing - and ; do not count.
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                var e = i
                var trimmedEnd = i
                var trimmedHash = h
                while e < end {
                    let b = buf[e]
                    if flags[Int(b)] & ByteFlags.wordPart == 0 { break }
                    h = (h ^ UInt64(b | ((b &- 65 < 26) ? 0x20 : 0))) &* 0x100_0000_01b3
                    e += 1
                    if b != UInt8(ascii: "-") && b != UInt8(ascii: ";") {
                        trimmedEnd = e
                        trimmedHash = h
                    }
                }
                if trimmedEnd - i <= 16 {
                    let key = trimmedHash | 1
                    var k = Int(truncatingIfNeeded: key) & table.mask
                    while table.keys[k] != 0 {
                        if table.keys[k] == key {
                            c.hits[Int(table.signals[k]) - 1] += 1
                            break
                        }
                        k = (k + 1) & table.mask
                    }
                }
                prevWord = flags[Int(buf[e - 1])] & ByteFlags.word != 0
                i = e
            }
        }
    }

    /// A line starting with `- `, `* `, `1.` or `1)` is a list item.
    private func countListItem(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ c: inout Counters) {
        var j = start
        while j < end && (buf[j] == 0x20 || buf[j] == 0x09) { j += 1 }
        guard j + 1 < end else { return }
        let a = buf[j], b = buf[j + 1]
        if (a == UInt8(ascii: "-") || a == UInt8(ascii: "*")) && b == 0x20 {
            c.listItems += 1
        } else if ByteClass.isDigit(a) && (b == UInt8(ascii: ".") || b == UInt8(ascii: ")")) {
            c.listItems += 1
        }
    }
}
