import Foundation
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardProviders

/// Carries one upstream stream to the client as OpenAI SSE.
///
/// OpenAI-compatible upstreams are relayed byte for byte; other protocols go through
/// their adapter's decoder and the OpenAI chunk encoder, event by event. `prime()` reads
/// until the first bytes the client would see exist, so that a stream failing before
/// that point can still fall back to another deployment.
final class StreamRelay: @unchecked Sendable {
    /// What the stream carried, for pricing and the log.
    struct StreamSummary: Sendable {
        var usage: Usage?
        var contentChunks = 0
        var textBytes = 0
        var text = ""
        /// The upstream ended the stream itself (not cut off by an error or the client).
        var completed = false
        var error: String?
    }

    private let body: UpstreamBody
    private let adapter: any ProviderAdapter
    private var decoder: (any UpstreamStreamDecoder)?
    private var encoder: OpenAIChunkEncoder?
    private let timeouts: Timeouts
    private var pending: [ByteBuffer] = []
    private var upstreamDone = false
    private var finished = false
    /// Set once the relay is committed to the client; runs when the stream ends or is dropped.
    var onFinish: (@Sendable () -> Void)?

    /// Puts redacted values back into the answer; a placeholder split across chunks is
    /// held back until it is complete.
    private var textRestorer: StreamingRestorer?
    private var argumentRestorers: [Int: StreamingRestorer] = [:]
    private let mapping: RedactionMapping?

    /// Watches byte-for-byte relays (usage, content counts); nil when events are decoded.
    private var tap: OpenAIStreamTap?
    /// What the accounting needs once the stream is over.
    private(set) var summary = StreamSummary()
    private var lastChunkAt: Double?
    private let collectText: Bool
    /// Called with each gap between client-visible chunks, in seconds.
    var onGap: (@Sendable (Double) -> Void)?

    init(
        body: UpstreamBody, adapter: any ProviderAdapter, request: ChatRequest, timeouts: Timeouts,
        mapping: RedactionMapping? = nil, collectText: Bool = false
    ) {
        self.collectText = collectText
        self.body = body
        self.adapter = adapter
        self.timeouts = timeouts
        self.mapping = mapping
        if let mapping { textRestorer = StreamingRestorer(mapping: mapping) }
        if !adapter.speaksOpenAI || mapping != nil {
            decoder = adapter.makeStreamDecoder()
            encoder = OpenAIChunkEncoder(
                id: "chatcmpl-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
                model: request.model, created: Int(Date().timeIntervalSince1970), includeUsage: request.includeUsage
            )
        } else {
            tap = OpenAIStreamTap(forwardUsageChunk: request.includeUsage, collectText: collectText)
        }
    }

    deinit { finishOnce() }

    /// Set by `cancel()`, read by the task that reads the stream.
    private let cancelled = Atomic<Bool>(false)

    /// Whether `cancel()` stops a pending read (plain HTTP upstreams).
    var cancelsDirectly: Bool { body.cancelsDirectly }

    /// The client left: a pending or later read fails and the upstream request is
    /// dropped. Safe from any thread; a no-op once the upstream has ended.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        body.cancel()
    }

    private func finishOnce() {
        if !finished {
            finished = true
            onFinish?()
        }
    }

    /// Reads upstream chunks until one yields client-visible bytes. Throws the attempt's failure otherwise.
    func prime() async throws {
        var first = true
        while pending.isEmpty && !upstreamDone {
            try await pull(timeout: first ? timeouts.firstByte : timeouts.idle, phase: first ? .firstByte : .idle)
            first = false
        }
        if pending.isEmpty {
            throw AttemptFailureError(.badResponse("the stream ended without any content"))
        }
    }

    /// The next bytes for the client, or nil at the end. After `prime()`, failures are
    /// reported in-stream as an OpenAI error frame, since the status line is already sent.
    func next() async -> ByteBuffer? {
        while pending.isEmpty && !upstreamDone {
            do {
                try await pull(timeout: timeouts.idle, phase: .idle)
            } catch {
                upstreamDone = true
                finishOnce()
                let failure = (error as? AttemptFailureError)?.failure ?? UpstreamTransport.classify(error)
                let clientLeft = Task.isCancelled || cancelled.load(ordering: .relaxed)
                summary.error = clientLeft ? "client closed the stream" : "stream interrupted: \(failure.summary)"
                let gatewayError: GatewayError
                if let g = error as? GatewayError {
                    gatewayError = g
                } else {
                    gatewayError = GatewayError(status: 502, type: "upstream_error", code: "stream_interrupted", message: "The upstream stream failed: \(failure.summary)")
                }
                return ByteBuffer(bytes: OpenAIChunkEncoder.errorFrame(gatewayError))
            }
        }
        if pending.isEmpty {
            finishOnce()
            return nil
        }
        let now = NIODeadline.now().uptimeNanoseconds
        let seconds = Double(now) / 1e9
        if let last = lastChunkAt { onGap?(seconds - last) }
        lastChunkAt = seconds
        return pending.removeFirst()
    }

    private func pull(timeout: Double, phase: AttemptFailure.TimeoutPhase) async throws {
        let chunk: ByteBuffer?
        if !body.timesPhases && timeout < max(timeouts.idle, timeouts.firstByte) {
            let body = self.body
            chunk = try await withTimeout(timeout, phase: phase) { try await body.next() }
        } else {
            do {
                chunk = try await body.next()
            } catch is UpstreamReadTimeout {
                throw AttemptFailureError(.timeout(phase: phase))
            }
        }
        guard let chunk else {
            upstreamDone = true
            summary.completed = true
            if var tap {
                let rest = tap.finish()
                self.tap = tap
                absorb(tap)
                if rest.readableBytes > 0 { pending.append(rest) }
            }
            if var decoder, var encoder {
                var out: [UInt8] = []
                for event in try decoder.finish() {
                    for restored in restore(event) { out += encoder.encode(restored) }
                }
                for restored in flushRestorers() { out += encoder.encode(restored) }
                out += encoder.finish()
                self.decoder = decoder
                self.encoder = encoder
                pending.append(ByteBuffer(bytes: out))
            }
            return
        }
        guard var decoder, var encoder else {
            if pending.isEmpty && chunk.readableBytes > 0 && !upstreamDone, let error = Self.openAIErrorFrame(chunk) {
                throw error
            }
            if var tap {
                let out = tap.process(chunk)
                self.tap = tap
                absorb(tap)
                if out.readableBytes > 0 { pending.append(out) }
            } else {
                pending.append(chunk)
            }
            return
        }
        var out: [UInt8] = []
        for event in try decoder.feed(Array(buffer: chunk)) {
            for restored in restore(event) { out += encoder.encode(restored) }
        }
        self.decoder = decoder
        self.encoder = encoder
        if !out.isEmpty { pending.append(ByteBuffer(bytes: out)) }
    }

    private func absorb(_ tap: OpenAIStreamTap) {
        if let usage = tap.usage { summary.usage = usage }
        summary.contentChunks = tap.contentChunks
        summary.textBytes = tap.textBytes
        if collectText { summary.text = tap.text }
    }

    /// Notes usage and content of a decoded event for the accounting.
    private func observe(_ event: StreamEvent) {
        switch event {
        case .usage(let usage):
            // Providers may report usage in parts (Anthropic: input first, output last).
            if var known = summary.usage {
                known.promptTokens = max(known.promptTokens, usage.promptTokens)
                known.completionTokens = max(known.completionTokens, usage.completionTokens)
                known.cachedTokens = max(known.cachedTokens, usage.cachedTokens)
                known.reasoningTokens = max(known.reasoningTokens, usage.reasoningTokens)
                known.cacheCreationTokens = max(known.cacheCreationTokens, usage.cacheCreationTokens)
                summary.usage = known
            } else {
                summary.usage = usage
            }
        case .textDelta(let text):
            summary.contentChunks += 1
            summary.textBytes += text.utf8.count
            if collectText { summary.text += text }
        case .toolCallArguments(_, let fragment):
            summary.textBytes += fragment.utf8.count
        default:
            break
        }
    }

    /// Applies redaction re-fill to one event; text held back for a possible placeholder
    /// is released before the finish event.
    private func restore(_ event: StreamEvent) -> [StreamEvent] {
        observe(event)
        guard let mapping else { return [event] }
        switch event {
        case .textDelta(let text):
            let out = textRestorer?.feed(text) ?? text
            return out.isEmpty ? [] : [.textDelta(out)]
        case .toolCallArguments(let index, let fragment):
            var restorer = argumentRestorers[index] ?? StreamingRestorer(mapping: mapping)
            let out = restorer.feed(fragment)
            argumentRestorers[index] = restorer
            return out.isEmpty ? [] : [.toolCallArguments(index: index, fragment: out)]
        case .finish:
            return flushRestorers() + [event]
        case .toolCallStart, .usage:
            return [event]
        }
    }

    private func flushRestorers() -> [StreamEvent] {
        var events: [StreamEvent] = []
        if var restorer = textRestorer {
            let rest = restorer.finish()
            textRestorer = restorer
            if !rest.isEmpty { events.append(.textDelta(rest)) }
        }
        for index in argumentRestorers.keys.sorted() {
            var restorer = argumentRestorers[index]!
            let rest = restorer.finish()
            argumentRestorers[index] = restorer
            if !rest.isEmpty { events.append(.toolCallArguments(index: index, fragment: rest)) }
        }
        return events
    }

    /// OpenAI-compatible servers report some failures as a `data: {"error": …}` frame
    /// with status 200; caught in the first chunk, it still allows a fallback.
    /// Runs on every chunk of a relayed stream, so the common case (no `"error"` key) is a
    /// byte search over the buffer, with no copy.
    private static func openAIErrorFrame(_ chunk: ByteBuffer) -> GatewayError? {
        guard chunk.readableBytes < 8192, chunk.withUnsafeReadableBytes({ containsErrorKey($0) }) else { return nil }
        var parser = SSEParser()
        for event in parser.feed(Array(buffer: chunk)) {
            if case .object(let error)? = (try? JSONParser.parse(event.data))?["error"] {
                return GatewayError(status: 502, type: "upstream_error", code: "upstream_stream_error", message: error["message"]?.stringValue ?? "upstream error")
            }
        }
        return nil
    }

    /// Whether the bytes contain `"error"` (with its quotes).
    static func containsErrorKey(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let needle: StaticString = "\"error\""
        let count = needle.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let key = needle.utf8Start
        var i = 0
        while i <= bytes.count - count {
            if bytes[i] == 0x22 {
                var j = 1
                while j < count && bytes[i + j] == key[j] { j += 1 }
                if j == count { return true }
            }
            i += 1
        }
        return false
    }
}
