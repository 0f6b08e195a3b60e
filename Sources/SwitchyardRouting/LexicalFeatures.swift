import Foundation

/// Cheap, transparent prompt features: length, numbers, math, code and multi-step-reasoning
/// signals. Each value is roughly in [0, 1] (logs and capped counts) so they mix with an L2-normalised
/// embedding without rescaling. Used directly by the heuristic router and appended to the
/// embedding by the classifier.
public struct LexicalFeatures: Sendable, Equatable {
    public static let names = [
        "log_chars", "log_words", "log_lines", "numbers", "math_symbols", "math_words", "code",
        "reasoning_words", "questions", "multiple_choice", "sentences", "creative_words", "constraints",
        "latex",
    ]
    public static var count: Int { names.count }

    public var values: [Float]

    public init(_ prompt: String) {
        let lower = prompt.lowercased()
        let scalars = prompt.unicodeScalars
        let chars = Double(scalars.count)
        var words = 0, numbers = 0, mathSymbols = 0, questionMarks = 0, lines = 1, sentences = 0
        var inWord = false, inNumber = false
        var prevIsNumber = false
        for ch in scalars {
            // ASCII answers from ranges (the same as the Unicode properties there); the
            // property lookups cost a table search per scalar.
            let isNumber: Bool, isAlphabetic: Bool
            if ch.isASCII {
                let v = ch.value
                isNumber = v >= 48 && v <= 57
                isAlphabetic = (v >= 65 && v <= 90) || (v >= 97 && v <= 122)
            } else {
                isNumber = ch.properties.numericType != nil
                isAlphabetic = ch.properties.isAlphabetic
            }
            if isAlphabetic || isNumber { if !inWord { words += 1 }; inWord = true } else { inWord = false }
            if isNumber { if !inNumber { numbers += 1 }; inNumber = true }
            else if !(inNumber && (ch == "." || ch == ",")) { inNumber = false }
            switch ch {
            case "=", "+", "*", "^", "%", "$", "<", ">", "√", "π", "×", "÷", "∫", "∑": mathSymbols += 1
            case "/" where prevIsNumber: mathSymbols += 1
            case "?": questionMarks += 1
            case "\n": lines += 1
            default: break
            }
            if (ch == "." || ch == "!" || ch == "?") && !prevIsNumber { sentences += 1 }
            prevIsNumber = isNumber
        }
        let bytes = Array(lower.utf8)
        func contains(_ key: String) -> Bool { LexicalFeatures.find(Array(key.utf8), in: bytes) }
        func hits(_ keys: [String]) -> Int { keys.reduce(0) { $0 + (contains($1) ? 1 : 0) } }
        let mathWords = hits([
            "calculate", "solve", "equation", "integral", "derivative", "probability", "prove", "how many",
            "how much", "percent", "total", "sum of", "average", "ratio", "remainder", "fraction", "times as",
            "each", "per ", "theorem", "matrix", "polynomial", "compute",
        ])
        let code = hits([
            "```", "def ", "function", "return ", "class ", "import ", "#include", "select ", "=>", "();",
            "console.", "print(", "python", "javascript", "java ", "c++", "sql", "regex", "algorithm", "code",
            "bug", "compile", "api", "json", "html", "bash",
        ])
        let reasoning = hits([
            "step by step", "step-by-step", "explain why", "why ", "compare", "analy", "evaluate", "justify",
            "reason", "prove", "derive", "if ", "then", "therefore", "assume", "suppose", "implication",
            "trade-off", "pros and cons", "which of the following",
        ])
        let creative = hits([
            "poem", "story", "haiku", "joke", "song", "lyrics", "slogan", "tweet", "email", "letter", "rewrite",
            "paraphrase", "summarize", "translate", "list ", "name some", "recipe", "tips",
        ])
        let constraints = hits([
            "must", "exactly", "at least", "at most", "no more than", "without", "only", "format", "words",
            "constraint", "do not", "don't",
        ])
        let latex = hits(["\\frac", "\\sqrt", "$$", "\\(", "\\[", "\\sum", "\\int", "^{", "_{"])
        let multipleChoice = (contains("\na.") || contains("\na)") || contains("(a)"))
            && (contains("\nb.") || contains("\nb)") || contains("(b)"))
        func logScale(_ x: Double, _ cap: Double) -> Float { Float(log1p(x) / log1p(cap)) }
        func capped(_ x: Int, _ cap: Int) -> Float { Float(min(x, cap)) / Float(cap) }
        values = [
            logScale(chars, 4000), logScale(Double(words), 800), logScale(Double(lines), 100),
            logScale(Double(numbers), 30), logScale(Double(mathSymbols), 30), capped(mathWords, 6), capped(code, 6),
            capped(reasoning, 6), capped(questionMarks, 5), multipleChoice ? 1 : 0, logScale(Double(sentences), 40),
            capped(creative, 4), capped(constraints, 6), capped(latex, 4),
        ]
    }

    /// Byte-substring search (keywords are short; prompts are scanned once per keyword).
    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Bool {
        let n = needle.count, m = hay.count
        guard n > 0, n <= m, let first = needle.first else { return n == 0 }
        return hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { k in
                var i = 0
                while i <= m - n {
                    if h[i] == first {
                        var j = 1
                        while j < n && h[i + j] == k[j] { j += 1 }
                        if j == n { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }

    public subscript(_ name: String) -> Float { values[LexicalFeatures.names.firstIndex(of: name)!] }
}
