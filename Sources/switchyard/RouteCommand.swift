import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardPolicy
import SwitchyardServer

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Show the policy decision for a request without calling any model.",
        discussion: """
            Prints the decision as JSON: the chosen model and fallbacks, every candidate with
            why it was kept or dropped, detected sensitive data (kinds and counts, never the
            values), the data class, and the router score and threshold when a quality
            strategy decided. A refused request prints the status and reason instead.

            Examples:
              switchyard route --config config.yaml --route auto "Prove that sqrt(2) is irrational"
              switchyard route --config config.yaml --profile budget --file request.json
            """
    )

    @Option(name: .long, help: "Path of the YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Profile to decide for (default: the configuration's default profile).")
    var profile: String?

    @Option(name: .long, help: "Route or model name to request (default: the first configured route, else 'auto').")
    var route: String?

    @Option(name: .long, help: "Data class the caller declares: public, internal or confidential.")
    var dataClass: String?

    @Option(name: .long, help: "An OpenAI chat request body (JSON) to decide for, instead of a prompt.")
    var file: String?

    @Argument(help: "The prompt text, sent as one user message.")
    var prompt: String?

    func validate() throws {
        if (file == nil) == (prompt == nil) { throw ValidationError("Give either a prompt or --file, not both.") }
    }

    func run() async throws {
        let loaded: GatewayConfig
        do {
            loaded = try ConfigLoader.load(file: config)
        } catch let error as ConfigError {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
        let target = route ?? loaded.routing.routes.first?.name ?? "auto"
        var request: ChatRequest
        if let file {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            do {
                request = try OpenAIRequestDecoder.decode(try JSONParser.parse(Array(data)))
            } catch {
                printError("\(file): \(error)")
                throw ExitCode(2)
            }
            if let route { request.model = route }
        } else {
            request = ChatRequest(model: target, messages: [.text(.user, prompt ?? "")])
        }
        let result = try await RouteDryRun.decide(config: loaded, request: request, profile: profile, dataClass: dataClass)
        print(JSONWriter.string(result))
    }
}
