import ArgumentParser

/// The `switchyard` command line: one binary for the gateway and its tools.
@main
struct SwitchyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An LLM gateway that routes each request to an open or closed model by policy, cost and quality.",
        discussion: """
            Clients use the OpenAI API (point base_url at http://HOST:PORT/v1). Models, their
            upstreams and prices come from a YAML file; see README.md for its keys.
            """,
        subcommands: [ServeCommand.self, RouteCommand.self, CheckConfigCommand.self]
    )
}
