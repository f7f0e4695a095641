import ArgumentParser
import Foundation
import Logging
import Ops

struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets",
        abstract: "Inspect or reset a processor's consumer-group offsets (replay).",
        subcommands: [Reset.self]
    )

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reset the offsets of `<group>.<processor>` to replay its input.",
            discussion: """
                Shows the plan; changes nothing without --execute. Every worker of the group must \
                be stopped (Kafka refuses the change while members are live). A replay never posts \
                a postingId to ERP twice nor releases a work order twice; status events may repeat.

                Examples:
                  millwright offsets reset --bootstrap-servers localhost:9092 --processor confirmation --to -2h
                  millwright offsets reset --bootstrap-servers localhost:9092 --processor release --to 2026-11-27T06:00:00Z --execute
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Consumer group prefix of the workers.") var group: String = "millwright"
        @Option(help: "release or confirmation.") var processor: String
        @Option(help: "earliest, latest, an RFC 3339 UTC time, a duration back (-15m), shift:<±n>, offset:<n>.") var to: String
        @Option(help: "Only this input topic.") var topic: String?
        @Option(help: "Only these partitions (comma-separated).") var partitions: String?
        @Flag(help: "Apply the plan (without it: show only).") var execute = false

        func run() async throws {
            guard let topics = OffsetReset.inputs[processor] else {
                throw ValidationError("--processor: '\(processor)' is not one of \(OffsetReset.inputs.keys.sorted().joined(separator: ", "))")
            }
            if let topic, !topics.contains(topic) {
                throw ValidationError("--topic: \(processor) reads \(topics.joined(separator: ", ")), not \(topic)")
            }
            let target = try OffsetReset.parseTarget(to, now: Int64(Date().timeIntervalSince1970 * 1000))
            let numbers = try partitions.map { text in
                try text.split(separator: ",").map { part -> Int32 in
                    guard let n = Int32(part.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw ValidationError("--partitions: '\(part)' is not a partition number") }
                    return n
                }
            }
            let reset = OffsetReset(client: try connection.clientConfiguration(), logger: quietLogger())
            let group = "\(self.group).\(processor)"
            let plan = try await reset.plan(group: group, topics: topic.map { [$0] } ?? topics, partitions: numbers, to: target)
            print("group \(group):")
            for change in plan {
                print("  \(change.partition)  \(change.current.map(String.init) ?? "-") → \(change.target)")
            }
            guard execute else {
                print("dry run: nothing changed (add --execute)")
                return
            }
            try await reset.apply(group: group, plan)
            print("reset \(plan.count) partitions; start the workers to replay")
        }
    }
}
