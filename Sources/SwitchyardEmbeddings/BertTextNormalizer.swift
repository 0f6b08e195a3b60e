import Foundation

/// BERT "basic tokenization" for uncased models, matching the Hugging Face
/// fast tokenizer (`BertNormalizer` + `BertPreTokenizer`) that
/// sentence-transformers uses: drop control characters, map whitespace to
/// spaces, isolate CJK ideographs, strip accents (NFD, then drop Mn),
/// lowercase, then split on whitespace and isolate punctuation.
///
/// Words are produced one at a time so that very long inputs stop being
/// processed once the truncation budget is used up.
enum BertTextNormalizer {
    /// Calls `body` with each pre-token (as UTF-8 bytes) until it returns false.
    static func forEachWord(in text: String, _ body: (ArraySlice<UInt8>) -> Bool) {
        var word: [Unicode.Scalar] = []
        word.reserveCapacity(32)
        var keepGoing = true

        func flush() {
            guard !word.isEmpty, keepGoing else { word.removeAll(keepingCapacity: true); return }
            keepGoing = emitNormalized(word, body)
            word.removeAll(keepingCapacity: true)
        }

        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                // ASCII fast path: whitespace, control characters, everything else.
                if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D {
                    flush()
                } else if v < 0x20 || v == 0x7F {
                    continue
                } else {
                    word.append(scalar)
                }
            } else if v == 0xFFFD || isControl(scalar) {
                continue
            } else if scalar.properties.isWhitespace {
                flush()
            } else if isCJKIdeograph(v) {
                flush()
                word.append(scalar)
                flush()
            } else {
                word.append(scalar)
            }
            if !keepGoing { return }
        }
        flush()
    }

    /// Cc, Cf and Co (Rust `char::is_other` as used by `tokenizers`, which in
    /// practice keeps unassigned code points), except tab/newline/CR.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified/Compatibility Ideograph blocks BERT splits into single characters.
    static func isCJKIdeograph(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v)
            || (0x20000...0x2A6DF).contains(v) || (0x2A700...0x2B73F).contains(v)
            || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// ASCII punctuation ranges plus every Unicode P* category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Strips accents, lowercases, splits off punctuation and emits each piece.
    private static func emitNormalized(_ word: [Unicode.Scalar], _ body: (ArraySlice<UInt8>) -> Bool) -> Bool {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(word.count + 8)
        if word.allSatisfy({ $0.value < 0x80 }) {
            var start = 0
            for scalar in word {
                var b = UInt8(truncatingIfNeeded: scalar.value)
                if isPunctuation(scalar) {
                    if bytes.count > start, !body(bytes[start...]) { return false }
                    bytes.append(b)
                    if !body(bytes[(bytes.count - 1)...]) { return false }
                    start = bytes.count
                    continue
                }
                if b >= 0x41 && b <= 0x5A { b += 0x20 }
                bytes.append(b)
            }
            if bytes.count > start { return body(bytes[start...]) }
            return true
        }
        // General path: NFD, drop nonspacing marks, then full lowercase mapping per scalar.
        var text = String()
        text.unicodeScalars.append(contentsOf: word)
        let decomposed = text.decomposedStringWithCanonicalMapping
        var start = 0
        for scalar in decomposed.unicodeScalars {
            if scalar.properties.generalCategory == .nonspacingMark { continue }
            if isPunctuation(scalar) {
                if bytes.count > start, !body(bytes[start...]) { return false }
                let mark = bytes.count
                bytes.append(contentsOf: String(scalar).utf8)
                if !body(bytes[mark...]) { return false }
                start = bytes.count
                continue
            }
            if scalar.value < 0x80 {
                var b = UInt8(truncatingIfNeeded: scalar.value)
                if b >= 0x41 && b <= 0x5A { b += 0x20 }
                bytes.append(b)
            } else {
                bytes.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
            }
        }
        if bytes.count > start { return body(bytes[start...]) }
        return true
    }
}
