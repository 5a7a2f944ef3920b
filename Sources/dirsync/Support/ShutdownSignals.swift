import Dispatch
import Foundation
import Synchronization

/// Turns SIGTERM and SIGINT into task cancellation, so a run stops between pages, records itself as
/// interrupted and exits within seconds. A second signal ends the process at once.
enum ShutdownSignals {
    /// Keeps the dispatch sources alive; written once, from `install`, before any signal can arrive.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let received = Atomic<Int>(0)

    /// Installs the handlers; `onShutdown` runs once, on the first signal.
    /// - Parameter announce: whether to say on stderr that the run finishes its page first.
    static func install(announce: Bool = true, _ onShutdown: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let count = received.add(1, ordering: .relaxed).newValue
                if count == 1 {
                    if announce { FileHandle.standardError.write(Data("dirsync: received \(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"), finishing the current page; send it again to stop at once\n".utf8)) }
                    onShutdown(signalNumber)
                } else {
                    exit(128 + signalNumber)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
