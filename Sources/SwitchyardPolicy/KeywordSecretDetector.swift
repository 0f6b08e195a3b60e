import Foundation

/// Finds secrets that have no fixed shape by their context: a value that looks random
/// (high entropy, mixed character classes) assigned to a name like `password`, `secret`,
/// `token` or `api key` — `password: Xy9$…`, `"client_secret": "…"`, `DB_PASSWORD=…`,
/// `my password is …`, `Authorization: Bearer …`.
///
/// Prose that merely mentions the word ("reset your password", "the token expired") has no
/// assigned value and does not fire; neither do placeholders like `${TOKEN}`, `<your key>`,
/// `****` or plain words.
enum KeywordSecretDetector {
    /// Sub-strings of the (lower-cased) name that make it a secret's name.
    static let nameKeywords: [[UInt8]] = [
        "password", "passwd", "passphrase", "passcode", "pwd", "secret", "token", "apikey", "api_key", "api-key",
        "api key", "access_key", "access-key", "accesskey", "access key", "private_key", "privatekey",
        "credential", "authorization", "auth_key", "session_key", "signing_key", "encryption_key",
    ].map { Array($0.utf8) }

    private static func isNameChar(_ c: UInt8) -> Bool {
        ByteClass.isWord(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
    }

    /// Range of the name that ends just before `end` (skipping quotes and spaces), possibly two words ("api key").
    private static func nameBefore(_ b: Bytes, _ end: Int) -> Range<Int> {
        var e = end
        var hops = 0
        while e > 0 && hops < 3 && (b[e - 1] == 0x20 || b[e - 1] == UInt8(ascii: "\"") || b[e - 1] == UInt8(ascii: "'")) {
            e -= 1
            hops += 1
        }
        var s = e
        while s > 0 && isNameChar(b[s - 1]) && e - s < 64 { s -= 1 }
        // Two-word names: "api key", "access token", "secret key".
        if s >= 2 && b[s - 1] == 0x20 && ByteClass.isAlpha(b[s - 2]) && e - s <= 6 {
            var s2 = s - 1
            while s2 > 0 && isNameChar(b[s2 - 1]) && s - s2 < 16 { s2 -= 1 }
            s = s2
        }
        return s..<e
    }

    /// First letters of the keywords, for a cheap pre-filter.
    private static func mayStartKeyword(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "p"), UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "e"): return true
        default: return false
        }
    }

    /// All keywords in one buffer (no per-keyword retain/release in the hot path).
    private static let flatKeywords: [UInt8] = nameKeywords.flatMap { $0 }
    private static let keywordSpans: [Range<Int>] = {
        var out: [Range<Int>] = []
        var o = 0
        for k in nameKeywords {
            out.append(o..<(o + k.count))
            o += k.count
        }
        return out
    }()

    /// Bitmap of the keywords' first two (lower-case) letters: 65 536 bits.
    private static let firstPairs: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 1024)
        for k in nameKeywords {
            let p = Int(k[0]) << 8 | Int(k[1])
            bits[p >> 6] |= 1 << UInt64(p & 63)
        }
        return bits
    }()

    /// `keywordSpans` grouped by first byte: `spansByFirst[firstSpanIndex[c]..<firstSpanIndex[c + 1]]`
    /// are the keywords starting with `c`.
    private static let spansByFirst: [Range<Int>] = keywordSpans.sorted { flatKeywords[$0.lowerBound] < flatKeywords[$1.lowerBound] }
    private static let firstSpanIndex: [Int] = {
        var idx = [Int](repeating: 0, count: 257)
        for span in keywordSpans { idx[Int(flatKeywords[span.lowerBound]) + 1] += 1 }
        for k in 1...256 { idx[k] += idx[k - 1] }
        return idx
    }()

    private static func containsKeyword(_ b: Bytes, _ name: Range<Int>) -> Bool {
        guard name.count >= 3 else { return false }
        let flat = flatKeywords, spans = spansByFirst, first = firstSpanIndex, pairs = firstPairs
        for start in name.lowerBound..<(name.upperBound - 2) {
            let c = ByteClass.lower(b[start])
            guard mayStartKeyword(c) else { continue }
            let p = Int(c) << 8 | Int(ByteClass.lower(b[start + 1]))
            guard pairs[p >> 6] & (1 << UInt64(p & 63)) != 0 else { continue }
            for span in spans[first[Int(c)]..<first[Int(c) + 1]] where start + span.count <= name.upperBound {
                var ok = true
                var k = 1
                while k < span.count {
                    if ByteClass.lower(b[start + k]) != flat[span.lowerBound + k] {
                        ok = false
                        break
                    }
                    k += 1
                }
                if ok { return true }
            }
        }
        return false
    }

    /// The value that starts at or after `from`: quoted or up to whitespace; trailing punctuation trimmed.
    private static func value(_ b: Bytes, from: Int) -> Range<Int>? {
        var i = from
        while i < b.count && (b[i] == 0x20 || b[i] == 0x09) && i - from < 4 { i += 1 }
        let q = b.at(i)
        if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") || q == UInt8(ascii: "`") {
            let s = i + 1
            var e = s
            while e < b.count && b[e] != q && b[e] != 0x0A && e - s < 256 { e += 1 }
            return e > s ? s..<e : nil
        }
        let s = i
        var e = s
        while e < b.count && !ByteClass.isSpace(b[e]) && e - s < 256 { e += 1 }
        while e > s {
            let c = b[e - 1]
            if c == UInt8(ascii: ",") || c == UInt8(ascii: ";") || c == UInt8(ascii: ".") || c == UInt8(ascii: ")")
                || c == UInt8(ascii: "}") || c == UInt8(ascii: "]")
            {
                e -= 1
            } else {
                break
            }
        }
        return e > s ? s..<e : nil
    }

    /// High-entropy test: ≥ 8 characters, a digit or symbol, two character classes, ≥ 2.5 bits/char,
    /// and not a template placeholder or a piece of code.
    static func looksSecret(_ b: Bytes, _ r: Range<Int>) -> Bool {
        guard r.count >= 8 else { return false }
        let first = b[r.lowerBound]
        if first == UInt8(ascii: "$") && (b.at(r.lowerBound + 1) == UInt8(ascii: "{") || ByteClass.isUpper(b.at(r.lowerBound + 1))) {
            return false
        }
        if first == UInt8(ascii: "<") || first == UInt8(ascii: "{") || first == UInt8(ascii: "%") || first == UInt8(ascii: "[") {
            return false
        }
        // Code, not a literal: calls, subscripts, generics (`getToken()`, `form['password']`).
        // Digit-free identifier paths are variable references (`settings.SECRET_KEY`).
        var identifierOnly = true
        var anyDigit = false
        for k in r {
            let c = b[k]
            switch c {
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                return false
            default:
                if ByteClass.isDigit(c) { anyDigit = true } else if !(ByteClass.isWord(c) || c == UInt8(ascii: ".")) { identifierOnly = false }
            }
        }
        if identifierOnly && !anyDigit { return false }
        var lower = false, upper = false, digit = false, symbol = false
        var counts = [Int](repeating: 0, count: 128)
        for k in r {
            let c = b[k]
            if c >= 128 {
                symbol = true
                continue
            }
            counts[Int(c)] += 1
            if ByteClass.isLower(c) { lower = true } else if ByteClass.isUpper(c) { upper = true } else if ByteClass.isDigit(c) { digit = true } else { symbol = true }
        }
        let classes = (lower ? 1 : 0) + (upper ? 1 : 0) + (digit ? 1 : 0) + (symbol ? 1 : 0)
        guard classes >= 2, digit || symbol else { return false }
        let n = Double(r.count)
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / n
            h -= p * log2(p)
        }
        return h >= 2.5
    }

    /// At a `:` or `=` (`sep`): name before it must be a secret's name, value after it must look secret.
    static func assignment(_ b: Bytes, sep: Int) -> Range<Int>? {
        let c = b[sep]
        var after = sep + 1
        if c == UInt8(ascii: ":") {
            if b.at(sep + 1) == UInt8(ascii: "/") && b.at(sep + 2) == UInt8(ascii: "/") { return nil }  // URL
            if b.at(sep + 1) == UInt8(ascii: "=") { after += 1 }  // :=
        } else {
            let p = b.at(sep - 1)
            if p == UInt8(ascii: "=") || p == UInt8(ascii: "!") || p == UInt8(ascii: "<") || p == UInt8(ascii: ">") || p == UInt8(ascii: ":") {
                return nil
            }
            if b.at(sep + 1) == UInt8(ascii: "=") { return nil }  // comparison
            if b.at(sep + 1) == UInt8(ascii: ">") { after += 1 }  // =>
        }
        guard containsKeyword(b, nameBefore(b, sep)) else { return nil }
        var from = after
        // "Authorization: Bearer xyz" — the value is after the scheme word.
        if b.hasPrefixIgnoringCase(" bearer ", at: from) { from += 8 } else if b.hasPrefixIgnoringCase(" basic ", at: from) { from += 7 }
        guard let v = value(b, from: from), looksSecret(b, v) else { return nil }
        return v
    }

    /// At a word `is`/`was` (`at`): "my password is Xy9$…".
    static func proseAssignment(_ b: Bytes, at: Int, wordLength: Int) -> Range<Int>? {
        guard b.at(at + wordLength) == 0x20, at >= 2, b[at - 1] == 0x20 else { return nil }
        guard containsKeyword(b, nameBefore(b, at - 1)) else { return nil }
        guard let v = value(b, from: at + wordLength + 1), looksSecret(b, v) else { return nil }
        return v
    }

    /// "Bearer <token>" anywhere (HTTP header pasted into a prompt).
    static func bearer(_ b: Bytes, at: Int) -> Range<Int>? {
        guard b.hasPrefixIgnoringCase("bearer ", at: at) else { return nil }
        let s = at + 7
        let e = b.skip(from: s) { c in
            ByteClass.isBase64URL(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "~") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "=")
        }
        guard e - s >= 16, looksSecret(b, s..<e) else { return nil }
        return s..<e
    }
}
