import Testing

@testable import SwitchyardPolicy

/// One row of the detector table: a text and the kinds that must be found in it (empty = must stay silent).
struct DetectorCase: CustomStringConvertible, Sendable {
    var text: String
    var expected: [SensitiveKind]
    /// The exact substring that must be covered, for single-item positives.
    var value: String?
    var description: String { "\(expected.map(\.rawValue)) ← \(text.prefix(60))" }

    static func hit(_ text: String, _ kinds: SensitiveKind..., value: String? = nil) -> DetectorCase {
        DetectorCase(text: text, expected: kinds, value: value)
    }
    static func miss(_ text: String) -> DetectorCase { DetectorCase(text: text, expected: [], value: nil) }
}

let jwtSample =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
let pemSample = """
    -----BEGIN RSA PRIVATE KEY-----
    MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB
    aFDrBz9vFqU4yIb7kXwQ8lDp0pE0l3tHq1Y1ZcNnS3u9aX0p
    -----END RSA PRIVATE KEY-----
    """

let detectorTable: [DetectorCase] = [
    // E-mail
    .hit("Contact john.doe@example.com for details", .email, value: "john.doe@example.com"),
    .hit("cc: a+b_c@mail.sub.example.co.uk.", .email, value: "a+b_c@mail.sub.example.co.uk"),
    .miss("ping @username on the forum"),
    .miss("user@localhost is not routable"),
    .miss("the decorator @dataclass and foo@bar"),
    // Phones
    .hit("Call +1 (555) 123-4567 now", .phone, value: "+1 (555) 123-4567"),
    .hit("UK office +44 20 7946 0958", .phone, value: "+44 20 7946 0958"),
    .hit("Berlin: +49 30 12345678.", .phone, value: "+49 30 12345678"),
    .hit("my cell (415) 555-2671", .phone, value: "(415) 555-2671"),
    .hit("dial 415-555-2671 today", .phone, value: "415-555-2671"),
    .hit("or 415.555.2671", .phone, value: "415.555.2671"),
    .hit("London 020 7946 0958", .phone, value: "020 7946 0958"),
    .hit("mobile 07700 900123", .phone, value: "07700 900123"),
    .hit("Paris 01 23 45 67 89", .phone, value: "01 23 45 67 89"),
    .miss("The meeting is on 2024-01-15 at 10:30"),
    .miss("Invoice date 15.01.2024, due 14.02.2024"),
    .miss("Order 1234567890 shipped"),
    .miss("Reference 123-456-7890"),
    .miss("ISBN 978-3-16-148410-0"),
    .miss("between 2020-2024 we grew 15%"),
    // Cards
    .hit("Card: 4111 1111 1111 1111 exp 12/29", .creditCard, value: "4111 1111 1111 1111"),
    .hit("visa 4012888888881881", .creditCard, value: "4012888888881881"),
    .hit("amex 3782-822463-10005", .creditCard, value: "3782-822463-10005"),
    .hit("mc 5555555555554444 cvv 123", .creditCard, value: "5555555555554444"),
    .hit("mc2 2223 0031 2200 3222", .creditCard, value: "2223 0031 2200 3222"),
    .hit("discover 6011111111111117", .creditCard, value: "6011111111111117"),
    .hit("jcb 3530111333300000", .creditCard, value: "3530111333300000"),
    .hit("diners 30569309025904", .creditCard, value: "30569309025904"),
    .miss("Order 4111 1111 1111 1112 failed Luhn"),
    .miss("tracking 1234567890123456"),
    .miss("timestamp 1700000000000000000"),
    // IBAN
    .hit("IBAN DE89 3704 0044 0532 0130 00 please", .iban, value: "DE89 3704 0044 0532 0130 00"),
    .hit("pay GB82WEST12345698765432", .iban, value: "GB82WEST12345698765432"),
    .hit("FR1420041010050500013M02606", .iban),
    .hit("NL91 ABNA 0417 1643 00", .iban),
    .miss("DE89 3704 0044 0532 0130 01 is a typo"),
    .miss("see ISO 8601 and RFC 3339"),
    .miss("GB82 is the code"),
    // SSN
    .hit("SSN 123-45-6789 on file", .ssn, value: "123-45-6789"),
    .hit("ssn: 078 05 1120", .ssn),
    .miss("000-12-3456"),
    .miss("666-12-3456"),
    .miss("900-12-3456"),
    .miss("123-00-4567"),
    .miss("123-45-0000"),
    .miss("part 123-45-6789-01"),
    // IP addresses
    .hit("server at 192.168.1.10.", .ipAddress, value: "192.168.1.10"),
    .hit("dns 8.8.8.8 and 10.0.0.0/8", .ipAddress, .ipAddress),
    .hit("host 2001:db8::1 answered", .ipAddress, value: "2001:db8::1"),
    .hit("link fe80::1ff:fe23:4567:890a%eth0", .ipAddress, value: "fe80::1ff:fe23:4567:890a"),
    .hit("loopback ::1", .ipAddress, value: "::1"),
    .hit("2001:0db8:85a3:0000:0000:8a2e:0370:7334", .ipAddress),
    .miss("upgrade to 1.2.3.4.5 today"),
    .miss("running version 1.2.3.4 of the tool"),
    .miss("see v1.2.3.4 changelog"),
    .miss("octet 256.1.1.1 is invalid"),
    .miss("Python 3.12.1 released"),
    .miss("at 12:30:45 sharp"),
    .miss("use std::vector here"),
    .miss("mac 00:1A:2B:3C:4D:5E"),
    // Private keys
    .hit("key:\n" + pemSample + "\nthanks", .privateKey, value: pemSample),
    .hit("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA", .privateKey),
    .miss("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
    .miss("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"),
    // API keys
    .hit("aws AKIAIOSFODNN7EXAMPLE", .apiKey, value: "AKIAIOSFODNN7EXAMPLE"),
    .hit("sts ASIAY34FZKBOKMUTVV7A here", .apiKey),
    .hit("gh 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", .apiKey, value: "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"),
    .hit("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF", .apiKey),
    .hit("slack xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", .apiKey),
    .hit("OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", .apiKey, value: "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
    .hit("key sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z-AA", .apiKey),
    .miss("AKIA is the prefix of AWS keys"),
    .miss("ghp_short is too short"),
    .miss("xoxo, see you"),
    .miss("we use sk-learn and task-management-service-layer-design"),
    // JWT
    .hit("Authorization token " + jwtSample, .jwt, value: jwtSample),
    .miss("eyJub3QiOiAiand0In0.eyJzdWIiOiIx.c2ln"),
    .miss("eyJhbGciOiJIUzI1NiJ9 alone"),
    // Keyword secrets
    .hit("password: Xy9$kL2!qRt", .secret, value: "Xy9$kL2!qRt"),
    .hit("DB_PASSWORD=Tr0ub4dor&3x", .secret, value: "Tr0ub4dor&3x"),
    .hit("{\"client_secret\": \"a8f5f167f44f4964e6c998dee827110c\"}", .secret, value: "a8f5f167f44f4964e6c998dee827110c"),
    .hit("my password is Hunter2!Hunter2", .secret, value: "Hunter2!Hunter2"),
    .hit("API key: 9f8e7d6c5b4a39281706", .secret, value: "9f8e7d6c5b4a39281706"),
    .hit("Authorization: Bearer abcDEF123456ghiJKL789mno", .secret, value: "abcDEF123456ghiJKL789mno"),
    .hit("token = 'Zm9vYmFyMTIzNDU2Nzg5MA'", .secret),
    .miss("Please reset your password and try again."),
    .miss("password: required"),
    .miss("token: ${API_TOKEN}"),
    .miss("the api key is stored in the vault"),
    .miss("password: ********"),
    .miss("max_tokens: 4096"),
    .miss("Author: Jane Smith"),
    .miss("if password == expected { return }"),
    .miss("token = getToken()"),
    .miss("password = request.form['password']"),
    .miss("api_key = os.environ.get('API_KEY')"),
    .miss("secret_key = settings.SECRET_KEY"),
    .miss("let token: Optional<String> = nil"),
    .hit("password = \"hunter2xyz\"", .secret, value: "hunter2xyz"),
    // More look-alikes from everyday prompts
    .hit("toll-free 1-800-555-0199.", .phone, value: "1-800-555-0199"),
    .miss("id 123e4567-e89b-12d3-a456-426614174000"),
    .miss("commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
    .miss("at 2024-01-15T10:30:00Z the job failed"),
    .miss("Error at line 42: unexpected token: '}'"),
    .miss("ZIP 94105-1234, suite 500"),
    .miss("price $1 234 567 890 total"),
    .miss("session_id=8f14e45f"),
    // Plain prose
    .miss("Write a haiku about autumn leaves falling on 3 quiet streets."),
    .miss("Explain the difference between TCP and UDP in 5 bullet points."),
    .miss("Version 2.0.1 fixed 12 bugs; see https://example.com/a:b for notes."),
]

@Suite struct DetectorSuiteTests {
    let scanner = try! SensitiveDataScanner()

    @Test(arguments: detectorTable)
    func detectorCase(_ c: DetectorCase) {
        let found = scanner.scan(c.text)
        #expect(found.map(\.kind) == c.expected, "\(c) → \(found.map { "\($0.kind.rawValue)[\($0.value(in: c.text))]" })")
        if let v = c.value, let d = found.first {
            #expect(d.value(in: c.text) == v)
        }
    }

    @Test func precisionRecall() {
        var tp = 0, fp = 0, fn = 0
        var perKind: [SensitiveKind: (tp: Int, fp: Int, fn: Int)] = [:]
        for c in detectorTable {
            var expected = c.expected
            for d in scanner.scan(c.text) {
                if let i = expected.firstIndex(of: d.kind) {
                    expected.remove(at: i)
                    tp += 1
                    perKind[d.kind, default: (0, 0, 0)].tp += 1
                } else {
                    fp += 1
                    perKind[d.kind, default: (0, 0, 0)].fp += 1
                }
            }
            fn += expected.count
            for k in expected { perKind[k, default: (0, 0, 0)].fn += 1 }
        }
        let precision = Double(tp) / Double(max(1, tp + fp))
        let recall = Double(tp) / Double(max(1, tp + fn))
        print("detector suite: \(detectorTable.count) cases, tp=\(tp) fp=\(fp) fn=\(fn) precision=\(precision) recall=\(recall)")
        for k in SensitiveKind.allCases {
            if let v = perKind[k] { print("  \(k.rawValue): tp=\(v.tp) fp=\(v.fp) fn=\(v.fn)") }
        }
        #expect(precision == 1.0)
        #expect(recall == 1.0)
    }

    @Test func customRules() throws {
        let s = try SensitiveDataScanner(customRules: [
            CustomRule(name: "customer_id", pattern: "CUST-[0-9]{6}"),
            CustomRule(name: "codename", keywords: ["Project Nightingale", "bluebird"], dataClass: .internal),
        ])
        let text = "Ticket for CUST-123456 about project nightingale; not bluebirds, but Bluebird."
        let found = s.scan(text)
        #expect(found.map(\.rule) == ["customer_id", "codename", "codename"])
        #expect(found.map { $0.value(in: text) } == ["CUST-123456", "project nightingale", "Bluebird"])
        #expect(throws: CustomRuleError.self) { try SensitiveDataScanner(customRules: [CustomRule(name: "bad", pattern: "([")]) }
    }

    @Test func unicodeAroundItemsKeepsByteRanges() {
        let text = "Grüße 🚀 — mail jörg@example.de or zoë.x@example.com ✓"
        let found = scanner.scan(text)
        #expect(found.map { $0.value(in: text) } == ["jörg@example.de", "zoë.x@example.com"])
    }

    @Test func bearerJWTIsReportedAsJWT() {
        let text = "Authorization: Bearer " + jwtSample
        #expect(scanner.scan(text).map(\.kind) == [.jwt])
    }

    @Test func disabledKindsAreSkipped() throws {
        var kinds = Set(SensitiveKind.allCases)
        kinds.remove(.ipAddress)
        let s = try SensitiveDataScanner(enabledKinds: kinds)
        #expect(s.scan("host 10.0.0.1").isEmpty)
    }

    @Test func overlappingDetectionsMerge() {
        // A keyword-secret whose value is a GitHub token: reported once, as the more specific kind.
        let text = "token: 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"
        let found = scanner.scan(text)
        #expect(found.count == 1)
        #expect(found.first?.kind == .apiKey)
    }

    @Test func itemSplitAcrossTextsIsFoundInBoth() {
        let parts = ["my card is 4111 1111 ", "1111 1111 thanks"]
        let found = scanner.scan(parts)
        #expect(found[0].map(\.kind) == [.creditCard])
        #expect(found[1].map(\.kind) == [.creditCard])
        #expect(found[0][0].value(in: parts[0]) == "4111 1111 ")
        #expect(found[1][0].value(in: parts[1]) == "1111 1111")
    }

    @Test func unterminatedPEMContinuesIntoNextText() {
        let parts = ["here:\n-----BEGIN PRIVATE KEY-----\nAAAA", String(repeating: "B", count: 2000) + "\n-----END PRIVATE KEY-----\nok", "after"]
        let found = scanner.scan(parts)
        #expect(found[0].map(\.kind) == [.privateKey])
        #expect(found[1].map(\.kind) == [.privateKey])
        #expect(found[1][0].utf8Range.upperBound == parts[1].utf8.count - 3)
        #expect(found[2].isEmpty)
    }
}
