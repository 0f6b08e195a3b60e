/// Scanners for contact data: e-mail addresses and phone numbers.
///
/// Phone numbers are the noisiest category, so the national formats accepted are deliberately
/// narrow (grouped NANP numbers, grouped trunk-`0` numbers) and need at least 9–10 digits:
/// dates (`2024-01-15`, `15.01.2024`) and ungrouped order numbers never qualify.
enum ContactDetectors {
    /// Local part: RFC 5322 "atext" subset plus any non-ASCII byte (internationalised addresses).
    private static func isLocalChar(_ b: UInt8) -> Bool {
        b >= 0x80 || ByteClass.isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }

    private static func isDomainChar(_ b: UInt8) -> Bool {
        b >= 0x80 || ByteClass.isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }

    /// E-mail address around the `@` at `at`.
    static func email(_ b: Bytes, at: Int) -> Range<Int>? {
        var s = at
        while s > 0 && isLocalChar(b[s - 1]) && at - s < 64 { s -= 1 }
        while s < at && (b[s] & 0xC0 == 0x80 || b[s] == UInt8(ascii: ".")) { s += 1 }  // char boundary, no leading dot
        guard s < at, b[at - 1] != UInt8(ascii: ".") else { return nil }
        var e = b.skip(from: at + 1, while: isDomainChar)
        while e > at + 1 && (b[e - 1] == UInt8(ascii: ".") || b[e - 1] == UInt8(ascii: "-")) { e -= 1 }
        guard e > at + 1 else { return nil }
        // Domain: at least two non-empty labels, alphabetic TLD of 2+ letters.
        var lastDot = -1
        var prev: UInt8 = UInt8(ascii: ".")
        for k in (at + 1)..<e {
            let c = b[k]
            if c == UInt8(ascii: ".") {
                if prev == UInt8(ascii: ".") { return nil }
                lastDot = k
            }
            prev = c
        }
        guard lastDot > at + 1, e - lastDot - 1 >= 2 else { return nil }
        for k in (lastDot + 1)..<e where !ByteClass.isAlpha(b[k]) { return nil }
        return s..<e
    }

    private static func isPhoneSep(_ b: UInt8) -> Bool {
        b == 0x20 || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    /// International number starting with `+` at `at`: country code and groups, 8–15 digits (E.164).
    static func internationalPhone(_ b: Bytes, at: Int) -> Range<Int>? {
        guard b.isWordStart(at), ByteClass.isDigit(b.at(at + 1)) else { return nil }
        var i = at + 1
        var digits = 0
        var end = i
        while i < b.count {
            let c = b[i]
            if ByteClass.isDigit(c) {
                digits += 1
                i += 1
                end = i
                if digits > 15 { return nil }
                continue
            }
            // Up to two separator characters between groups, e.g. ") " or " (".
            var j = i
            var seps = 0
            while j < b.count && seps < 2
                && (isPhoneSep(b[j]) || b[j] == UInt8(ascii: "(") || b[j] == UInt8(ascii: ")"))
            {
                j += 1
                seps += 1
            }
            if seps > 0 && ByteClass.isDigit(b.at(j)) {
                i = j
                continue
            }
            break
        }
        guard digits >= 8, !ByteClass.isWord(b.at(end)) else { return nil }
        return at..<end
    }

    /// Reads exactly `n` digits at `i`; returns the index after them.
    private static func digits(_ b: Bytes, _ i: Int, _ n: Int) -> Int? {
        guard i + n <= b.count else { return nil }
        for k in i..<(i + n) where !ByteClass.isDigit(b[k]) { return nil }
        return i + n
    }

    /// The number must not continue: no more digits, letters, or "separator + digit".
    private static func endsCleanly(_ b: Bytes, _ e: Int) -> Bool {
        let c = b.at(e)
        if ByteClass.isWord(c) { return false }
        if (isPhoneSep(c) || c == UInt8(ascii: "/")) && ByteClass.isDigit(b.at(e + 1)) { return false }
        return true
    }

    /// NANP: `(AAA) EEE-NNNN`, `AAA-EEE-NNNN`, `AAA.EEE.NNNN`, `AAA EEE NNNN`, optional leading `1`.
    /// Area code must start with 2–9 (so `123-456-7890`-style sequences do not match).
    static func nanpPhone(_ b: Bytes, at: Int) -> Range<Int>? {
        var i = at
        if b[i] == UInt8(ascii: "1") && isPhoneSep(b.at(i + 1)) && (ByteClass.isDigit(b.at(i + 2)) || b.at(i + 2) == UInt8(ascii: "(")) {
            i += 2
        }
        var sep: UInt8 = 0
        if b.at(i) == UInt8(ascii: "(") {
            guard let a = digits(b, i + 1, 3), b.at(a) == UInt8(ascii: ")") else { return nil }
            guard b.at(i + 1) >= UInt8(ascii: "2") else { return nil }
            i = a + 1
            if b.at(i) == 0x20 { i += 1 }
        } else {
            guard b.at(i) >= UInt8(ascii: "2"), let a = digits(b, i, 3), isPhoneSep(b.at(a)) else { return nil }
            sep = b[a]
            i = a + 1
        }
        guard let ex = digits(b, i, 3) else { return nil }
        let s2 = b.at(ex)
        guard isPhoneSep(s2), sep == 0 || s2 == sep, s2 != 0x20 || sep == 0x20 || sep == 0 else { return nil }
        guard let e = digits(b, ex + 1, 4), endsCleanly(b, e) else { return nil }
        return at..<e
    }

    /// Trunk-prefix national numbers: `020 7946 0958`, `07700 900123`, `030-1234567`,
    /// `01 23 45 67 89` (French pairs). 10–11 digits, consistent separator.
    static func trunkPhone(_ b: Bytes, at: Int) -> Range<Int>? {
        guard b[at] == UInt8(ascii: "0") else { return nil }
        let g1End = b.skip(from: at, while: ByteClass.isDigit)
        let g1 = g1End - at
        let sep = b.at(g1End)
        guard g1 >= 2 && g1 <= 5, sep == 0x20 || sep == UInt8(ascii: "-") || sep == UInt8(ascii: "/") else { return nil }
        var total = g1
        var groups = 1
        var i = g1End
        var end = g1End
        while b.at(i) == sep && ByteClass.isDigit(b.at(i + 1)) {
            let ge = b.skip(from: i + 1, while: ByteClass.isDigit)
            let len = ge - i - 1
            if g1 == 2 ? len != 2 : (len < 3 || len > 8) { break }
            total += len
            groups += 1
            i = ge
            end = ge
            if total >= 11 { break }
        }
        let pairs = g1 == 2
        guard groups >= 2, pairs ? (groups == 5) : (total == 10 || total == 11), endsCleanly(b, end) else { return nil }
        return at..<end
    }
}
