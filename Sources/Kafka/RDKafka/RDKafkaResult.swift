import CRdKafka

/// The one checking function for librdkafka results: every `rd_kafka_resp_err_t` and
/// `rd_kafka_error_t *` passes through here and becomes a ``KafkaError``.
enum RDKafkaResult {
    /// Throws unless `code` is `RD_KAFKA_RESP_ERR_NO_ERROR`.
    static func check(
        _ code: rd_kafka_resp_err_t, _ context: @autoclosure () -> String,
        file: String = #fileID, line: UInt = #line
    ) throws(KafkaError) {
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw error(code, context(), file: file, line: line)
    }

    /// Throws if `error` is non-nil, and destroys it.
    static func check(
        _ error: OpaquePointer?, _ context: @autoclosure () -> String,
        file: String = #fileID, line: UInt = #line
    ) throws(KafkaError) {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        throw Self.error(borrowing: error, context(), file: file, line: line)
    }

    /// A ``KafkaError`` from a `rd_kafka_error_t *` that the caller still owns.
    static func error(
        borrowing error: OpaquePointer, _ context: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let code = rd_kafka_error_code(error)
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? ""
        return KafkaError(
            code: .librdkafka(code.rawValue),
            reason: "\(context): \(text)",
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            transactionRequiresAbort: rd_kafka_error_txn_requires_abort(error) != 0,
            file: file, line: line)
    }

    /// A ``KafkaError`` from a plain result code.
    static func error(
        _ code: rd_kafka_resp_err_t, _ context: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        KafkaError(
            code: .librdkafka(code.rawValue),
            reason: "\(context): \(String(cString: rd_kafka_err2str(code)))",
            isRetriable: isRetriable(code),
            isFatal: code == RD_KAFKA_RESP_ERR__FATAL,
            file: file, line: line)
    }

    /// The text librdkafka wrote into an error buffer.
    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// librdkafka's symbolic name for a code, without the leading underscore.
    static func name(of raw: Int32) -> String {
        let name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: raw)))
        return name.hasPrefix("_") ? String(name.dropFirst()) : name
    }

    /// Codes that a plain result does not classify itself, but that are worth another try.
    private static func isRetriable(_ code: rd_kafka_resp_err_t) -> Bool {
        switch code {
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__QUEUE_FULL,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            return true
        default:
            return false
        }
    }
}
