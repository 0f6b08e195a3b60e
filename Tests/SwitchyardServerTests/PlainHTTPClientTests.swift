import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
@testable import SwitchyardCore
@testable import SwitchyardServer

/// The plain upstream client against a real NIO HTTP server on loopback, whose behaviour
/// each test chooses: keep-alive reuse, a server that drops idle connections, silence,
/// and a body sent in timed parts.
@Suite struct PlainHTTPClientTests {
    enum Behaviour: Sendable {
        case answer(String)
        /// Answers as keep-alive, then closes the connection anyway.
        case answerThenClose(String)
        case silent
        /// Answers a connection's first request, then never answers on it again.
        case answerFirstThenSilent(String)
        /// Chunked body: these parts, `gapMillis` apart.
        case parts([String], gapMillis: Int64)
    }

    final class TestServerHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let behaviour: Behaviour
        let counters: CountersBox
        /// Requests seen on this handler's connection.
        private var seen = 0
        init(_ behaviour: Behaviour, counters: CountersBox) {
            self.behaviour = behaviour
            self.counters = counters
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            counters.requests.add(1, ordering: .relaxed)
            seen += 1
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            switch behaviour {
            case .silent:
                return
            case .answerFirstThenSilent where seen > 1:
                return
            case .answer(let text), .answerThenClose(let text), .answerFirstThenSilent(let text):
                var head = HTTPResponseHead(version: .http1_1, status: .ok)
                head.headers.add(name: "content-length", value: String(text.utf8.count))
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                let closes: Bool
                if case .answerThenClose = behaviour { closes = true } else { closes = false }
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in if closes { bound.value.close(promise: nil) } }
            case .parts(let parts, let gap):
                var head = HTTPResponseHead(version: .http1_1, status: .ok)
                head.headers.add(name: "transfer-encoding", value: "chunked")
                context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
                for (index, part) in parts.enumerated() {
                    context.eventLoop.scheduleTask(in: .milliseconds(gap * Int64(index + 1))) {
                        bound.value.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: part)))), promise: nil)
                        if index == parts.count - 1 { bound.value.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil) }
                    }
                }
            }
        }
    }

    final class Server: Sendable {
        let channel: any Channel
        let counters: CountersBox

        init(_ behaviour: Behaviour) async throws {
            let box = CountersBox()
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    box.connections.add(1, ordering: .relaxed)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(TestServerHandler(behaviour, counters: box))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            counters = box
        }

        var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)/v1/chat/completions" }
        func close() async throws { try await channel.close() }
    }

    final class CountersBox: Sendable {
        let connections = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
    }

    func client(readMillis: Int64 = 2000, idleMillis: Int64? = nil) -> PlainHTTPClient {
        PlainHTTPClient(
            group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(2), firstByteTimeout: .milliseconds(readMillis),
            idleTimeout: .milliseconds(idleMillis ?? readMillis)
        )
    }

    // Total deadlines here are a minute: the test's task can wait seconds for a thread
    // while CPU-heavy suites run in parallel, and the deadline runs from before that wait.
    func post(_ client: PlainHTTPClient, _ url: String, deadlineMillis: Int64 = 60_000) async throws -> (Int, String) {
        let (head, exchange) = try await client.execute(
            method: "POST", url: url, headers: [("content-type", "application/json")], body: Array(#"{"model":"m"}"#.utf8),
            deadline: .now() + .milliseconds(deadlineMillis)
        )
        let body = try await exchange.collect(upTo: 1 << 20)
        return (Int(head.status.code), String(buffer: body))
    }

    @Test func splitsURLs() {
        #expect(PlainHTTPClient.split(url: "http://127.0.0.1:8081/v1/chat/completions")! == ("127.0.0.1", 8081, "/v1/chat/completions"))
        #expect(PlainHTTPClient.split(url: "http://example.internal/v1")! == ("example.internal", 80, "/v1"))
        #expect(PlainHTTPClient.split(url: "http://[::1]:9000/x")! == ("::1", 9000, "/x"))
        #expect(PlainHTTPClient.split(url: "https://api.openai.com/v1") == nil)
        #expect(PlainHTTPClient.split(url: "http://host:notaport/") == nil)
    }

    @Test func reusesOneKeepAliveConnection() async throws {
        let server = try await Server(.answer("hello"))
        let client = client()
        for _ in 0..<5 {
            let (status, body) = try await post(client, server.url)
            #expect(status == 200)
            #expect(body == "hello")
        }
        #expect(server.counters.connections.load(ordering: .relaxed) == 1)
        #expect(server.counters.requests.load(ordering: .relaxed) == 5)
        client.shutdown()
        try await server.close()
    }

    @Test func retriesOnceWhenAPooledConnectionWasClosed() async throws {
        let server = try await Server(.answerThenClose("again"))
        let client = client()
        for _ in 0..<3 {
            let (status, body) = try await post(client, server.url)
            #expect(status == 200)
            #expect(body == "again")
            // Let the close reach the client, so the next request finds a dead pooled connection.
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(server.counters.requests.load(ordering: .relaxed) == 3)
        #expect(server.counters.connections.load(ordering: .relaxed) == 3)
        client.shutdown()
        try await server.close()
    }

    @Test func aSilentUpstreamTimesOut() async throws {
        let server = try await Server(.silent)
        let client = client(readMillis: 150)
        await #expect(throws: UpstreamReadTimeout.self) { _ = try await post(client, server.url) }
        client.shutdown()
        try await server.close()
    }

    // A connection keeps its timer from one exchange to the next (the pool reuses it at
    // once). These two check that the kept timer never stands in for the next exchange's limits.
    @Test func aReusedConnectionMeetsAnEarlierDeadlineOfTheNextExchange() async throws {
        let server = try await Server(.answerFirstThenSilent("once"))
        let client = client(readMillis: 3000)
        let (status, body) = try await post(client, server.url)
        #expect(status == 200)
        #expect(body == "once")
        // The first exchange left a timer 3 s out; this one's deadline is 300 ms.
        let started = NIODeadline.now()
        do {
            _ = try await post(client, server.url, deadlineMillis: 300)
            Issue.record("expected the deadline to end the unanswered exchange")
        } catch let error as AttemptFailureError {
            #expect(error.failure == .timeout(phase: .total))
        }
        #expect(NIODeadline.now() - started < .milliseconds(2500))
        #expect(server.counters.connections.load(ordering: .relaxed) == 1)
        client.shutdown()
        try await server.close()
    }

    @Test func aTimerKeptFromTheLastExchangeDoesNotEndTheNextOneEarly() async throws {
        let server = try await Server(.answerFirstThenSilent("once"))
        let client = client(readMillis: 400)
        _ = try await post(client, server.url)
        // The kept timer fires 400 ms after the first request, about 250 ms into the second
        // one, whose own read limit runs to 400 ms: it must be set again, not expire it.
        try await Task.sleep(nanoseconds: 150_000_000)
        let started = NIODeadline.now()
        await #expect(throws: UpstreamReadTimeout.self) { _ = try await post(client, server.url) }
        #expect(NIODeadline.now() - started >= .milliseconds(390))
        #expect(server.counters.connections.load(ordering: .relaxed) == 1)
        client.shutdown()
        try await server.close()
    }

    @Test func aStalledLoopReportsTheLimitReachedFirst() async throws {
        // Once the request is out, the client's only event loop is kept busy past both limits;
        // when its timer finally runs, the read limit (100 ms) came before the total deadline
        // (1 s) and names the failure.
        let server = try await Server(.silent)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = PlainHTTPClient(
            group: group, connectTimeout: .seconds(2), firstByteTimeout: .milliseconds(100), idleTimeout: .milliseconds(100)
        )
        let outcome = Task { try await post(client, server.url, deadlineMillis: 1000) }
        while server.counters.requests.load(ordering: .relaxed) == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        _ = try await group.next().submit { usleep(1_500_000) }.get()
        await #expect(throws: UpstreamReadTimeout.self) { _ = try await outcome.value }
        client.shutdown()
        try await group.shutdownGracefully()
        try await server.close()
    }

    @Test func theIdleLimitAppliesBetweenPartsAndTheFirstByteLimitBefore() async throws {
        // Parts 120 ms apart: within a 400 ms first-byte limit, beyond a 60 ms idle limit.
        let server = try await Server(.parts(["a", "b", "c"], gapMillis: 120))
        let patient = client(readMillis: 400, idleMillis: 60)
        let (_, exchange) = try await patient.execute(method: "POST", url: server.url, headers: [], body: [], deadline: .now() + .seconds(60))
        #expect(String(buffer: try #require(try await exchange.next())) == "a")
        await #expect(throws: UpstreamReadTimeout.self) { _ = try await exchange.next() }
        // With a generous idle limit the same answer arrives whole.
        let relaxed = client(readMillis: 400, idleMillis: 400)
        let (status, body) = try await post(relaxed, server.url)
        #expect(status == 200)
        #expect(body == "abc")
        patient.shutdown()
        relaxed.shutdown()
        try await server.close()
    }

    @Test func theTotalDeadlineEndsALongAnswer() async throws {
        let server = try await Server(.parts(["a", "b", "c", "d", "e"], gapMillis: 100))
        let client = client()
        do {
            _ = try await post(client, server.url, deadlineMillis: 250)
            Issue.record("expected the deadline to end the answer")
        } catch let error as AttemptFailureError {
            #expect(error.failure == .timeout(phase: .total))
        }
        client.shutdown()
        try await server.close()
    }

    @Test func streamsPartsAsTheyArrive() async throws {
        let server = try await Server(.parts(["data: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n"], gapMillis: 30))
        let client = client()
        let (head, exchange) = try await client.execute(
            method: "POST", url: server.url, headers: [], body: [], deadline: .now() + .seconds(60)
        )
        #expect(head.status == .ok)
        var parts: [String] = []
        while let part = try await exchange.next() { parts.append(String(buffer: part)) }
        #expect(parts.joined() == "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")
        #expect(parts.count == 3)
        // The connection went back to the pool and serves the next request.
        let (status, _) = try await post(client, server.url)
        #expect(status == 200)
        #expect(server.counters.connections.load(ordering: .relaxed) == 1)
        client.shutdown()
        try await server.close()
    }

    @Test func aConnectionRefusedIsAConnectFailure() async throws {
        let server = try await Server(.silent)
        let url = server.url
        try await server.close()
        do {
            _ = try await post(client(), url)
            Issue.record("expected a connect failure")
        } catch let error as AttemptFailureError {
            guard case .connect = error.failure else {
                Issue.record("unexpected failure \(error.failure)")
                return
            }
        }
    }
}
