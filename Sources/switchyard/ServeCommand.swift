import Foundation
import ArgumentParser
import Hummingbird
import Logging
import SwitchyardCore
import SwitchyardServer
import SwitchyardStore
import OTel
import ServiceLifecycle
import UnixSignals

/// Log levels accepted on the command line.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: """
            Loads and validates the configuration, opens the database (SQLite by default,
            PostgreSQL for a postgres:// URL; migrations run at start), then serves
            POST /v1/chat/completions, GET /v1/models, GET /healthz, GET /readyz, GET /metrics
            and /admin/* until SIGINT or SIGTERM. On either signal it stops accepting, finishes
            requests in flight, writes the buffered request log and exits 0.
            """
    )

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Override server.host from the configuration.")
    var host: String?

    @Option(name: .long, help: "Override server.port from the configuration.")
    var port: Int?

    @Option(name: .long, help: "Log level: \(LogLevelOption.allCases.map(\.rawValue).joined(separator: ", ")).")
    var logLevel: LogLevelOption = .info

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel.level
            return handler
        }
        let logger = Logger(label: "switchyard")
        var loaded: GatewayConfig
        do {
            loaded = try ConfigLoader.load(file: config)
        } catch let error as ConfigError {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
        if let host { loaded.server.host = host }
        if let port { loaded.server.port = port }
        for model in loaded.models {
            for deployment in model.deployments {
                if case .missing(let variable) = deployment.credential {
                    logger.notice("model not enabled: its API key is not set", metadata: ["model": .string(model.name), "variable": .string(variable)])
                }
            }
        }
        var store: (any AccountingStore)?
        if let database = loaded.database {
            do {
                store = try await StoreFactory.open(database, logger: logger)
            } catch {
                printError("cannot open the database (\(database.redactedDescription)): \(error)")
                throw ExitCode(1)
            }
        }
        let gateway = try Gateway(config: loaded, logger: logger, store: store)
        var services: [any Service] = []
        if let tracing = loaded.tracing {
            services.append(try Self.bootstrapTracing(tracing))
            logger.notice("tracing to OTLP/HTTP", metadata: ["endpoint": .string(tracing.otlpEndpoint)])
        }
        let address = "\(loaded.server.host):\(loaded.server.port)"
        let models = loaded.models.count
        let server = GatewayApplication.makeServer(gateway: gateway, logger: logger) { _ in
            logger.notice("switchyard listening", metadata: ["address": .string(address), "models": .stringConvertible(models)])
        }
        let group = ServiceGroup(
            configuration: .init(services: [server] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        do {
            try await group.run()
        } catch {
            await gateway.shutdown()
            throw error
        }
        await gateway.shutdown()
    }
}

extension ServeCommand {
    /// Installs swift-otel as the process's tracer (traces only: metrics are Prometheus'
    /// and logs go to standard error) and returns its exporter service.
    static func bootstrapTracing(_ settings: TracingSettings) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        var endpoint = settings.otlpEndpoint
        if !endpoint.hasSuffix("/v1/traces") { endpoint += "/v1/traces" }
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(500)
        if settings.sampleRatio < 1, let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: settings.sampleRatio) {
            configuration.traces.sampler = sampler
        }
        configuration.diagnosticLogLevel = .warning
        return try OTel.bootstrap(configuration: configuration)
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and list its models.",
        discussion: "Exits with status 1 and a message naming the file, key and line when the configuration is invalid."
    )

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String

    func run() throws {
        do {
            let loaded = try ConfigLoader.load(file: config)
            for model in loaded.models {
                let enabled = model.deployments.contains { if case .missing = $0.credential { return false } else { return true } }
                print("\(model.name)\t\(model.provider.rawValue)\t\(model.openness.rawValue)/\(model.hosting.rawValue)\t\(model.deployments.count) deployment(s)\t\(enabled ? "enabled" : "disabled (API key not set)")")
            }
        } catch let error as ConfigError {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
