/// Scanners for credentials with a recognisable shape: PEM private keys, cloud and SaaS
/// API keys, and JSON Web Tokens.
///
/// These are the items whose leak is most damaging, so they take precedence over any other
/// detection that overlaps them.
enum CredentialDetectors {
    // MARK: PEM

    /// `-----BEGIN … PRIVATE KEY-----` through the matching END line. A block without an END
    /// line (truncated paste) extends to the end of the text: better too much than a leak.
    static func pemPrivateKey(_ b: Bytes, at: Int) -> Range<Int>? {
        guard b.hasPrefix("-----BEGIN ", at: at) else { return nil }
        var i = at + 11
        let labelStart = i
        while i < b.count && (ByteClass.isUpper(b[i]) || b[i] == 0x20) && i - labelStart < 40 { i += 1 }
        guard b.hasPrefix("-----", at: i) else { return nil }
        let label = String(decoding: UnsafeBufferPointer(rebasing: b.p[labelStart..<i]), as: UTF8.self)
        guard label.hasSuffix("PRIVATE KEY") || label.hasSuffix("PRIVATE KEY BLOCK") else { return nil }
        var j = i + 5
        while j < b.count {
            if b[j] == UInt8(ascii: "-") && b.hasPrefix("-----END ", at: j) {
                var k = j + 9
                while k < b.count && (ByteClass.isUpper(b[k]) || b[k] == 0x20) && k - j < 60 { k += 1 }
                if b.hasPrefix("-----", at: k) { return at..<(k + 5) }
                return at..<k
            }
            j += 1
        }
        return at..<b.count
    }

    // MARK: Prefixed API keys

    private static func isKeyUpper(_ c: UInt8) -> Bool { ByteClass.isUpper(c) || ByteClass.isDigit(c) }

    /// AWS access key ids: `AKIA`/`ASIA`/… followed by 16 upper-case alphanumerics.
    static func awsAccessKey(_ b: Bytes, at: Int) -> Range<Int>? {
        guard at + 20 <= b.count else { return nil }
        let ok =
            b.hasPrefix("AKIA", at: at) || b.hasPrefix("ASIA", at: at) || b.hasPrefix("AGPA", at: at)
            || b.hasPrefix("AIDA", at: at) || b.hasPrefix("AROA", at: at) || b.hasPrefix("ANPA", at: at)
            || b.hasPrefix("ANVA", at: at) || b.hasPrefix("AIPA", at: at) || b.hasPrefix("ABIA", at: at)
            || b.hasPrefix("ACCA", at: at)
        guard ok else { return nil }
        for k in (at + 4)..<(at + 20) where !isKeyUpper(b[k]) { return nil }
        return ByteClass.isWord(b.at(at + 20)) ? nil : at..<(at + 20)
    }

    /// Run of `pred` characters after `start`, at least `min` long and ending the token.
    private static func tail(_ b: Bytes, _ start: Int, min: Int, _ pred: (UInt8) -> Bool) -> Int? {
        let e = b.skip(from: start, while: pred)
        guard e - start >= min, !ByteClass.isAlnum(b.at(e)) else { return nil }
        return e
    }

    /// GitHub tokens: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` (classic) and `github_pat_` (fine-grained).
    static func githubToken(_ b: Bytes, at: Int) -> Range<Int>? {
        if b.hasPrefix("github_pat_", at: at) {
            return tail(b, at + 11, min: 22, ByteClass.isWord).map { at..<$0 }
        }
        guard b.hasPrefix("gh", at: at), b.at(at + 3) == UInt8(ascii: "_") else { return nil }
        switch b.at(at + 2) {
        case UInt8(ascii: "p"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "s"), UInt8(ascii: "r"):
            return tail(b, at + 4, min: 30, ByteClass.isAlnum).map { at..<$0 }
        default: return nil
        }
    }

    private static func isSlackChar(_ c: UInt8) -> Bool { ByteClass.isAlnum(c) || c == UInt8(ascii: "-") }

    /// Slack tokens `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-` (and `xapp-`).
    static func slackToken(_ b: Bytes, at: Int) -> Range<Int>? {
        if b.hasPrefix("xapp-", at: at) { return tail(b, at + 5, min: 20, isSlackChar).map { at..<$0 } }
        guard b.hasPrefix("xox", at: at), b.at(at + 4) == UInt8(ascii: "-") else { return nil }
        switch b.at(at + 3) {
        case UInt8(ascii: "b"), UInt8(ascii: "p"), UInt8(ascii: "a"), UInt8(ascii: "r"), UInt8(ascii: "s"):
            return tail(b, at + 5, min: 10, isSlackChar).map { at..<$0 }
        default: return nil
        }
    }

    /// `sk-ant-…` (Anthropic) or `sk-…` / `sk-proj-…` (OpenAI style). Returns the range and rule.
    static func skKey(_ b: Bytes, at: Int) -> (Range<Int>, String)? {
        guard b.hasPrefix("sk-", at: at) else { return nil }
        let e = b.skip(from: at + 3, while: ByteClass.isBase64URL)
        guard e - at - 3 >= 20, !ByteClass.isAlnum(b.at(e)) else { return nil }
        var hasDigit = false
        var hasAlpha = false
        for k in (at + 3)..<e {
            if ByteClass.isDigit(b[k]) { hasDigit = true } else if ByteClass.isAlpha(b[k]) { hasAlpha = true }
        }
        guard hasDigit && hasAlpha else { return nil }
        return (at..<e, b.hasPrefix("sk-ant-", at: at) ? "anthropic_key" : "openai_key")
    }

    // MARK: JWT

    /// `header.payload.signature` in base64url whose header decodes to a JSON object with `"alg"`.
    static func jwt(_ b: Bytes, at: Int) -> Range<Int>? {
        guard b.hasPrefix("eyJ", at: at) else { return nil }
        let h = b.skip(from: at, while: ByteClass.isBase64URL)
        guard h - at >= 10, b.at(h) == UInt8(ascii: ".") else { return nil }
        let p = b.skip(from: h + 1, while: ByteClass.isBase64URL)
        guard p - h - 1 >= 2, b.at(p) == UInt8(ascii: ".") else { return nil }
        let s = b.skip(from: p + 1, while: ByteClass.isBase64URL)
        if b.at(s) == UInt8(ascii: ".") && ByteClass.isBase64URL(b.at(s + 1)) { return nil }
        guard headerHasAlg(b, at..<h) else { return nil }
        return at..<s
    }

    private static func b64Value(_ c: UInt8) -> Int? {
        switch c {
        case 65...90: return Int(c) - 65
        case 97...122: return Int(c) - 71
        case 48...57: return Int(c) + 4
        case UInt8(ascii: "-"), UInt8(ascii: "+"): return 62
        case UInt8(ascii: "_"), UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    static func base64URLDecode(_ b: Bytes, _ r: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(r.count * 3 / 4)
        var acc = 0
        var bits = 0
        for k in r {
            guard let v = b64Value(b[k]) else { break }
            acc = (acc << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> bits) & 0xFF))
            }
        }
        return out
    }

    private static func headerHasAlg(_ b: Bytes, _ r: Range<Int>) -> Bool {
        let d = base64URLDecode(b, r.lowerBound..<min(r.upperBound, r.lowerBound + 512))
        guard let first = d.first(where: { !ByteClass.isSpace($0) }), first == UInt8(ascii: "{") else { return false }
        let needle: [UInt8] = Array("\"alg\"".utf8)
        guard d.count >= needle.count else { return false }
        for k in 0...(d.count - needle.count) where d[k] == needle[0] {
            if Array(d[k..<(k + needle.count)]) == needle { return true }
        }
        return false
    }
}
