import Testing

@testable import SwitchyardPolicy

@Suite struct RedactionTests {
    let redactor = Redactor(scanner: try! SensitiveDataScanner())

    @Test func stablePlaceholdersAcrossMessages() {
        let r = redactor.redact([
            "Mail bob@example.com and alice@example.org",
            "Again: bob@example.com, card 4111 1111 1111 1111",
            "no secrets here",
        ])
        #expect(r.texts[0] == "Mail [EMAIL_1] and [EMAIL_2]")
        #expect(r.texts[1] == "Again: [EMAIL_1], card [CREDIT_CARD_1]")
        #expect(r.texts[2] == "no secrets here")
        #expect(r.mapping.originals["[EMAIL_1]"] == "bob@example.com")
        #expect(r.mapping.originals["[CREDIT_CARD_1]"] == "4111 1111 1111 1111")
        #expect(r.counts[.email] == 3)
        #expect(!r.mapping.description.contains("bob"))
    }

    @Test func placeholderAlreadyInInputIsSkipped() {
        let r = redactor.redact(["literal [EMAIL_1] then carol@example.com"])
        #expect(r.texts[0] == "literal [EMAIL_1] then [EMAIL_2]")
        #expect(r.mapping.restore(r.texts[0]) == "literal [EMAIL_1] then carol@example.com")
    }

    @Test func restoreWholeText() {
        let r = redactor.redact(["key AKIAIOSFODNN7EXAMPLE for 10.1.2.3"])
        let answer = "Rotate [API_KEY_1] on host [IP_ADDRESS_1]; [UNKNOWN_1] stays."
        #expect(r.mapping.restore(answer) == "Rotate AKIAIOSFODNN7EXAMPLE on host 10.1.2.3; [UNKNOWN_1] stays.")
    }

    /// Every placeholder split at every byte boundary, in two and three chunks.
    @Test func streamingRestorerEveryBoundary() {
        let r = redactor.redact(["from dave@example.com card 5555555555554444 ip 192.168.0.1"])
        let answer = "Hi [EMAIL_1], your card [CREDIT_CARD_1] and [IP_ADDRESS_1] [x] [EMAIL_9] [[EMAIL_1]]."
        let expected = "Hi dave@example.com, your card 5555555555554444 and 192.168.0.1 [x] [EMAIL_9] [dave@example.com]."
        let bytes = Array(answer.utf8)
        for i in 0...bytes.count {
            var s = StreamingRestorer(mapping: r.mapping)
            let a = String(decoding: bytes[..<i], as: UTF8.self), b = String(decoding: bytes[i...], as: UTF8.self)
            let out = s.feed(a) + s.feed(b) + s.finish()
            #expect(out == expected, "split at \(i)")
            for j in i...bytes.count {
                var t = StreamingRestorer(mapping: r.mapping)
                let c1 = String(decoding: bytes[..<i], as: UTF8.self)
                let c2 = String(decoding: bytes[i..<j], as: UTF8.self)
                let c3 = String(decoding: bytes[j...], as: UTF8.self)
                let out3 = t.feed(c1) + t.feed(c2) + t.feed(c3) + t.finish()
                if out3 != expected { Issue.record("split at \(i),\(j): \(out3)") }
            }
        }
    }

    @Test func streamingRestorerHoldsBackOnlyPossiblePlaceholders() {
        let r = redactor.redact(["erin@example.com"])
        var s = StreamingRestorer(mapping: r.mapping)
        #expect(s.feed("Dear [EMA") == "Dear ")
        #expect(s.heldBack == 4)
        #expect(s.feed("IL_1], see [note]") == "erin@example.com, see [note]")
        #expect(s.feed(" [EMAIL_") == " ")
        #expect(s.finish() == "[EMAIL_")
        var t = StreamingRestorer(mapping: r.mapping)
        #expect(t.feed("array[0] = x[") == "array[0] = x")
        #expect(t.feed("1]") == "[1]")
    }

    @Test func unicodeChunksSurvive() {
        let r = redactor.redact(["fay@example.com"])
        var s = StreamingRestorer(mapping: r.mapping)
        let out = s.feed("Grüße 🚀 [EM") + s.feed("AIL_1] ✓") + s.finish()
        #expect(out == "Grüße 🚀 fay@example.com ✓")
    }

    @Test func emptyMappingPassesThrough() {
        var s = StreamingRestorer(mapping: RedactionMapping())
        #expect(s.feed("[EMAIL_1") == "[EMAIL_1")
        #expect(s.finish() == "")
    }
}

@Suite struct RedactionRobustnessTests {
    @Test func overlappingCallerDetectionsAreMerged() {
        let text = "abc 0123456789 xyz"
        let ds = [
            Detection(kind: .custom, rule: "b", utf8Range: 8..<14),
            Detection(kind: .custom, rule: "a", utf8Range: 4..<10),
        ]
        let r = Redactor.redact([text], detections: [ds])
        #expect(r.texts[0] == "abc [CUSTOM_1] xyz")
        #expect(r.mapping.restore(r.texts[0]) == text)
    }
}
