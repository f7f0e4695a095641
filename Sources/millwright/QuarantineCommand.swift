import ArgumentParser
import Foundation
import Manufacturing
import Ops

struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List the quarantine; release entries after a master-data fix; approve or reject held-back postings.",
        discussion: """
            Entries are named by the input they hold back, <topic>/<partition>/<offset>, or \
            posting:<postingId> for a posting held back as OVER_CONFIRMATION. Every executed action \
            is recorded on ops.audit.v1, and an entry is never handled twice.

            Examples:
              millwright quarantine list --bootstrap-servers localhost:9092 --reason UNKNOWN_BOM_REVISION
              millwright quarantine release --bootstrap-servers localhost:9092 --reason UNKNOWN_BOM_REVISION --plant P100 --execute
              millwright quarantine approve --bootstrap-servers localhost:9092 --id posting:WO-4500012351-30:2026-12-04T06:00:00.000Z:milestone --execute
            """,
        subcommands: [List.self, Release.self, Approve.self, Reject.self]
    )

    /// Which entries: by id, or by reason (and plant, and age).
    struct Selection: ParsableArguments {
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Consumer group prefix of the workers (for the audit record).") var group: String = "millwright"
        @Option(help: "One entry, by id (see `list`).") var id: String?
        @Option(help: "Entries of this reason code.") var reason: String?
        @Option(help: "Entries of this plant.") var plant: String?
        @Option(help: "Entries quarantined at or after this RFC 3339 UTC time.") var since: String?

        func tool() throws -> QuarantineTool {
            QuarantineTool(client: try connection.clientConfiguration(), logger: quietLogger(), group: "\(group).release")
        }

        /// The one entry `--id` names.
        func one(_ tool: QuarantineTool, action: String) async throws -> QuarantineEntry {
            guard let id else { throw ValidationError("--id: the entry to \(action)") }
            guard let entry = try select(try await tool.list()).first else { throw CommandError("no quarantine entry \(id)") }
            return entry
        }

        func select(_ entries: [QuarantineEntry]) throws -> [QuarantineEntry] {
            if let reason, QuarantineReason(rawValue: reason) == nil {
                throw ValidationError("--reason: '\(reason)' is not one of \(QuarantineReason.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let after = try since.map { text in
                do { return try Timestamp(rfc3339: text).milliseconds } catch { throw ValidationError("--since: '\(text)' is not an RFC 3339 UTC time") }
            }
            return entries.filter { entry in
                (id == nil || entry.id == id) && (reason == nil || entry.reason.rawValue == reason)
                    && (plant == nil || entry.plant == plant) && (after == nil || entry.quarantinedAt.milliseconds >= after!)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The quarantine, oldest first, with each entry's age and state.")
        @OptionGroup var selection: Selection
        @Option(help: "table or json.") var format: String = "table"
        @Flag(help: "Also entries already released, approved or rejected.") var all = false

        func run() async throws {
            guard ["table", "json"].contains(format) else { throw ValidationError("--format: table or json (got '\(format)')") }
            let entries = try selection.select(try await selection.tool().list()).filter { all || $0.state == "open" }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if format == "json" {
                print(
                    JSONWriter.string(
                        .array(
                            entries.map { entry in
                                [
                                    "id": .string(entry.id), "reason": .string(entry.reason.rawValue), "plant": entry.plant.map(JSONValue.string) ?? .null,
                                    "key": entry.key.map(JSONValue.string) ?? .null, "quarantinedAt": .string(entry.quarantinedAt.rfc3339),
                                    "ageSeconds": .number(Double((now - entry.quarantinedAt.milliseconds) / 1000), isInteger: true),
                                    "state": .string(entry.state), "correlationId": .string(entry.correlationId), "detail": .string(entry.detail),
                                ]
                            })))
                return
            }
            print("\(entries.count) entr\(entries.count == 1 ? "y" : "ies")")
            for entry in entries {
                print(
                    "\(entry.id)  \(entry.reason.rawValue)  plant=\(entry.plant ?? "-")  key=\(entry.key ?? "-")  age=\(age(now - entry.quarantinedAt.milliseconds))  \(entry.state)"
                )
                print("    \(entry.detail)")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check entries against the current master data and re-inject those that pass into their original topic.",
            discussion: "Shows what it would do; changes nothing without --execute. An entry that still fails stays quarantined.")
        @OptionGroup var selection: Selection
        @Flag(help: "Re-inject (without it: show only).") var execute = false

        func run() async throws {
            guard selection.id != nil || selection.reason != nil else { throw ValidationError("name the entries: --id, or --reason (with --plant, --since)") }
            let tool = try selection.tool()
            let entries = try selection.select(try await tool.list())
            guard !entries.isEmpty else { throw CommandError("no quarantine entry matches") }
            var released = 0
            for outcome in try await tool.release(entries, execute: execute) {
                switch outcome {
                case .released(let id):
                    released += 1
                    print("\(id)  \(execute ? "released" : "would release"): re-injected into its original topic")
                case .stillFails(let id, let reason, let detail): print("\(id)  still fails: \(reason.rawValue) — \(detail) (stays quarantined)")
                case .alreadyHandled(let id, let state): print("\(id)  already handled (\(state)): nothing done")
                case .notReleasable(let id, let why): print("\(id)  not released: \(why)")
                }
            }
            print(execute ? "released \(released); audit record on ops.audit.v1" : "dry run: nothing changed (add --execute)")
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Post a posting held back as OVER_CONFIRMATION to ERP, once.")
        @OptionGroup var selection: Selection
        @Flag(help: "Post it (without it: show only).") var execute = false

        func run() async throws {
            let tool = try selection.tool()
            print(try await tool.approve(try await selection.one(tool, action: "approve (posting:<postingId>)"), execute: execute))
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an entry without effect (a held-back posting ERP must not get).")
        @OptionGroup var selection: Selection
        @Flag(help: "Close it (without it: show only).") var execute = false

        func run() async throws {
            let tool = try selection.tool()
            print(try await tool.reject(try await selection.one(tool, action: "reject"), execute: execute))
        }
    }
}

/// `42s`, `17m`, `5h 3m`, `2d 4h`.
func age(_ milliseconds: Int64) -> String {
    let seconds = max(0, milliseconds / 1000)
    if seconds < 60 { return "\(seconds)s" }
    if seconds < 3_600 { return "\(seconds / 60)m" }
    if seconds < 86_400 { return "\(seconds / 3_600)h \(seconds % 3_600 / 60)m" }
    return "\(seconds / 86_400)d \(seconds % 86_400 / 3_600)h"
}
