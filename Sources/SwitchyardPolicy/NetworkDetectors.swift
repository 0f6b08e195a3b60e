/// Scanners for IPv4 and IPv6 addresses.
///
/// Version strings are the classic false positive: `1.2.3.4.5`, `v1.2.3.4` and
/// `version 10.0.0.1` are rejected, as are octets above 255 and leading zeros.
enum NetworkDetectors {
    /// Words that, right before a dotted quad, mean it is a version number.
    private static let versionWords: [[UInt8]] = [
        "version", "ver", "v", "release", "build", "rev", "revision", "firmware", "kernel", "sdk", "patch",
    ].map { Array($0.utf8) }

    private static func precededByVersionWord(_ b: Bytes, _ at: Int) -> Bool {
        var e = at
        while e > 0 && (b[e - 1] == 0x20 || b[e - 1] == UInt8(ascii: ":")) && at - e < 3 { e -= 1 }
        guard e < at || e == at else { return false }
        var s = e
        while s > 0 && ByteClass.isAlpha(b[s - 1]) && e - s <= 8 { s -= 1 }
        guard s < e, e - s <= 8 else { return false }
        let w = (s..<e).map { ByteClass.lower(b[$0]) }
        return versionWords.contains(w)
    }

    /// One octet 0–255 without leading zeros; returns the index after it.
    private static func octet(_ b: Bytes, _ i: Int) -> Int? {
        let e = b.skip(from: i, while: ByteClass.isDigit)
        let n = e - i
        guard n >= 1 && n <= 3 else { return nil }
        if n > 1 && b[i] == UInt8(ascii: "0") { return nil }
        var v = 0
        for k in i..<e { v = v * 10 + Int(b[k] - 48) }
        return v <= 255 ? e : nil
    }

    /// Dotted-quad IPv4 at `at` (optionally with a `/prefix`).
    static func ipv4(_ b: Bytes, at: Int) -> Range<Int>? {
        if b.at(at - 1) == UInt8(ascii: ".") { return nil }
        var i = at
        for k in 0..<4 {
            guard let e = octet(b, i) else { return nil }
            i = e
            if k < 3 {
                guard b.at(i) == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        // 1.2.3.4.5 or 1.2.3.4a: part of something longer.
        if ByteClass.isWord(b.at(i)) { return nil }
        if b.at(i) == UInt8(ascii: ".") && ByteClass.isAlnum(b.at(i + 1)) { return nil }
        if precededByVersionWord(b, at) { return nil }
        if b.at(i) == UInt8(ascii: "/") && ByteClass.isDigit(b.at(i + 1)) {
            let e = b.skip(from: i + 1, while: ByteClass.isDigit)
            if e - i - 1 <= 2 && !ByteClass.isWord(b.at(e)) { i = e }
        }
        return at..<i
    }

    private static func isV6Char(_ c: UInt8) -> Bool {
        ByteClass.isHex(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
    }

    /// IPv6 (full, `::`-compressed, or with an embedded IPv4 tail) starting at `at`.
    static func ipv6(_ b: Bytes, at: Int) -> Range<Int>? {
        let prev = b.at(at - 1)
        if ByteClass.isWord(prev) || prev == UInt8(ascii: ":") || prev == UInt8(ascii: ".") { return nil }
        var runEnd = at
        var colons = 0
        while runEnd < b.count && isV6Char(b[runEnd]) && runEnd - at < 46 {
            if b[runEnd] == UInt8(ascii: ":") { colons += 1 }
            runEnd += 1
        }
        guard colons >= 2 else { return nil }
        while runEnd > at && b[runEnd - 1] == UInt8(ascii: ".") { runEnd -= 1 }
        if ByteClass.isWord(b.at(runEnd)) { return nil }

        var i = at
        var groups = 0
        var compressed = false
        if b.at(i) == UInt8(ascii: ":") {
            guard b.at(i + 1) == UInt8(ascii: ":") else { return nil }
            compressed = true
            i += 2
        }
        while i < runEnd {
            let ge = b.skip(from: i, while: ByteClass.isHex)
            if ge < runEnd && b[ge] == UInt8(ascii: ".") {
                // Embedded IPv4 tail: must be the last thing.
                guard let r = ipv4Tail(b, i, runEnd) else { return nil }
                i = r
                groups += 2
                break
            }
            let n = ge - i
            guard n >= 1 && n <= 4 else { return nil }
            groups += 1
            i = ge
            if i >= runEnd { break }
            guard b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            if i < runEnd && b[i] == UInt8(ascii: ":") {
                if compressed { return nil }
                compressed = true
                i += 1
            } else if i >= runEnd {
                return nil  // trailing single colon
            }
        }
        guard i == runEnd, groups >= 1 else { return nil }
        guard compressed ? groups <= 7 : groups == 8 else { return nil }
        return at..<runEnd
    }

    private static func ipv4Tail(_ b: Bytes, _ i: Int, _ end: Int) -> Int? {
        var j = i
        for k in 0..<4 {
            guard let e = octet(b, j) else { return nil }
            j = e
            if k < 3 {
                guard j < end, b[j] == UInt8(ascii: ".") else { return nil }
                j += 1
            }
        }
        return j == end ? j : nil
    }
}
