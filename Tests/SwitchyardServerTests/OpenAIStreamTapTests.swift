import Foundation
import NIOCore
import Testing
@testable import SwitchyardCore
@testable import SwitchyardServer

/// The byte-for-byte relay's tap: usage is read, the usage-only chunk is dropped unless the
/// client asked for it, events split across reads are reassembled, and untouched chunks
/// pass through as they are.
@Suite struct OpenAIStreamTapTests {
    static let content1 = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}"# + "\n\n"
    static let content2 = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta": {"content": "lo"}}]}"# + "\n\n"
    static let finish = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"# + "\n\n"
    static let usage = #"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":4}}}"# + "\n\n"
    static let done = "data: [DONE]\n\n"

    func run(_ pieces: [String], forward: Bool) -> (String, OpenAIStreamTap) {
        var tap = OpenAIStreamTap(forwardUsageChunk: forward, collectText: true)
        var out = ""
        for piece in pieces {
            let buffer = tap.process(ByteBuffer(string: piece))
            out += String(buffer: buffer)
        }
        out += String(buffer: tap.finish())
        return (out, tap)
    }

    @Test func errorKeySearchFindsOnlyTheQuotedKey() {
        func check(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { StreamRelay.containsErrorKey($0) }
        }
        #expect(check(#"data: {"error":{"message":"overloaded"}}"# + "\n\n"))
        #expect(check(#""error""#))
        #expect(check(#"xx""error" "#))
        #expect(!check(Self.content1))
        #expect(!check(#"data: {"content":"an error occurred"}"#))
        #expect(!check(#""erro""#))
        #expect(!check(""))
    }

    @Test func dropsTheUsageChunkTheClientDidNotAskFor() {
        let all = [Self.content1, Self.content2, Self.finish, Self.usage, Self.done]
        let (out, tap) = run(all, forward: false)
        #expect(out == Self.content1 + Self.content2 + Self.finish + Self.done)
        #expect(tap.usage == Usage(promptTokens: 12, completionTokens: 2, cachedTokens: 4))
        #expect(tap.contentChunks == 2)
        #expect(tap.textBytes == 5)
        #expect(tap.text == "Hello")
    }

    @Test func keepsItWhenAsked() {
        let all = [Self.content1, Self.content2, Self.finish, Self.usage, Self.done]
        let (out, tap) = run(all, forward: true)
        #expect(out == all.joined())
        #expect(tap.usage?.promptTokens == 12)
    }

    @Test func reassemblesEventsSplitAcrossReads() {
        let whole = Self.content1 + Self.content2 + Self.finish + Self.usage + Self.done
        let bytes = Array(whole.utf8)
        // Every split point, including inside "\n\n" and inside the usage object.
        for cut in stride(from: 1, to: bytes.count - 1, by: 7) {
            let a = String(decoding: bytes[..<cut], as: UTF8.self)
            let b = String(decoding: bytes[cut...], as: UTF8.self)
            let (out, tap) = run([a, b], forward: false)
            #expect(out == Self.content1 + Self.content2 + Self.finish + Self.done, "cut at \(cut)")
            #expect(tap.usage?.completionTokens == 2, "cut at \(cut)")
            #expect(tap.contentChunks == 2, "cut at \(cut)")
        }
    }

    @Test func passesWholeEventChunksWithoutCopying() {
        var tap = OpenAIStreamTap(forwardUsageChunk: false)
        let chunk = ByteBuffer(string: Self.content1 + Self.content2)
        let out = tap.process(chunk)
        #expect(out == chunk)
        let a = out.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let b = chunk.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(a == b)
    }

    @Test func handlesCRLFFraming() {
        let crlf = [Self.content1, Self.usage, Self.done].map { $0.replacingOccurrences(of: "\n\n", with: "\r\n\r\n") }
        let (out, tap) = run(crlf, forward: false)
        #expect(out == crlf[0] + crlf[2])
        #expect(tap.usage?.promptTokens == 12)
    }
}
