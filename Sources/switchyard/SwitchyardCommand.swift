import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import SwitchyardServer

/// Entry point. Before any Swift concurrency work exists, it makes SwiftNIO's event-loop
/// threads the global executor, so request handlers, the HTTP server and the upstream
/// client share threads instead of handing every request between two thread pools
/// (each hop is a futex wake-up, which dominated the per-request cost when measured).
/// `EventLoopGlobalExecutor` says why the hook is ours rather than NIO's installer.
@main
enum SwitchyardMain {
    static func main() {
        if let raw = ProcessInfo.processInfo.environment["SWITCHYARD_EVENT_LOOPS"], let loops = Int(raw), loops > 0 {
            NIOSingletons.groupLoopCountSuggestion = loops
        }
        if !EventLoopGlobalExecutor.install() {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        // The main thread keeps serving the main queue (the main actor) while the command runs.
        Task {
            await SwitchyardCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// The `switchyard` command line: one binary for the gateway and its tools.
struct SwitchyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An LLM gateway that routes each request to an open or closed model by policy, cost and quality.",
        discussion: """
            Clients use the OpenAI API (point base_url at http://HOST:PORT/v1). Models, their \
            upstreams and prices come from a YAML file; see README.md for its keys.
            """,
        subcommands: [
            ServeCommand.self, RouteCommand.self, CheckConfigCommand.self, TrainCommand.self, CalibrateCommand.self, EvalCommand.self,
            CrossValidateCommand.self, KeysCommand.self, ReportCommand.self,
        ]
    )
}
