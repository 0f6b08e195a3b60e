/// ASCII byte classification used by the hand-written scanners.
///
/// The detectors run over raw UTF-8 bytes; every pattern they look for is ASCII, and UTF-8
/// guarantees that ASCII bytes never occur inside a multi-byte sequence, so byte-level matching
/// never splits a character.
enum ByteClass {
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
    static func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }
    static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isAlpha(b) }
    /// Letters, digits and `_`: the characters of an identifier.
    static func isWord(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") }
    static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20) &- 0x61 < 6 }
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    /// base64url alphabet (JWT segments, many token formats).
    static func isBase64URL(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") }
    static func lower(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }
    static func digitValue(_ b: UInt8) -> Int { Int(b &- 0x30) }
}

/// Per-byte flags for the hot loops (one load instead of several comparisons).
enum ByteFlags {
    static let word: UInt8 = 1  // letter, digit, _
    static let alpha: UInt8 = 2
    static let digit: UInt8 = 4
    static let wordPart: UInt8 = 8  // heuristic word characters: word, - ; \ #
    static let wordStart: UInt8 = 16  // heuristic word start: letter, # \
    static let special: UInt8 = 32  // heuristic specials: newline ? `
    static let hex: UInt8 = 64
    static let letterTrigger: UInt8 = 128  // starts a token the scanner checks: A–Z, g x s e i w b

    static let table: [UInt8] = (0..<256).map { i in
        let b = UInt8(i)
        var f: UInt8 = 0
        if ByteClass.isWord(b) { f |= word | wordPart }
        if ByteClass.isAlpha(b) { f |= alpha | wordStart }
        if ByteClass.isDigit(b) { f |= digit }
        if b == UInt8(ascii: "-") || b == UInt8(ascii: ";") { f |= wordPart }
        if b == UInt8(ascii: "#") || b == UInt8(ascii: "\\") { f |= wordPart | wordStart }
        if b == 0x0A || b == UInt8(ascii: "?") || b == UInt8(ascii: "`") { f |= special }
        if ByteClass.isHex(b) { f |= hex }
        if ByteClass.isUpper(b) || "gxseiwb".utf8.contains(b) { f |= letterTrigger }
        return f
    }
}

/// A borrowed view of a text's UTF-8 bytes with bounds-safe helpers.
struct Bytes {
    let p: UnsafeBufferPointer<UInt8>
    var count: Int { p.count }

    @inline(__always) subscript(_ i: Int) -> UInt8 { p[i] }

    /// Byte at `i`, or 0 outside the buffer (0 never matches any class).
    @inline(__always) func at(_ i: Int) -> UInt8 { i >= 0 && i < p.count ? p[i] : 0 }

    /// True when `s` (ASCII) occurs at `i`, exactly.
    func hasPrefix(_ s: StaticString, at i: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i >= 0, i + n <= p.count else { return false }
        let q = s.utf8Start
        for k in 0..<n where p[i + k] != q[k] { return false }
        return true
    }

    /// Case-insensitive version of ``hasPrefix(_:at:)``; `s` must be lower-case.
    func hasPrefixIgnoringCase(_ s: StaticString, at i: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i >= 0, i + n <= p.count else { return false }
        let q = s.utf8Start
        for k in 0..<n where ByteClass.lower(p[i + k]) != q[k] { return false }
        return true
    }

    /// Case-insensitive comparison with a lower-case byte array.
    func matchesIgnoringCase(_ s: [UInt8], at i: Int) -> Bool {
        guard i >= 0, i + s.count <= p.count else { return false }
        for k in 0..<s.count where ByteClass.lower(p[i + k]) != s[k] { return false }
        return true
    }

    /// Index of the first byte at or after `i` that is not in the class.
    @inline(__always) func skip(from i: Int, while pred: (UInt8) -> Bool) -> Int {
        var j = i
        while j < p.count && pred(p[j]) { j += 1 }
        return j
    }

    /// True when `i` starts a word: the previous byte is not a letter, digit or `_`.
    @inline(__always) func isWordStart(_ i: Int) -> Bool { !ByteClass.isWord(at(i - 1)) }
    /// True when `i` is just past a word: the byte at `i` is not a letter, digit or `_`.
    @inline(__always) func isWordEnd(_ i: Int) -> Bool { !ByteClass.isWord(at(i)) }
}
