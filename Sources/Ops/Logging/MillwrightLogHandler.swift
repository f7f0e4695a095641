import Foundation
import Logging
import Synchronization

/// The worker's log lines on standard error, as text or as JSON lines (one object per line, for
/// log shippers), with a level per module (the Swift module a line is logged from: `kafka`,
/// `streams`, `manufacturing`, `ops`, `millwright`) and secret values cut out of messages and
/// metadata.
///
/// - Important: Thread-safe; lines from different threads never interleave.
public struct MillwrightLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let levels: LogLevels

    public init(label: String, format: Format, levels: LogLevels) {
        self.label = label
        self.format = format
        self.levels = levels
        self.logLevel = levels.lowest
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Logger lets through what passes the lowest level; the module's own level decides.
        guard event.level >= levels.level(forModule: event.source) else { return }
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line: String
        let message = Secrets.redact(event.message.description)
        switch format {
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Secrets.redact(key: $0.key, $0.value.description))" }.joined(separator: " ")
            line = "\(Self.timestamp()) \(event.level) \(event.source.lowercased()) : \(message)\(fields.isEmpty ? "" : " " + fields)\n"
        case .json:
            var object =
                "{\"ts\":\(Self.quoted(Self.timestamp())),\"level\":\(Self.quoted(event.level.rawValue)),\"logger\":\(Self.quoted(label)),\"module\":\(Self.quoted(event.source.lowercased())),\"msg\":\(Self.quoted(message))"
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["ts", "level", "logger", "module", "msg"].contains(key) {
                object += ",\(Self.quoted(key)):\(Self.quoted(Secrets.redact(key: key, value.description)))"
            }
            line = object + "}\n"
        }
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    private static let output = Mutex(())

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// ``quoted(_:)``, for tests.
    public static func quotedForTests(_ text: String) -> String { quoted(text) }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Secret values (passwords, keys, tokens) registered once from the configuration: cut out of
/// every log message and metadata value, whatever echoes them (librdkafka included).
public enum Secrets {
    private static let values = Mutex<[String]>([])

    /// Registers a secret value; values shorter than 4 characters are not registered (they would
    /// cut ordinary words out of lines).
    public static func register(_ value: String) {
        guard value.count >= 4 else { return }
        values.withLock { if !$0.contains(value) { $0.append(value) } }
    }

    /// The text with every registered secret replaced by `<redacted>`.
    public static func redact(_ text: String) -> String {
        let secrets = values.withLock { $0 }
        var text = text
        for secret in secrets where text.contains(secret) { text = text.replacingOccurrences(of: secret, with: "<redacted>") }
        return text
    }

    /// A metadata value: `<redacted>` when its key names a secret, else the value redacted.
    static func redact(key: String, _ value: String) -> String {
        let name = key.lowercased()
        if name.contains("password") || name.contains("secret") || name.contains("token") { return "<redacted>" }
        return redact(value)
    }
}

/// Log levels per module: `info`, or `info,kafka=debug,streams=trace` (a module is the Swift
/// module a line is logged from: kafka, streams, manufacturing, ops, millwright).
public struct LogLevels: Sendable, Hashable {
    public var base: Logger.Level
    public var modules: [String: Logger.Level]

    public init(base: Logger.Level = .info, modules: [String: Logger.Level] = [:]) {
        self.base = base
        self.modules = modules
    }

    /// Parses `level[,module=level…]`; the error names the part and the known levels.
    public static func parse(_ text: String) throws(LogSetupError) -> LogLevels {
        var levels = LogLevels()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard let level = Logger.Level(rawValue: pieces.last!.lowercased()) else {
                throw LogSetupError("--log-level: '\(pieces.last!)' is not a level (\(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if pieces.count == 2 { levels.modules[pieces[0].lowercased()] = level } else { levels.base = level }
        }
        return levels
    }

    /// The level of lines logged from this Swift module.
    public func level(forModule module: String) -> Logger.Level {
        modules.isEmpty ? base : modules[module.lowercased()] ?? base
    }

    /// The lowest level of all: what a logger must let through.
    public var lowest: Logger.Level { modules.values.reduce(base, min) }
}

/// A problem with the logging options.
public struct LogSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Bootstraps swift-log once per process with ``MillwrightLogHandler``.
public enum LogSetup {
    public static func bootstrap(format: MillwrightLogHandler.Format, levels: LogLevels) {
        LoggingSystem.bootstrap { label in MillwrightLogHandler(label: label, format: format, levels: levels) }
    }
}
