import Foundation
import Testing
@testable import SwitchyardCore
import SwitchyardPolicy

@Suite struct ConfigLoaderTests {
    static let sample = """
        server: {host: 127.0.0.1, port: 8080}
        models:
          - name: local-small
            provider: openai
            base_url: http://127.0.0.1:8081/v1/
            openness: open
            hosting: local
            price: {input_per_mtok: 0, output_per_mtok: 0}
            context_window: 8192
          - name: frontier
            provider: anthropic
            base_url: https://api.anthropic.com
            upstream_model: claude-opus-4
            api_key: ${ANTHROPIC_API_KEY}
            openness: closed
            hosting: cloud
            price: {input_per_mtok: 15, output_per_mtok: 75}
            fallbacks: [local-small]
            timeouts: {connect: 250ms, first_byte: 2s, idle: 1m}
            retry: {max_retries: 3}
          - name: pool
            provider: openai
            deployments:
              - {base_url: "http://a:1/v1", name: a}
              - {base_url: "http://b:2/v1", api_key: "${POOL_KEY:-dev-key}"}
            openness: open
            hosting: local
        """

    @Test func loadsTheDocumentedShape() throws {
        let config = try ConfigLoader.parse(yaml: Self.sample, file: "s.yaml", environment: ["ANTHROPIC_API_KEY": "sk-ant-x"])
        #expect(config.server.port == 8080)
        #expect(config.models.map(\.name) == ["local-small", "frontier", "pool"])
        let local = try #require(config.model(named: "local-small"))
        #expect(local.deployments.first?.baseURL == "http://127.0.0.1:8081/v1")
        #expect(local.upstreamModel == "local-small")
        let frontier = try #require(config.model(named: "frontier"))
        #expect(frontier.upstreamModel == "claude-opus-4")
        #expect(frontier.deployments.first?.credential == .value("sk-ant-x"))
        #expect(frontier.price == Price(inputPerMTok: 15, outputPerMTok: 75))
        #expect(frontier.fallbacks == ["local-small"])
        #expect(frontier.timeouts == Timeouts(connect: 0.25, firstByte: 2, idle: 60, total: 600))
        #expect(frontier.retry.maxRetries == 3)
        let pool = try #require(config.model(named: "pool"))
        #expect(pool.deployments.map(\.id) == ["a", "pool#1"])
        #expect(pool.deployments[1].credential == .value("dev-key"))
    }

    @Test func decodedSectionsReadBooleansNumbersAndNullsInEveryYAMLSpelling() throws {
        // The loader composes without Yams' regex resolver (plain scalars stay untyped);
        // the sections read through `Decodable` must still see booleans, numbers and nulls.
        let yaml = Self.sample + """

            routing:
              profiles:
                - {name: p1, allow_redaction: yes, explicit_model_fallbacks: TRUE, redaction: when-needed}
                - {name: p2, allow_redaction: Off, router_threshold: 0.75}
              routes:
                - {name: r1, log_text: on, threshold: 0.6, strong_model: frontier, weak_model: ~}
                - {name: r2, log_text: false, reference_model: null}
            """
        let config = try ConfigLoader.parse(yaml: yaml, file: "s.yaml", environment: ["ANTHROPIC_API_KEY": "k"])
        let p1 = try #require(config.routing.profiles.first { $0.name == "p1" })
        #expect(p1.allowRedaction && p1.explicitModelFallbacks)
        let p2 = try #require(config.routing.profiles.first { $0.name == "p2" })
        #expect(!p2.allowRedaction)
        #expect(p2.routerThreshold == 0.75)
        let routes = Dictionary(uniqueKeysWithValues: config.routing.routes.map { ($0.name, $0) })
        #expect(routes["r1"]?.logText == true)
        #expect(routes["r1"]?.threshold == 0.6)
        #expect(routes["r1"]?.weakModel == nil)
        #expect(routes["r2"]?.logText == false)
        #expect(routes["r2"]?.referenceModel == nil)
        // A quoted word stays a string (here it names no model, and the error quotes it).
        let quoted = Self.sample + "\nrouting:\n  routes:\n    - {name: r, strong_model: 'yes'}\n"
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: quoted, file: "s.yaml", environment: [:]) }
        do {
            _ = try ConfigLoader.parse(yaml: quoted, file: "s.yaml", environment: [:])
        } catch {
            #expect("\(error)".contains("names 'yes'"))
        }
        let bad = Self.sample + "\nrouting:\n  routes:\n    - {name: r, log_text: maybe}\n"
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: bad, file: "s.yaml", environment: [:]) }
    }

    @Test func unsetKeyVariableDisablesTheModelInsteadOfFailing() throws {
        let config = try ConfigLoader.parse(yaml: Self.sample, file: "s.yaml", environment: [:])
        #expect(config.model(named: "frontier")?.deployments.first?.credential == .missing(variable: "ANTHROPIC_API_KEY"))
    }

    static let broken: [(String, String)] = [
        ("models: []", "at least one model"),
        ("models:\n  - {name: a, provider: openai, openness: open}", "missing required key 'hosting'"),
        ("models:\n  - {name: a, provider: bedrock, openness: open, hosting: local}", "invalid value 'bedrock'"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, base_url: 'ftp://x'}", "not an http(s) URL"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, fallbacks: [b]}", "fallback 'b' is not a configured model"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, proce: {}}", "unknown key"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local}\n  - {name: a, provider: openai, openness: open, hosting: local}", "duplicate model name"),
        ("server: {port: 99999}\nmodels:\n  - {name: a, provider: openai, openness: open, hosting: local}", "at most 65535"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, timeouts: {connect: soon}}", "expected a duration"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, base_url: '${HOST}/v1'}", "environment variable 'HOST' is not set"),
        ("models:\n  - {name: a, provider: openai, openness: open, hosting: local, price: {input_per_mtok: -1}}", "at least 0"),
        ("models: [unclosed", "not valid YAML"),
    ]

    @Test(arguments: broken)
    func rejectsInvalidConfigNamingTheProblem(_ yaml: String, _ expected: String) {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "bad.yaml", environment: [:])
            Issue.record("accepted invalid config: \(yaml)")
        } catch let error as ConfigError {
            #expect(error.description.hasPrefix("bad.yaml"))
            #expect(error.description.contains(expected), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func errorNamesKeyPathAndLine() {
        let yaml = "models:\n  - name: a\n    provider: openai\n    openness: open\n    hosting: moon\n"
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "c.yaml")
            Issue.record("accepted")
        } catch let error as ConfigError {
            #expect(error.path == "models[0].hosting")
            #expect(error.line == 5)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func tlsCAFileNeedsAnHTTPSDeploymentAndIsResolvedBesideTheConfig() throws {
        let plain = "models:\n  - name: a\n    provider: openai\n    base_url: http://h:1/v1\n    openness: open\n    hosting: local\n    tls_ca_file: ca.pem\n"
        #expect(throws: ConfigError.self) { _ = try ConfigLoader.parse(yaml: plain, file: "c.yaml") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = plain.replacingOccurrences(of: "http://", with: "https://")
        let file = dir.appendingPathComponent("c.yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(file: file)
            Issue.record("accepted a missing CA file")
        } catch let error as ConfigError {
            #expect(error.path == "models[0].tls_ca_file")
        }
        try "pem".write(toFile: dir.appendingPathComponent("ca.pem").path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(file: file)
        #expect(config.models[0].tlsCAFile == dir.appendingPathComponent("ca.pem").path)
    }

    @Test func routerEncoderPrecisionIsValidated() throws {
        let router = FileManager.default.temporaryDirectory.appendingPathComponent("p-\(UInt32.random(in: 0...UInt32.max)).router")
        try Data("x".utf8).write(to: router)
        defer { try? FileManager.default.removeItem(at: router) }
        func yaml(_ precision: String?) -> String {
            "models:\n  - {name: a, provider: openai, base_url: http://h:1/v1, openness: open, hosting: local}\n"
                + "routing:\n  router:\n    file: \(router.path)\n"
                + (precision.map { "    encoder_precision: \($0)\n" } ?? "")
        }
        #expect(try ConfigLoader.parse(yaml: yaml(nil)).routing.encoderPrecision == .auto)
        #expect(try ConfigLoader.parse(yaml: yaml("float32")).routing.encoderPrecision == .float32)
        #expect(try ConfigLoader.parse(yaml: yaml("int8")).routing.encoderPrecision == .int8)
        do {
            _ = try ConfigLoader.parse(yaml: yaml("int4"), file: "c.yaml")
            Issue.record("accepted encoder_precision: int4")
        } catch let error as ConfigError {
            #expect(error.path == "routing.router.encoder_precision")
        }
    }

    @Test func priceComputesCostWithCachedTokens() {
        let price = Price(inputPerMTok: 10, outputPerMTok: 30, cachedInputPerMTok: 1)
        let usage = Usage(promptTokens: 1000, completionTokens: 100, cachedTokens: 400)
        #expect(abs(price.cost(of: usage) - (600 * 10 + 400 * 1 + 100 * 30) / 1e6) < 1e-12)
    }
}
