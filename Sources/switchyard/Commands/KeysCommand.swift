import ArgumentParser
import Foundation
import Logging
import SwitchyardCore
import SwitchyardStore

/// `switchyard keys create|list|revoke`: virtual API keys in the configured database.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke virtual API keys.",
        discussion: """
            Keys live in the database named by the configuration (database.url; SQLite \
            switchyard.db beside the config file by default). Only a SHA-256 hash of each \
            key's secret is stored: the key is printed once, by `create`.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it (once).",
            discussion: """
                Example: switchyard keys create --config switchyard.yaml --name team-a \
                --profile budget --budget 50/month --rpm 600 --tpm 200000
                """
        )

        @Option(name: .long, help: "Path of the YAML configuration file.")
        var config: String

        @Option(name: .long, help: "A label for the key (team, app, person).")
        var name: String

        @Option(name: .long, help: "Policy profile for requests with this key (default: routing.default_profile).")
        var profile: String?

        @Option(name: .long, help: "Spending limit in USD: AMOUNT (never renews) or AMOUNT/day, AMOUNT/week, AMOUNT/month.")
        var budget: String?

        @Option(name: .long, help: "Requests per minute.")
        var rpm: Int?

        @Option(name: .long, help: "Tokens per minute (prompt + completion).")
        var tpm: Int?

        @Option(name: .long, help: "Expire the key after this long: 12h, 30d, 2w (default: never).")
        var expires: String?

        @Flag(name: .long, help: "Print the key and its settings as JSON.")
        var json = false

        func run() async throws {
            try await withStore(config) { loaded, store in
                do {
                    let (record, key) = try await KeyIssuer.create(
                        KeyIssuer.Request(name: name, profile: profile, budget: budget, rpm: rpm, tpm: tpm, expiresIn: expires), config: loaded,
                        store: store
                    )
                    if json {
                        print(String(decoding: JSONWriter.bytes(record.json(key: key)), as: UTF8.self))
                    } else {
                        print(key)
                        printError("created key \(record.id) '\(record.name)'; store it now, it cannot be shown again")
                    }
                } catch let error as KeyIssuerError {
                    throw ValidationError(error.description)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys with their limits and current spend (never the keys themselves).")

        @Option(name: .long, help: "Path of the YAML configuration file.")
        var config: String

        @Flag(name: .long, help: "Print a JSON array.")
        var json = false

        func run() async throws {
            try await withStore(config) { _, store in
                let keys = try await KeyIssuer.listing(store: store)
                if json {
                    print(String(decoding: JSONWriter.bytes(.array(keys)), as: UTF8.self))
                    return
                }
                print("id            name                 profile      budget          spent      rpm     tpm  state")
                for key in keys {
                    func field(_ name: String) -> String {
                        switch key[name] {
                        case .string(let s)?: return s
                        case .number(let n)?: return n
                        default: return "-"
                        }
                    }
                    let budget = key["budget_usd"]?.doubleValue.map { amount in
                        let period = field("budget_period")
                        let text = "$" + (key["budget_usd"].flatMap { if case .number(let n) = $0 { return n } else { return nil } } ?? String(amount))
                        return period == "total" ? text : text + "/" + period
                    } ?? "-"
                    let spent = String(format: "$%.4f", key["spent_usd"]?.doubleValue ?? 0)
                    let expired = key["expires_at"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) }.map { $0 <= Date() } ?? false
                    let state = key["revoked_at"]?.isNull == false ? "revoked" : expired ? "expired" : "active"
                    print(
                        [
                            field("id").padding(toLength: 13, withPad: " ", startingAt: 0),
                            field("name").padding(toLength: 20, withPad: " ", startingAt: 0),
                            field("profile").padding(toLength: 12, withPad: " ", startingAt: 0),
                            budget.padding(toLength: 15, withPad: " ", startingAt: 0),
                            spent.padding(toLength: 10, withPad: " ", startingAt: 0),
                            field("rpm").padding(toLength: 7, withPad: " ", startingAt: 0),
                            field("tpm").padding(toLength: 7, withPad: " ", startingAt: 0),
                            state,
                        ].joined(separator: " ")
                    )
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by id.",
            discussion: "Running gateways refuse it within accounting.key_cache (2 s by default)."
        )

        @Option(name: .long, help: "Path of the YAML configuration file.")
        var config: String

        @Argument(help: "The key's id (the 12 hex digits after sk-sy-).")
        var id: String

        func run() async throws {
            try await withStore(config) { _, store in
                guard try await store.revokeKey(id: id, at: Date()) else {
                    printError("no key with id '\(id)'")
                    throw ExitCode(1)
                }
                print("revoked \(id)")
            }
        }
    }
}

/// `switchyard report`: spend, savings and traffic mix from the request log.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summarise spend, savings versus all-frontier, traffic per tier, top keys and error rates.",
        discussion: """
            Reads the request log in the configured database. Savings compare each request's \
            cost with what the reference frontier model (accounting.reference_model, default: \
            the priciest closed model) would have cost for the same tokens.
            """
    )

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Window to report on, back from now: 30m, 24h, 7d, 2w.")
    var since = "7d"

    @Flag(name: .long, help: "Print JSON (the same as GET /admin/report).")
    var json = false

    func run() async throws {
        guard let seconds = KeyIssuer.parseWindow(since) else { throw ValidationError("invalid --since '\(since)': expected e.g. 30m, 24h, 7d or 2w") }
        try await withStore(config) { _, store in
            let now = Date()
            let report = try await store.report(since: now.addingTimeInterval(-seconds), until: now.addingTimeInterval(1))
            print(json ? String(decoding: JSONWriter.bytes(report.json()), as: UTF8.self) : report.text())
        }
    }
}

/// Loads the config, opens its database, runs `body`, closes the database.
func withStore(_ configPath: String, _ body: (GatewayConfig, any AccountingStore) async throws -> Void) async throws {
    let loaded: GatewayConfig
    do {
        loaded = try ConfigLoader.load(file: configPath)
    } catch let error as ConfigError {
        printError("invalid configuration: \(error)")
        throw ExitCode(2)
    }
    guard let database = loaded.database else { throw ValidationError("the configuration has no database") }
    let logger = Logger(label: "switchyard")
    let store: any AccountingStore
    do {
        store = try await StoreFactory.open(database, logger: logger)
    } catch {
        printError("cannot open the database (\(database.redactedDescription)): \(error)")
        throw ExitCode(1)
    }
    do {
        try await body(loaded, store)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}
