import Testing
@testable import SwitchyardServer

@Suite struct HTTPDateTests {
    @Test func formatsIMFFixdate() {
        // RFC 9110's own example.
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }

    @Test func nowIsCurrent() {
        let value = HTTPDate.now
        #expect(value.hasSuffix(" GMT"))
        #expect(value.count == 29)
    }
}
