import Logging
import Ops
import Testing

@Suite("Logging: levels per module, JSON lines, secrets")
struct LogHandlerTests {
    @Test("levels per module: the module's own level, else the base")
    func levels() throws {
        let levels = try LogLevels.parse("warning,kafka=debug,Streams=trace")
        #expect(levels.level(forModule: "Kafka") == .debug)
        #expect(levels.level(forModule: "Streams") == .trace)
        #expect(levels.level(forModule: "Ops") == .warning)
        #expect(levels.lowest == .trace)
        #expect(throws: LogSetupError.self) { try LogLevels.parse("info,kafka=loud") }
    }

    @Test("a registered secret is cut out of messages and metadata; a secret-named key is never shown")
    func secrets() {
        Secrets.register("s3cr3t-Passw0rd")
        #expect(Secrets.redact("sasl.password=s3cr3t-Passw0rd rejected") == "sasl.password=<redacted> rejected")
        #expect(!Secrets.redact("connect failed: s3cr3t-Passw0rd").contains("s3cr3t"))
    }

    @Test("JSON strings escape quotes, backslashes and control characters")
    func quoting() {
        #expect(MillwrightLogHandler.quotedForTests("a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }
}
