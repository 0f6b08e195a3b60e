#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import Synchronization

/// Makes SwiftNIO's event-loop threads the concurrency runtime's global executor, and
/// lets a job skip needless executor round trips when its loop has nothing else queued.
///
/// NIO's own installer (`unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// runs every global job *as the loop's serial executor*. A call into a non-isolated async
/// function (Hummingbird's response writer, `@concurrent` code) then asks the runtime for
/// the generic executor, which is not the one the job runs on, so `swift_task_switch`
/// suspends the task and queues it again on the same thread: about 14 round trips per
/// proxied request and 9 per relayed stream chunk (uprobes on `swift_task_enqueue`).
///
/// A job run on the runtime's generic executor continues through such calls inline. That
/// is cheaper for a request on its own, but with many requests in flight the round trips
/// pay for themselves: each step of each request goes to the back of the loop's queue, so
/// the loop runs one stage for many requests in a row, and c=64 throughput fell 16-23 %
/// without them (BENCHMARKS.md, session 12). So each job picks when it starts: on the
/// generic executor when no other job is queued on its loop behind it, as the loop's serial
/// executor otherwise.
///
/// Placement is NIO's: a job enqueued from one of the group's threads stays on that thread
/// (`MultiThreadedEventLoopGroup.any()` is sticky); from elsewhere it goes to the next loop.
/// Jobs that target an event loop as their own executor (actors or tasks isolated to a
/// loop) do not come through this hook.
public enum EventLoopGlobalExecutor {
    /// Installs the hook on `MultiThreadedEventLoopGroup.singleton`. Call once, from the main
    /// thread, before any task exists. Returns false when the runtime has no hook or another
    /// one is installed already.
    @discardableResult
    public static func install() -> Bool {
        guard MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size else { return false }
        typealias Original = @convention(thin) (UnownedJob) -> Void
        typealias Hook = @convention(thin) (UnownedJob, Original) -> Void
        guard let slot = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        let hookSlot = slot.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard hookSlot.pointee == nil else { return false }
        _ = queues  // built before the first job, on this thread
        return withUnsafeTemporaryAllocation(of: Hook.self, capacity: 1) { hook in
            hook.baseAddress!.initialize(to: { job, _ in EventLoopGlobalExecutor.enqueue(job) })
            // A thin function value is its entry point, one pointer: what the runtime calls
            // through the hook slot.
            hookSlot.pointee = UnsafeRawPointer(hook.baseAddress!).load(as: UnsafeRawPointer?.self)
            return hookSlot.pointee != nil
        }
    }

    /// One loop's count of global jobs queued and not yet started, its requests in
    /// flight, and its executor.
    final class LoopQueue: Sendable {
        let loop: any EventLoop
        let serialExecutor: UnownedSerialExecutor
        let waiting = Atomic<Int>(0)
        let requests = Atomic<Int>(0)

        init(_ loop: any EventLoop) {
            self.loop = loop
            self.serialExecutor = loop.executor.asUnownedSerialExecutor()
        }
    }

    /// The singleton group's loops; the group never changes size, so this is read-only.
    static let queues: [ObjectIdentifier: LoopQueue] = {
        var queues: [ObjectIdentifier: LoopQueue] = [:]
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            queues[ObjectIdentifier(loop)] = LoopQueue(loop)
        }
        return queues
    }()

    /// Queues a job on the current event loop (or the next one, off the group's threads).
    static func enqueue(_ job: UnownedJob) {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        guard let queue = queues[ObjectIdentifier(loop)] else {
            loop.execute { job.runSynchronously(on: loop.executor.asUnownedSerialExecutor()) }
            return
        }
        queue.waiting.add(1, ordering: .relaxed)
        loop.execute {
            let behind = queue.waiting.subtract(1, ordering: .relaxed).newValue
            job.runSynchronously(on: behind == 0 ? genericSerialExecutor : queue.serialExecutor)
        }
    }

    /// Notes a request starting on `loop`; true when no other request is in flight there
    /// and no job is queued, so the request's task may start inline (`Task.immediate`)
    /// instead of going through the loop's queue. The same trade as for jobs: alone, the
    /// queue round trip is pure cost; with others in flight it interleaves their stages
    /// (c=64 throughput fell about 13 % when every request started inline). A loop outside
    /// the singleton group is never quiet. Balance each call with `requestEnded(on:)`.
    static func requestStarted(on loop: any EventLoop) -> Bool {
        guard let queue = queues[ObjectIdentifier(loop)] else { return false }
        let others = queue.requests.add(1, ordering: .relaxed).oldValue
        return others == 0 && queue.waiting.load(ordering: .relaxed) == 0
    }

    static func requestEnded(on loop: any EventLoop) {
        queues[ObjectIdentifier(loop)]?.requests.subtract(1, ordering: .relaxed)
    }

    /// The runtime's generic executor (`SerialExecutorRef::generic()`): both words zero.
    /// The standard library builds it internally but offers no public constructor.
    static var genericSerialExecutor: UnownedSerialExecutor {
        unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)
    }
}
