/// Scanners for financial and national identifiers: payment cards, IBANs, US SSNs.
///
/// Each one validates a checksum or issuing rule, not just a digit shape, so order numbers,
/// invoice ids and timestamps that merely look numeric are not flagged.
enum FinancialDetectors {
    // MARK: Payment cards

    /// Luhn (mod-10) check over ASCII digits.
    static func luhn(_ d: [UInt8]) -> Bool {
        var sum = 0
        var double = false
        for c in d.reversed() {
            var v = Int(c &- 0x30)
            if double {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
            double.toggle()
        }
        return sum % 10 == 0
    }

    /// Known issuer identification number ranges with their valid lengths.
    static func knownIssuer(_ d: [UInt8]) -> Bool {
        let n = d.count
        func p(_ k: Int) -> Int {
            var v = 0
            for i in 0..<k { v = v * 10 + Int(d[i] &- 0x30) }
            return v
        }
        switch d[0] {
        case UInt8(ascii: "4"): return n == 13 || n == 16 || n == 19  // Visa
        case UInt8(ascii: "2"): return n == 16 && (2221...2720).contains(p(4))  // Mastercard 2-series
        case UInt8(ascii: "5"):
            let two = p(2)
            if (51...55).contains(two) { return n == 16 }  // Mastercard
            return (two == 50 || (56...59).contains(two)) && n >= 13  // Maestro
        case UInt8(ascii: "3"):
            let two = p(2)
            if two == 34 || two == 37 { return n == 15 }  // Amex
            if (300...305).contains(p(3)) || two == 36 || two == 38 || two == 39 { return n >= 14 }  // Diners
            if (3528...3589).contains(p(4)) { return n >= 16 }  // JCB
            return false
        case UInt8(ascii: "6"):
            return n >= 13  // Discover 6011/644-649/65, UnionPay 62, Maestro 6x
        default: return false
        }
    }

    /// 13–19 digits, optionally grouped by single spaces or dashes, known issuer, Luhn-valid.
    /// When the grouped run is longer than a card, shorter prefixes ending at a group
    /// boundary are tried too (e.g. a card followed by a CVV).
    static func card(_ b: Bytes, at: Int) -> Range<Int>? {
        // Fast rejection without allocating: issuer digit, then at least 13 digits in the run.
        let first = b[at]
        guard first >= UInt8(ascii: "2") && first <= UInt8(ascii: "6") else { return nil }
        var n = 0
        var j = at
        while j < b.count {
            let c = b[j]
            if ByteClass.isDigit(c) {
                n += 1
            } else if !((c == 0x20 || c == UInt8(ascii: "-")) && ByteClass.isDigit(b.at(j + 1))) {
                break
            }
            j += 1
        }
        guard n >= 13 && n <= 19 + 4 else { return nil }
        var d: [UInt8] = []
        d.reserveCapacity(24)
        var ends: [(end: Int, digits: Int)] = []
        var i = at
        while i < b.count && d.count <= 19 {
            let c = b[i]
            if ByteClass.isDigit(c) {
                d.append(c)
                i += 1
                continue
            }
            if (c == 0x20 || c == UInt8(ascii: "-")) && ByteClass.isDigit(b.at(i + 1)) {
                ends.append((i, d.count))
                i += 1
                continue
            }
            break
        }
        if d.count > 19 || ByteClass.isDigit(b.at(i)) { return nil }  // more than 19 digits: not a card
        if !ByteClass.isWord(b.at(i)) { ends.append((i, d.count)) }
        for (end, n) in ends.reversed() where n >= 13 && n <= 19 {
            let digits = Array(d[0..<n])
            if knownIssuer(digits) && luhn(digits) { return at..<end }
        }
        return nil
    }

    // MARK: IBAN

    /// ISO 13616 lengths per country.
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
        "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
        "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    /// Lookup table indexed by `(c0 - 'A') * 26 + (c1 - 'A')`; 0 means unknown country.
    static let ibanLengthTable: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 26 * 26)
        for (k, v) in ibanLengths {
            let u = Array(k.utf8)
            t[Int(u[0] - 65) * 26 + Int(u[1] - 65)] = UInt8(v)
        }
        return t
    }()

    /// Country code, check digits, BBAN (spaces between groups allowed), right length, mod-97 == 1.
    static func iban(_ b: Bytes, at: Int, table: [UInt8]) -> Range<Int>? {
        let c0 = b[at], c1 = b.at(at + 1)
        guard ByteClass.isUpper(c0), ByteClass.isUpper(c1),
            ByteClass.isDigit(b.at(at + 2)), ByteClass.isDigit(b.at(at + 3))
        else { return nil }
        let expected = Int(table[Int(c0 - 65) * 26 + Int(c1 - 65)])
        guard expected > 0 else { return nil }
        var chars: [UInt8] = []
        chars.reserveCapacity(expected)
        var i = at
        while i < b.count && chars.count < expected {
            let c = b[i]
            if ByteClass.isAlnum(c) {
                chars.append(ByteClass.isLower(c) ? c - 32 : c)
                i += 1
            } else if c == 0x20 && ByteClass.isAlnum(b.at(i + 1)) && chars.count >= 4 {
                i += 1
            } else {
                break
            }
        }
        guard chars.count == expected, !ByteClass.isWord(b.at(i)) else { return nil }
        // Move the first four characters to the end, letters → 10...35, remainder mod 97.
        var rem = 0
        for k in 0..<expected {
            let c = chars[(k + 4) % expected]
            if ByteClass.isDigit(c) {
                rem = (rem * 10 + Int(c - 48)) % 97
            } else {
                rem = (rem * 100 + Int(c - 55)) % 97
            }
        }
        return rem == 1 ? at..<i : nil
    }

    // MARK: US SSN

    /// `AAA-GG-SSSS` (or spaces): area not 000, 666 or 900–999; group not 00; serial not 0000.
    /// Ungrouped nine-digit runs are not flagged: too many ids look like that.
    static func ssn(_ b: Bytes, at: Int) -> Range<Int>? {
        guard at + 11 <= b.count else { return nil }
        let sep = b[at + 3]
        guard sep == UInt8(ascii: "-") || sep == 0x20, b[at + 6] == sep else { return nil }
        for k in [0, 1, 2, 4, 5, 7, 8, 9, 10] where !ByteClass.isDigit(b[at + k]) { return nil }
        let area = Int(b[at] - 48) * 100 + Int(b[at + 1] - 48) * 10 + Int(b[at + 2] - 48)
        let group = Int(b[at + 4] - 48) * 10 + Int(b[at + 5] - 48)
        let serial = (7...10).reduce(0) { $0 * 10 + Int(b[at + $1] - 48) }
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        let e = at + 11
        let next = b.at(e)
        if ByteClass.isWord(next) { return nil }
        if (next == UInt8(ascii: "-") || next == 0x20 || next == UInt8(ascii: ".")) && ByteClass.isDigit(b.at(e + 1)) {
            return nil
        }
        return at..<e
    }
}
