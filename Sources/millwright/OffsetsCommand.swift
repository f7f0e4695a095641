import ArgumentParser
import Foundation
import Kafka
import Logging
import Ops

struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets",
        abstract: "Inspect or reset a processor's consumer-group offsets (replay).",
        subcommands: [Show.self, Reset.self]
    )

    /// `--processor`: one processor, or both when left out.
    static func processors(_ processor: String?) throws -> [String] {
        guard let processor else { return OffsetReset.inputs.keys.sorted() }
        guard OffsetReset.inputs[processor] != nil else {
            throw ValidationError("--processor: '\(processor)' is not one of \(OffsetReset.inputs.keys.sorted().joined(separator: ", "))")
        }
        return [processor]
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Committed offset, end offset and lag per input partition of each processor's group.",
            discussion: """
                Example:
                  millwright offsets show --bootstrap-servers localhost:9092 --group millwright
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Consumer group prefix of the workers.") var group: String = "millwright"
        @Option(help: "release or confirmation (default: both).") var processor: String?

        func run() async throws {
            let reset = OffsetReset(client: try connection.clientConfiguration(), logger: quietLogger())
            for processor in try OffsetsCommand.processors(processor) {
                let group = "\(self.group).\(processor)"
                let lags = try await reset.lag(group: group, topics: OffsetReset.topics(of: processor, group: self.group))
                print("group \(group): lag \(lags.reduce(0) { $0 + $1.lag })")
                print("  partition                            committed        end        lag")
                for lag in lags {
                    let name = "\(lag.partition)".padding(toLength: 34, withPad: " ", startingAt: 0)
                    print("  \(name) \(pad(lag.committed.map(String.init) ?? "-", 10)) \(pad(String(lag.end), 10)) \(pad(String(lag.lag), 10))")
                }
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reset the offsets of `<group>.<processor>` to replay its input.",
            discussion: """
                Shows the plan; changes nothing without --execute. Every worker of the group must \
                be stopped (Kafka refuses the change while members are live). A replay never posts \
                a postingId to ERP twice nor releases a work order twice; status events may repeat. \
                An executed reset is recorded on ops.audit.v1 (who, where, when, the plan).

                --to takes: earliest, latest, an RFC 3339 UTC time (2026-11-27T06:00:00Z), a \
                duration back from now (-2h, --to=-2h, or 2h-ago; units ms, s, m, h), \
                shift:<±n> (from the committed offset), offset:<n>.

                Examples:
                  millwright offsets reset --bootstrap-servers localhost:9092 --processor confirmation --to -2h
                  millwright offsets reset --bootstrap-servers localhost:9092 --processor release --to 2026-11-27T06:00:00Z --execute --wait
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Consumer group prefix of the workers.") var group: String = "millwright"
        @Option(help: "release or confirmation.") var processor: String
        @Option(
            parsing: .unconditional,
            help: "earliest, latest, an RFC 3339 UTC time, a duration back (-2h or 2h-ago), shift:<±n>, offset:<n>.")
        var to: String
        @Option(help: "Only this input topic.") var topic: String?
        @Option(help: "Only these partitions (comma-separated).") var partitions: String?
        @Flag(help: "Apply the plan (without it: show only).") var execute = false
        @Flag(help: "After --execute, follow the workers' progress until the group has caught up (start them meanwhile).")
        var wait = false
        @Option(help: "With --wait: give up after this many seconds (default: wait until Ctrl-C).") var waitTimeout: Int?

        func run() async throws {
            let topics = OffsetReset.topics(of: try OffsetsCommand.processors(processor)[0], group: self.group)
            if let topic, !topics.contains(topic) {
                throw ValidationError("--topic: \(processor) reads \(topics.joined(separator: ", ")), not \(topic)")
            }
            let target: OffsetReset.Target
            do { target = try OffsetReset.parseTarget(to, now: Int64(Date().timeIntervalSince1970 * 1000)) } catch {
                throw ValidationError("\(error)")
            }
            let numbers = try partitions.map { text in
                try text.split(separator: ",").map { part -> Int32 in
                    guard let n = Int32(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                        throw ValidationError("--partitions: '\(part)' is not a partition number")
                    }
                    return n
                }
            }
            let reset = OffsetReset(client: try connection.clientConfiguration(), logger: quietLogger())
            let group = "\(self.group).\(processor)"
            let plan = try await reset.plan(group: group, topics: topic.map { [$0] } ?? topics, partitions: numbers, to: target)
            print("group \(group), to \(to):")
            for change in plan {
                print("  \(change.partition)  \(change.current.map(String.init) ?? "-") → \(change.target)")
            }
            guard execute else {
                print("dry run: nothing changed (add --execute)")
                return
            }
            let applied = try await reset.apply(group: group, subscribe: topics, plan)
            let audit = try await reset.audit(group: group, target: to, plan: plan, applied: applied)
            print("reset \(plan.count) partitions (\(applied == .altered ? "admin API" : "as the group's only member")); audit record \(audit) on ops.audit.v1")
            guard wait else {
                print("start the workers to replay; follow with `millwright offsets show` or --wait")
                return
            }
            try await follow(reset, group: group, topics: topics)
        }

        /// A progress bar of the group's committed offsets towards the ends, until no lag is left.
        func follow(_ reset: OffsetReset, group: String, topics: [String]) async throws {
            let first = try await reset.lag(group: group, topics: topics).reduce(0) { $0 + $1.lag }
            let deadline = waitTimeout.map { ContinuousClock.now.advanced(by: .seconds($0)) }
            let started = ContinuousClock.now
            while true {
                let lag = try await reset.lag(group: group, topics: topics).reduce(0) { $0 + $1.lag }
                let done = first == 0 ? 1.0 : Double(max(0, first - lag)) / Double(first)
                let filled = Int(done * 30)
                let line =
                    "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 30 - filled))] \(Int(done * 100))%  lag \(lag)  \(Int((ContinuousClock.now - started).wholeMilliseconds / 1000)) s "
                FileHandle.standardOutput.write(Data(line.utf8))
                if lag == 0 {
                    print("\ncaught up: the group has committed every partition's end")
                    return
                }
                if let deadline, ContinuousClock.now > deadline {
                    print("")
                    throw CommandError("not caught up within \(waitTimeout!) s: lag \(lag) (are the workers running?)")
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
