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

    /// Open-addressing table keyed by the word itself: its bytes (each OR 0x20, which lower-cases
    /// letters and is one-to-one on the heuristic's word alphabet) packed little-endian into two
    /// words. Exact comparison, so no hash collisions; `lo == 0` marks an empty slot.
    private struct WordTable {
        var lo: [UInt64]
        var hi: [UInt64]
        var signals: [UInt8]
    }

    private static let tableBits = 9

    /// Longest listed word, in bytes (at most 16); longer words cannot match and are not looked up.
    private static let maxWordLength = words.reduce(0) { max($0, $1.0.utf8.count) }

    private static let signalOrder: [TaskSignal] = TaskSignal.allCases
    private static let reasoningIndex = TaskSignal.allCases.firstIndex(of: .reasoning)!
    private static let codeIndex = TaskSignal.allCases.firstIndex(of: .code)!
    private static let mathIndex = TaskSignal.allCases.firstIndex(of: .math)!
    private static let multiPartIndex = TaskSignal.allCases.firstIndex(of: .multiPart)!
    private static let simpleIndex = TaskSignal.allCases.firstIndex(of: .simple)!

    @inline(__always) private static func slot(_ lo: UInt64, _ hi: UInt64) -> Int {
        let h = ((lo &* 0x9E37_79B9_7F4A_7C15) ^ hi) &* 0xC2B2_AE3D_27D4_EB4F
        return Int(truncatingIfNeeded: h &>> UInt64(64 - tableBits))
    }

    private static func pack(_ bytes: [UInt8]) -> (UInt64, UInt64) {
        var lo: UInt64 = 0, hi: UInt64 = 0
        for (k, b) in bytes.enumerated() {
            let v = UInt64(b | 0x20)
            if k < 8 { lo |= v << UInt64(8 * k) } else { hi |= v << UInt64(8 * (k - 8)) }
        }
        return (lo, hi)
    }

    /// Bitmap of the listed words' first two bytes (each OR 0x20): a cheap filter before the lookup.
    private static let firstPairs: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 1024)
        for (w, _) in words {
            let b = Array(w.utf8)
            precondition(b.count >= 2)
            let p = Int(b[0] | 0x20) << 8 | Int(b[1] | 0x20)
            bits[p >> 6] |= 1 << UInt64(p & 63)
        }
        return bits
    }()

    @inline(__always) private static func pairListed(_ pairs: [UInt64], _ b0: UInt8, _ b1: UInt8) -> Bool {
        let p = Int(b0) << 8 | Int(b1)
        return pairs[p >> 6] & (1 &<< UInt64(p & 63)) != 0
    }

    private static let table: WordTable = {
        let size = 1 << tableBits
        var t = WordTable(
            lo: [UInt64](repeating: 0, count: size), hi: [UInt64](repeating: 0, count: size),
            signals: [UInt8](repeating: 0, count: size))
        for (w, sig) in words {
            let bytes = Array(w.utf8)
            precondition(!bytes.isEmpty && bytes.count <= 16)
            let (lo, hi) = pack(bytes)
            var i = slot(lo, hi)
            var dup = false
            while t.lo[i] != 0 {
                if t.lo[i] == lo && t.hi[i] == hi { dup = true; break }
                i = (i + 1) & (size - 1)
            }
            if dup { continue }  // first listing wins
            t.lo[i] = lo
            t.hi[i] = hi
            t.signals[i] = UInt8(signalOrder.firstIndex(of: sig)! + 1)
        }
        return t
    }()

    /// Counters collected while scanning; index = position in `TaskSignal.allCases`.
    private struct Counters {
        var hits = [Int](repeating: 0, count: TaskSignal.allCases.count)
        var questions = 0
        var listItems = 0
        var fences = 0
    }

    /// Scores the texts that describe the task (pass user and system texts).
    public func score(_ texts: [String]) -> QualityScore { analyzeCore(texts).score }

    /// Score plus the set of signals with at least one hit (for category route rules).
    public func analyze(_ texts: [String]) -> (score: QualityScore, signals: Set<TaskSignal>) {
        let a = analyzeCore(texts)
        return (a.score, Self.signalSet(a.signalMask))
    }

    /// The signals in `mask` (bit k = `TaskSignal.allCases[k]`).
    static func signalSet(_ mask: UInt8) -> Set<TaskSignal> {
        var signals = Set<TaskSignal>()
        for (k, sig) in signalOrder.enumerated() where mask & (1 << UInt8(k)) != 0 { signals.insert(sig) }
        return signals
    }

    /// ``analyze(_:)`` with the signals as a bit mask (bit k = `TaskSignal.allCases[k]`).
    func analyzeCore(_ texts: [String]) -> (score: QualityScore, signalMask: UInt8) {
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
        // Hits per signal, indexed like `TaskSignal.allCases`.
        var hits = c.hits
        hits[Self.codeIndex] += c.fences / 2 * 2
        if c.questions >= 2 || c.listItems >= 2 { hits[Self.multiPartIndex] += 2 }

        let tokens = Double(totalBytes) / 4
        let len = tokens <= 50 ? 0 : min(1, log2(tokens / 50) / log2(8000.0 / 50))
        @inline(__always) func sat(_ k: Int) -> Double {
            let h = hits[k]
            return h >= 2 ? 1 : (h == 1 ? 0.5 : 0)
        }
        let code = sat(Self.codeIndex), math = sat(Self.mathIndex), reasoning = sat(Self.reasoningIndex)
        let multi = sat(Self.multiPartIndex), simple = sat(Self.simpleIndex)
        let value = 0.10 + 0.25 * len + 0.20 * code + 0.20 * math + 0.20 * reasoning + 0.10 * multi - 0.15 * simple
        var reason = "len="
        reason.reserveCapacity(64)
        reason += Self.fmt(len)
        if code > 0 { reason += " code=" + Self.fmt(code) }
        if math > 0 { reason += " math=" + Self.fmt(math) }
        if reasoning > 0 { reason += " reasoning=" + Self.fmt(reasoning) }
        if multi > 0 { reason += " multi=" + Self.fmt(multi) }
        if simple > 0 { reason += " simple=" + Self.fmt(simple) }
        var mask: UInt8 = 0
        for k in 0..<hits.count where hits[k] > 0 { mask |= 1 << UInt8(k) }
        return (QualityScore(value: value, source: "heuristic", reason: reason), mask)
    }

    /// Two decimals, without Foundation's slow `String(format:)`.
    static func fmt(_ v: Double) -> String {
        let cents = Int((min(max(v, -1e9), 1e9) * 100).rounded())
        let a = cents.magnitude
        let frac = Int(a % 100)
        // Sign, integer part, '.', two fraction digits; at most 13 bytes, so a small string.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buf in
            var digits = a / 100
            var end = 24
            end -= 1; buf[end] = UInt8(48 + frac % 10)
            end -= 1; buf[end] = UInt8(48 + frac / 10)
            end -= 1; buf[end] = UInt8(ascii: ".")
            repeat {
                end -= 1
                buf[end] = UInt8(48 + digits % 10)
                digits /= 10
            } while digits > 0
            if cents < 0 {
                end -= 1
                buf[end] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[end..<24]), as: UTF8.self)
        }
    }

    private func matches(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int, _ s: StaticString) -> Bool {
        let q = s.utf8Start
        for k in 0..<s.utf8CodeUnitCount where ByteClass.lower(buf[i + k]) != q[k] { return false }
        return true
    }

    private func scanSignals(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ table: WordTable, _ c: inout Counters) {
        let maxLen = Self.maxWordLength
        let pairs = Self.firstPairs
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
                // One word; trailing - and ; do not count.
                var e = i + 1
                while e < end && flags[Int(buf[e])] & ByteFlags.wordPart != 0 { e += 1 }
                var te = e
                while buf[te - 1] == UInt8(ascii: "-") || buf[te - 1] == UInt8(ascii: ";") { te -= 1 }
                let len = te - i
                if len >= 2 && len <= maxLen
                    && Self.pairListed(pairs, buf[i] | 0x20, buf[i &+ 1] | 0x20)  // i + 1 < te when len >= 2
                {
                    var lo: UInt64 = 0, hi: UInt64 = 0
                    let base = buf.baseAddress! + i
                    if i &+ 16 <= buf.count {
                        // Two unaligned loads, lower-cased, masked to the word's length.
                        let raw = UnsafeRawPointer(base)
                        let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) | 0x2020_2020_2020_2020
                        let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) | 0x2020_2020_2020_2020
                        if len >= 8 {
                            lo = w0
                            hi = len >= 16 ? w1 : w1 & ((1 &<< UInt64(8 &* (len &- 8))) &- 1)
                        } else {
                            lo = w0 & ((1 &<< UInt64(8 &* len)) &- 1)
                        }
                    } else if len <= 8 {
                        for k in 0..<len { lo |= UInt64(base[k] | 0x20) &<< UInt64(8 &* k) }
                    } else {
                        for k in 0..<8 { lo |= UInt64(base[k] | 0x20) &<< UInt64(8 &* k) }
                        for k in 8..<len { hi |= UInt64(base[k] | 0x20) &<< UInt64(8 &* (k &- 8)) }
                    }
                    let mask = table.lo.count - 1
                    var k = Self.slot(lo, hi)
                    while true {
                        let kl = table.lo[k]
                        if kl == 0 { break }
                        if kl == lo && table.hi[k] == hi {
                            c.hits[Int(table.signals[k]) - 1] += 1
                            break
                        }
                        k = (k + 1) & mask
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
