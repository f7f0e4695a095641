import Kafka
import Manufacturing
import Streams

/// A probe's answer: healthy or not, and a JSON body that says why.
public struct ProbeResult: Sendable, Hashable {
    public var healthy: Bool
    public var body: JSONValue
}

/// The liveness and readiness rules, as pure functions of a ``HealthSnapshot``.
public enum Probes {
    /// `/healthz`: live while every loop thread has made progress (polled, or read changelog in a
    /// restore) within `timeout` and none has failed, and master-data loading has not failed.
    /// A thread that has not polled yet (starting) counts as live.
    public static func liveness(_ snapshot: HealthSnapshot, timeout: Duration) -> ProbeResult {
        var problems: [JSONValue] = []
        if let failure = snapshot.masterData.failure {
            problems.append(["part": "masterData", "problem": .string("loading failed: \(failure)")])
        }
        for worker in snapshot.workers where !worker.isLive(within: timeout) {
            let problem: String
            if let failure = worker.failure {
                problem = "failed: \(failure)"
            } else if let since = worker.sinceProgress {
                problem = "no poll for \(since.wholeMilliseconds / 1000) s (limit \(timeout.wholeMilliseconds / 1000) s)"
            } else {
                problem = "not running"
            }
            problems.append(["part": .string(name(worker)), "problem": .string(problem)])
        }
        return ProbeResult(
            healthy: problems.isEmpty,
            body: ["status": problems.isEmpty ? "live" : "not live", "problems": .array(problems)])
    }

    /// `/readyz`: ready once master data has caught up, every processor's group is joined and
    /// every assigned task is restored, while the processors reach the cluster; not ready while
    /// shutting down. The body names what is
    /// pending, with its progress, and `stateLoss`: each task whose changelog no longer had the
    /// history its state needed — rebuilt from what was left (`allowStateLoss`: the worker stays
    /// ready) or the reason its processor stopped (then also a `failed: …` in `pending`).
    public static func readiness(_ snapshot: HealthSnapshot) -> ProbeResult {
        var pending: [JSONValue] = []
        let master = snapshot.masterData
        if !master.caughtUp {
            let what =
                master.failure.map { "failed: \($0)" }
                ?? (master.started ? "catching up" : master.retrying.map { "starting: \($0); trying again" } ?? "starting")
            pending.append([
                "part": "masterData", "pending": .string(what),
                "topics": .array(master.progress.map { ["topic": .string($0.topic), "loaded": number($0.loaded), "toLoad": number($0.toLoad)] }),
            ])
        }
        for worker in snapshot.workers where !worker.isReady {
            var entry = JSONObject([("part", .string(name(worker)))])
            if let failure = worker.failure {
                entry.set("pending", .string("failed: \(failure)"))
            } else if !worker.running {
                entry.set("pending", "not running")
            } else if worker.stopping {
                entry.set("pending", "stopping")
            } else if let down = worker.clusterUnreachableFor {
                entry.set("pending", .string("cannot reach the Kafka cluster: every broker down for \(down.wholeMilliseconds / 1000) s; retrying"))
            } else if !worker.joined {
                entry.set("pending", "joining the consumer group")
            } else {
                entry.set("pending", "restoring tasks")
            }
            entry.set("tasksToOpen", .number(Double(worker.openingTasks), isInteger: true))
            entry.set(
                "restoring",
                .array(
                    worker.restoring.map {
                        ["partition": .number(Double($0.partition), isInteger: true), "restored": number($0.restored), "toRestore": number($0.toRestore)]
                    }))
            pending.append(.object(entry))
        }
        if snapshot.shuttingDown { pending.append(["part": "worker", "pending": "shutting down"]) }
        let ready = pending.isEmpty
        let losses: [JSONValue] = snapshot.workers.flatMap { worker in
            worker.stateLosses.map { loss -> JSONValue in
                [
                    "processor": .string(worker.processor), "partition": .number(Double(loss.partition), isInteger: true),
                    "changelog": .string(loss.changelog), "neededOffset": number(loss.gap.needed), "logStartOffset": number(loss.gap.logStart),
                    "missingOffsets": number(loss.gap.missing), "rebuilt": .bool(loss.rebuilt),
                ]
            }
        }
        return ProbeResult(
            healthy: ready,
            body: [
                "status": ready ? "ready" : "not ready", "pending": .array(pending), "stateLoss": .array(losses),
                "processors": .array(
                    snapshot.workers.map {
                        [
                            "processor": .string($0.processor), "thread": .number(Double($0.thread), isInteger: true),
                            "partitions": .array($0.assignedPartitions.map { .number(Double($0), isInteger: true) }),
                        ]
                    }),
            ])
    }

    private static func name(_ worker: StreamWorkerHealth) -> String {
        worker.thread == 0 ? worker.processor : "\(worker.processor)-\(worker.thread)"
    }

    private static func number(_ value: Int64) -> JSONValue { .number(Double(value), isInteger: true) }
}
