import NIOCore

/// A task executor (SE-0417) that runs jobs on one event loop.
///
/// A request's task runs with this executor as its preference. SwiftNIO, installed as the
/// global executor, runs every job "on" the loop's serial executor. So each call from the
/// request's code into an async function that wants the generic executor used to switch
/// executors, at the cost of an extra job through the loop's queue. Such functions are
/// `@concurrent` ones, and nonisolated ones from packages built without
/// `NonisolatedNonsendingByDefault`: Hummingbird's body writers and readers, among others.
/// About twenty of those jobs ran for every proxied request. With the preference, those
/// functions run on this executor, on the same thread, without a switch. Continuations
/// resumed by channel handlers come back through `enqueue`.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
