import ArgumentParser
import Foundation
import Ops

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List dead letters; redrive them to their original topic once the producer or the contract is fixed.",
        discussion: """
            Entries are named ops.dead-letter.v1/<partition>/<offset>. A redrive sends the original \
            key, bytes and headers unchanged (plus `redriven-from`), once; it is recorded on \
            ops.audit.v1. Input that is still poison is dead-lettered again, as a new entry.

            Examples:
              millwright dlq list --bootstrap-servers localhost:9092 --reason INVALID_FIELD
              millwright dlq redrive --bootstrap-servers localhost:9092 --id ops.dead-letter.v1/0/17 --execute
            """,
        subcommands: [List.self, Redrive.self]
    )

    struct Selection: ParsableArguments {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Consumer group prefix of the workers (for the audit record).") var group: String = "millwright"
        @Option(help: "One dead letter, by id (see `list`).") var id: String?
        @Option(help: "Dead letters of this dlq-reason.") var reason: String?
        @Option(help: "Dead letters from this original topic.") var topic: String?

        func tool() throws -> DeadLetterTool {
            DeadLetterTool(client: try connection.clientConfiguration(), logger: quietLogger(), group: group)
        }

        func select(_ entries: [DeadLetterEntry]) -> [DeadLetterEntry] {
            entries.filter { ($0.id == id || id == nil) && (reason == nil || $0.reason == reason) && (topic == nil || $0.originalTopic == topic) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead letters, oldest first, with reason, error and state.")
        @OptionGroup var selection: Selection
        @Flag(help: "Also those already redriven.") var all = false

        func run() async throws {
            let entries = selection.select(try await selection.tool().list()).filter { all || $0.state == "open" }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            print("\(entries.count) dead letter\(entries.count == 1 ? "" : "s")")
            for entry in entries {
                print(
                    "\(entry.id)  \(entry.reason)  from \(entry.originalTopic)[\(entry.originalPartition)]@\(entry.originalOffset)  age=\(entry.deadLetteredAt.map { age(now - $0) } ?? "-")  \(entry.state)\(entry.truncatedFrom.map { "  truncated (first bytes of \($0))" } ?? "")"
                )
                print("    \(entry.error)")
            }
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send dead letters back to their original topic, unchanged, once.")
        @OptionGroup var selection: Selection
        @Flag(help: "Send them (without it: show only).") var execute = false

        func run() async throws {
            guard selection.id != nil || selection.reason != nil || selection.topic != nil else {
                throw ValidationError("name the dead letters: --id, --reason or --topic")
            }
            let tool = try selection.tool()
            let entries = selection.select(try await tool.list())
            guard !entries.isEmpty else { throw CommandError("no dead letter matches") }
            let (redriven, skipped, truncated) = try await tool.redrive(entries, execute: execute)
            for id in redriven { print("\(id)  \(execute ? "redriven" : "would redrive")") }
            for id in skipped { print("\(id)  already redriven: nothing done") }
            for id in truncated { print("\(id)  truncated copy (dlq-truncated): not redriven; send the input again from its source") }
            print(execute ? "redrove \(redriven.count); audit record on ops.audit.v1" : "dry run: nothing changed (add --execute)")
        }
    }
}
