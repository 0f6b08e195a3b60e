/// Finds sensitive items in text without sending it anywhere.
///
/// One pass over the UTF-8 bytes dispatches on "trigger" bytes (digits at a word start, `@`,
/// `+`, `(`, `-----`, `:`/`=`, the first letter of known token prefixes) to small hand-written
/// matchers, so the cost is linear in the text with a small constant — fast enough to run on
/// every request (see `policy-bench`). Custom rules run afterwards.
///
/// Overlapping detections are merged so that every byte any detector flagged is covered by
/// exactly one reported detection (the more specific kind wins, the span is the union):
/// a redactor that masks the reported ranges therefore masks everything that was found.
public struct SensitiveDataScanner: Sendable {
    /// Built-in kinds to look for (set at init); leave one out to switch its detector off.
    public let enabledKinds: Set<SensitiveKind>
    private let enabledMask: UInt32
    public let customRules: [CustomRule]
    private let compiled: [CompiledCustomRule]
    private let ibanTable: [UInt8]

    /// - Throws: ``CustomRuleError`` when a custom pattern does not compile.
    public init(customRules: [CustomRule] = [], enabledKinds: Set<SensitiveKind> = Set(SensitiveKind.allCases)) throws {
        self.customRules = customRules
        self.enabledKinds = enabledKinds
        self.enabledMask = enabledKinds.reduce(0) { $0 | Self.bit($1) }
        self.compiled = try customRules.map(CompiledCustomRule.init)
        self.ibanTable = FinancialDetectors.ibanLengthTable
    }

    /// Detections in `text`, sorted by position, non-overlapping.
    public func scan(_ text: String) -> [Detection] {
        var t = text
        return t.withUTF8 { buf in
            var out = scanBuiltins(Bytes(p: buf))
            for rule in compiled { rule.scan(text, Bytes(p: buf), into: &out) }
            return Self.resolve(out)
        }
    }

    /// Bytes taken from each side of a junction between consecutive texts.
    static let junctionWindow = 512

    /// Scans the texts of one request. Besides each text on its own, the junction between
    /// consecutive texts (512 bytes each side) is scanned as if they were concatenated, so an
    /// item split across content parts (`"card 4111 1111 "` + `"1111 1111"`) is found; its
    /// pieces are reported in both texts. A join that merely glues a complete item to its
    /// neighbour (`"…bob@example.org"` + `"Again"`) is ignored. A private-key block left open at the end of a text continues into the
    /// next text up to its END line.
    public func scan(_ texts: [String]) -> [[Detection]] {
        var out = texts.map { scan($0) }
        guard texts.count > 1 else { return out }
        let window = Self.junctionWindow
        let pemOn = enabledMask & Self.bit(.privateKey) != 0
        func covers(_ d: Detection, _ r: Range<Int>) -> Bool {
            d.utf8Range.lowerBound <= r.lowerBound && r.upperBound <= d.utf8Range.upperBound
        }
        for k in 0..<(texts.count - 1) {
            var ta = texts[k], tb = texts[k + 1]
            let aCount = ta.utf8.count, bCount = tb.utf8.count
            guard aCount > 0, bCount > 0 else { continue }
            // Unterminated PEM block at the end of `a`: mask `b` through the END line.
            if pemOn, let last = out[k].last, last.kind == .privateKey, last.utf8Range.upperBound == aCount,
                !ta.withUTF8({ Self.pemEnd(Bytes(p: $0), from: last.utf8Range.lowerBound + 1) != nil })
            {
                let end = tb.withUTF8 { Self.pemEnd(Bytes(p: $0), from: 0) } ?? bCount
                out[k + 1] = Self.resolve(out[k + 1] + [Detection(kind: .privateKey, rule: "pem_private_key", utf8Range: 0..<end)])
            }
            var joined: [UInt8] = []
            joined.reserveCapacity(2 * window + 8)
            var aStart = max(0, aCount - window)
            ta.withUTF8 { buf in
                while aStart > 0 && aStart < aCount && buf[aStart] & 0xC0 == 0x80 { aStart += 1 }
                joined.append(contentsOf: UnsafeBufferPointer(rebasing: buf[aStart...]))
            }
            tb.withUTF8 { buf in
                var bEnd = min(bCount, window)
                while bEnd < bCount && buf[bEnd] & 0xC0 == 0x80 { bEnd += 1 }
                joined.append(contentsOf: UnsafeBufferPointer(rebasing: buf[..<bEnd]))
            }
            let joint = aCount - aStart
            let found: [Detection]
            if compiled.isEmpty {
                found = joined.withUnsafeBufferPointer { Self.resolve(scanBuiltins(Bytes(p: $0))) }
            } else {
                found = scan(String(decoding: joined, as: UTF8.self))
            }
            var addA: [Detection] = [], addB: [Detection] = []
            for d in found {
                let lo = d.utf8Range.lowerBound, hi = d.utf8Range.upperBound
                if hi <= joint {
                    // Entirely in `a`, found only with `b` as context.
                    let ra = (aStart + lo)..<(aStart + hi)
                    if !out[k].contains(where: { covers($0, ra) }) { addA.append(Detection(kind: d.kind, rule: d.rule, utf8Range: ra)) }
                    continue
                }
                if lo >= joint {
                    // Entirely in `b`, found only with `a` as context ("DB_PASSWO" + "RD=…").
                    let rb = (lo - joint)..<(hi - joint)
                    if !out[k + 1].contains(where: { covers($0, rb) }) { addB.append(Detection(kind: d.kind, rule: d.rule, utf8Range: rb)) }
                    continue
                }
                let ra = (aStart + lo)..<aCount
                var rb = 0..<(hi - joint)
                // A piece already covered on either side means the item is complete in its own
                // text ("…bob@example.org" + "Again") and the join only glued on a neighbour.
                if out[k].contains(where: { covers($0, ra) }) || out[k + 1].contains(where: { covers($0, rb) }) {
                    continue
                }
                if d.kind == .privateKey && hi == joined.count {
                    // Key block still open at the window's end: mask through its END line.
                    rb = 0..<(tb.withUTF8 { Self.pemEnd(Bytes(p: $0), from: 0) } ?? bCount)
                }
                addA.append(Detection(kind: d.kind, rule: d.rule, utf8Range: ra))
                addB.append(Detection(kind: d.kind, rule: d.rule, utf8Range: rb))
            }
            if !addA.isEmpty { out[k] = Self.resolve(out[k] + addA) }
            if !addB.isEmpty { out[k + 1] = Self.resolve(out[k + 1] + addB) }
        }
        return out
    }

    /// Index just past the first `-----END …-----` line, if any.
    private static func pemEnd(_ b: Bytes, from: Int) -> Int? {
        var j = from
        while j < b.count {
            if b[j] == UInt8(ascii: "-") && b.hasPrefix("-----END ", at: j) {
                var k = j + 9
                while k < b.count && (ByteClass.isUpper(b[k]) || b[k] == 0x20) && k - j < 60 { k += 1 }
                return b.hasPrefix("-----", at: k) ? k + 5 : k
            }
            j += 1
        }
        return nil
    }

    @inline(__always) private static func bit(_ k: SensitiveKind) -> UInt32 { 1 << UInt32(kindIndex(k)) }

    /// Position of `k` in `SensitiveKind.allCases` (declaration order), without allocating it.
    @inline(__always) static func kindIndex(_ k: SensitiveKind) -> Int {
        switch k {
        case .email: return 0
        case .phone: return 1
        case .creditCard: return 2
        case .iban: return 3
        case .ssn: return 4
        case .ipAddress: return 5
        case .privateKey: return 6
        case .apiKey: return 7
        case .jwt: return 8
        case .secret: return 9
        case .custom: return 10
        }
    }

    private static func priority(_ k: SensitiveKind) -> Int {
        switch k {
        case .privateKey: return 10
        case .apiKey, .jwt: return 9
        case .secret: return 8
        case .creditCard, .iban, .ssn: return 6
        case .custom: return 5
        case .email: return 4
        case .phone: return 3
        case .ipAddress: return 2
        }
    }

    /// Sort, then merge overlaps: contained items vanish, partial overlaps extend the kept span.
    static func resolve(_ ds: [Detection]) -> [Detection] {
        guard ds.count > 1 else { return ds }
        // Common case: already in order and disjoint, so sorting and merging would change nothing.
        var inOrder = true
        for k in 1..<ds.count where ds[k - 1].utf8Range.upperBound > ds[k].utf8Range.lowerBound
            || ds[k - 1].utf8Range.lowerBound >= ds[k].utf8Range.lowerBound
        {
            inOrder = false
            break
        }
        if inOrder { return ds }
        let sorted = ds.sorted {
            if $0.utf8Range.lowerBound != $1.utf8Range.lowerBound { return $0.utf8Range.lowerBound < $1.utf8Range.lowerBound }
            if $0.utf8Range.upperBound != $1.utf8Range.upperBound { return $0.utf8Range.upperBound > $1.utf8Range.upperBound }
            return priority($0.kind) > priority($1.kind)
        }
        var out: [Detection] = []
        out.reserveCapacity(sorted.count)
        for d in sorted {
            guard var last = out.last, d.utf8Range.lowerBound < last.utf8Range.upperBound else {
                out.append(d)
                continue
            }
            if d.utf8Range.upperBound > last.utf8Range.upperBound {
                if priority(d.kind) > priority(last.kind) {
                    last.kind = d.kind
                    last.rule = d.rule
                }
                last.utf8Range = last.utf8Range.lowerBound..<d.utf8Range.upperBound
                out[out.count - 1] = last
            } else if priority(d.kind) > priority(last.kind) && d.utf8Range == last.utf8Range {
                out[out.count - 1] = d
            }
        }
        return out
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func scanBuiltins(_ b: Bytes) -> [Detection] {
        var out: [Detection] = []
        let n = b.count
        let m = enabledMask
        func on(_ k: SensitiveKind) -> Bool { m & Self.bit(k) != 0 }
        let email = on(.email), phone = on(.phone), card = on(.creditCard)
        let iban = on(.iban), ssn = on(.ssn), ip = on(.ipAddress)
        let pem = on(.privateKey), api = on(.apiKey), jwt = on(.jwt)
        let secret = on(.secret)
        let table = ibanTable

        @inline(__always) func add(_ k: SensitiveKind, _ rule: String, _ r: Range<Int>) {
            out.append(Detection(kind: k, rule: rule, utf8Range: r))
        }

        ByteFlags.table.withUnsafeBufferPointer { fl in
        @inline(__always) func isWordAt(_ k: Int) -> Bool { k >= 0 && k < n && fl[Int(b[k])] & ByteFlags.word != 0 }
        @inline(__always) func skipWord(_ k: Int) -> Int {
            var j = k
            while j < n && fl[Int(b[j])] & ByteFlags.word != 0 { j += 1 }
            return j
        }
        var i = 0
        while i < n {
            let c = b[i]
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if isWordAt(i - 1) {
                    i = skipWord(i)
                    continue
                }
                let prev = b.at(i - 1)
                // Continuation of a longer number such as 2024-01-15 or 1.2.3.4.5.
                let continuation =
                    (prev == UInt8(ascii: "-") || prev == UInt8(ascii: ".") || prev == UInt8(ascii: "/"))
                    && ByteClass.isDigit(b.at(i - 2))
                if !continuation {
                    // Shape of the digit run, to skip detectors that cannot match here: each
                    // condition below is necessary for its detector to return a range.
                    var runEnd = i + 1
                    while runEnd < n && ByteClass.isDigit(b[runEnd]) { runEnd += 1 }
                    let run = runEnd - i
                    let next = b.at(runEnd)
                    let spaceOrDash = next == 0x20 || next == UInt8(ascii: "-")
                    if card, run >= 13 || spaceOrDash, let r = FinancialDetectors.card(b, at: i) {
                        add(.creditCard, "luhn_card", r)
                        i = r.upperBound
                        continue
                    }
                    if ssn, run == 3 && spaceOrDash, let r = FinancialDetectors.ssn(b, at: i) {
                        add(.ssn, "us_ssn", r)
                        i = r.upperBound
                        continue
                    }
                    if ip, run <= 3 && next == UInt8(ascii: "."), let r = NetworkDetectors.ipv4(b, at: i) {
                        add(.ipAddress, "ipv4", r)
                        i = r.upperBound
                        continue
                    }
                    let phoneSep = spaceOrDash || next == UInt8(ascii: ".")
                    if phone,
                        let r = (phoneSep && (run == 1 || run == 3) ? ContactDetectors.nanpPhone(b, at: i) : nil)
                            ?? (c == UInt8(ascii: "0") && run >= 2 && run <= 5 && (spaceOrDash || next == UInt8(ascii: "/"))
                                ? ContactDetectors.trunkPhone(b, at: i) : nil)
                    {
                        add(.phone, "national_phone", r)
                        i = r.upperBound
                        continue
                    }
                    if ip, fl[Int(next)] & ByteFlags.hex != 0 || next == UInt8(ascii: ":") || next == UInt8(ascii: "."),
                        let r = NetworkDetectors.ipv6(b, at: i)
                    {
                        add(.ipAddress, "ipv6", r)
                        i = r.upperBound
                        continue
                    }
                }
                i = skipWord(i)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
                if isWordAt(i - 1) {
                    i = skipWord(i)
                    continue
                }
                // IPv6 only when the hex run is followed by ':' (cheap pre-check).
                let f = fl[Int(c)]
                var ipHere = false
                if ip && f & ByteFlags.hex != 0 {
                    var hexEnd = i + 1
                    while hexEnd < n && fl[Int(b[hexEnd])] & ByteFlags.hex != 0 { hexEnd += 1 }
                    ipHere = hexEnd < n && b[hexEnd] == UInt8(ascii: ":")
                }
                if !ipHere && (f & ByteFlags.letterTrigger == 0 || !Self.mayTrigger(c, b.at(i + 1))) {
                    i = skipWord(i + 1)
                    continue
                }
                if let (k, rule, r) = letterTriggered(b, at: i, c, api: api, jwt: jwt, iban: iban, ip: ipHere, secret: secret, table: table) {
                    add(k, rule, r)
                    i = k == .secret ? max(r.lowerBound, i + 1) : max(r.upperBound, i + 1)
                    continue
                }
                i = skipWord(i)
            case UInt8(ascii: "@"):
                if email, let r = ContactDetectors.email(b, at: i) {
                    add(.email, "email", r)
                    i = r.upperBound
                    continue
                }
                i += 1
            case UInt8(ascii: "+"):
                if phone, let r = ContactDetectors.internationalPhone(b, at: i) {
                    add(.phone, "international_phone", r)
                    i = r.upperBound
                    continue
                }
                i += 1
            case UInt8(ascii: "("):
                if phone, ByteClass.isDigit(b.at(i + 1)), !ByteClass.isWord(b.at(i - 1)), let r = ContactDetectors.nanpPhone(b, at: i) {
                    add(.phone, "national_phone", r)
                    i = r.upperBound
                    continue
                }
                i += 1
            case UInt8(ascii: "-"):
                if pem, b.at(i + 1) == UInt8(ascii: "-"), let r = CredentialDetectors.pemPrivateKey(b, at: i) {
                    add(.privateKey, "pem_private_key", r)
                    i = r.upperBound
                    continue
                }
                i += 1
            case UInt8(ascii: ":"), UInt8(ascii: "="):
                if secret, let r = KeywordSecretDetector.assignment(b, sep: i) {
                    // Keep scanning inside the value: a specific detector (GitHub token, JWT…)
                    // may claim the same span with a more precise kind.
                    add(.secret, "keyword_secret", r)
                    i = r.lowerBound
                    continue
                }
                if ip, c == UInt8(ascii: ":"), b.at(i + 1) == UInt8(ascii: ":"), let r = NetworkDetectors.ipv6(b, at: i) {
                    add(.ipAddress, "ipv6", r)
                    i = r.upperBound
                    continue
                }
                i += 1
            default:
                i += 1
            }
        }
        }
        return out
    }

    /// False when `letterTriggered` cannot match at a word starting with `c`, `c2` (upper-case
    /// letters always may: AWS keys, IBANs). Mirrors the prefixes the token detectors require.
    @inline(__always) private static func mayTrigger(_ c: UInt8, _ c2: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return true
        case UInt8(ascii: "g"): return c2 == UInt8(ascii: "h") || c2 == UInt8(ascii: "i")  // gh…_, github_pat_
        case UInt8(ascii: "x"): return c2 == UInt8(ascii: "a") || c2 == UInt8(ascii: "o")  // xapp-, xox…
        case UInt8(ascii: "s"): return c2 == UInt8(ascii: "k")  // sk-
        case UInt8(ascii: "e"): return c2 == UInt8(ascii: "y")  // eyJ
        case UInt8(ascii: "i"): return c2 == UInt8(ascii: "s")  // is
        case UInt8(ascii: "w"): return c2 == UInt8(ascii: "a")  // was
        case UInt8(ascii: "b"): return c2 | 0x20 == UInt8(ascii: "e")  // bearer (any case)
        default: return true
        }
    }

    private func letterTriggered(
        _ b: Bytes, at i: Int, _ c: UInt8, api: Bool, jwt: Bool, iban: Bool, ip: Bool, secret: Bool, table: [UInt8]
    ) -> (SensitiveKind, String, Range<Int>)? {
        switch c {
        case UInt8(ascii: "A"):
            if api, let r = CredentialDetectors.awsAccessKey(b, at: i) { return (.apiKey, "aws_access_key", r) }
        case UInt8(ascii: "g"):
            if api, let r = CredentialDetectors.githubToken(b, at: i) { return (.apiKey, "github_token", r) }
        case UInt8(ascii: "x"):
            if api, let r = CredentialDetectors.slackToken(b, at: i) { return (.apiKey, "slack_token", r) }
        case UInt8(ascii: "s"):
            if api, let (r, rule) = CredentialDetectors.skKey(b, at: i) { return (.apiKey, rule, r) }
        case UInt8(ascii: "e"):
            if jwt, let r = CredentialDetectors.jwt(b, at: i) { return (.jwt, "jwt", r) }
        case UInt8(ascii: "i"):
            if secret, b.at(i + 1) == UInt8(ascii: "s"), let r = KeywordSecretDetector.proseAssignment(b, at: i, wordLength: 2) {
                return (.secret, "keyword_secret", r)
            }
        case UInt8(ascii: "w"):
            if secret, b.hasPrefix("was ", at: i), let r = KeywordSecretDetector.proseAssignment(b, at: i, wordLength: 3) {
                return (.secret, "keyword_secret", r)
            }
        case UInt8(ascii: "b"), UInt8(ascii: "B"):
            if secret, let r = KeywordSecretDetector.bearer(b, at: i) { return (.secret, "bearer_token", r) }
        default:
            break
        }
        if iban, ByteClass.isUpper(c), let r = FinancialDetectors.iban(b, at: i, table: table) { return (.iban, "iban", r) }
        if ip, ByteClass.isHex(c), let r = NetworkDetectors.ipv6(b, at: i) { return (.ipAddress, "ipv6", r) }
        return nil
    }
}
