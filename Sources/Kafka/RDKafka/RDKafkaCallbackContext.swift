import CRdKafka
import Foundation
import Logging
import Synchronization

/// What librdkafka's C callbacks reach through their `opaque` pointer. One per client handle,
/// owned by ``RDKafkaClient`` and alive until after `rd_kafka_destroy` returns.
///
/// Sendable: every mutable piece sits behind a `Mutex` or an `Atomic`.
final class RDKafkaCallbackContext: Sendable {
    let logger: Logger
    let statisticsHandler: (@Sendable (String) -> Void)?
    let latestStatistics = Mutex<String?>(nil)
    /// Called on the polling thread, inside librdkafka's rebalance callback.
    let rebalanceHandler = Mutex<(@Sendable (RDKafkaRebalance) -> Void)?>(nil)
    /// Called on the polling thread with the result of an asynchronous commit.
    let commitHandler = Mutex<(@Sendable (Result<[KafkaTopicPartitionOffset], KafkaError>) -> Void)?>(nil)
    /// Delivery failures of records sent without a waiter (fire-and-forget).
    let untrackedDeliveryFailures = Atomic<Int>(0)
    /// Of those, the ones not purged by an abort (or a close): failures of records that were to
    /// be delivered.
    let untrackedDeliveryFailuresNotPurged = Atomic<Int>(0)
    let lastDeliveryError = Mutex<KafkaError?>(nil)
    /// Records handed to librdkafka whose delivery report has not been served yet (a producer's).
    let deliveriesPending = Atomic<Int>(0)
    /// Signalled when ``deliveriesPending`` drops to 0: what a wait for deliveries sleeps on,
    /// instead of polling librdkafka's queue length.
    let deliveriesDrained = NSCondition()
    let fatalError = Mutex<KafkaError?>(nil)
    /// Since when every broker connection of the client is down (librdkafka's
    /// `_ALL_BROKERS_DOWN`), until a statistics report shows a broker up or the owner says it
    /// reached the cluster.
    let allBrokersDownSince = Mutex<ContinuousClock.Instant?>(nil)

    init(logger: Logger, statisticsHandler: (@Sendable (String) -> Void)?) {
        self.logger = logger
        self.statisticsHandler = statisticsHandler
    }

    /// One record's delivery report served (or its produce failed): wakes a wait for deliveries
    /// when it was the last pending.
    func deliveryServed() {
        guard deliveriesPending.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        deliveriesDrained.lock()
        deliveriesDrained.broadcast()
        deliveriesDrained.unlock()
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbackContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    static func from(handle rk: OpaquePointer?) -> RDKafkaCallbackContext? {
        guard let rk else { return nil }
        return from(rd_kafka_opaque(rk))
    }

    /// Installs the callbacks every client has: log, error, statistics.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let context = RDKafkaCallbackContext.from(handle: rk) else { return }
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            context.logger.log(
                level: RDKafkaCallbackContext.logLevel(syslog: level), "\(text)",
                metadata: ["rdkafka.facility": "\(fac)"], source: "librdkafka")
        }
        rd_kafka_conf_set_error_cb(conf) { rk, code, reason, opaque in
            guard let context = RDKafkaCallbackContext.from(opaque) else { return }
            let text = reason.map { String(cString: $0) } ?? ""
            if code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
                var buffer = [CChar](repeating: 0, count: 512)
                let underlying = rd_kafka_fatal_error(rk, &buffer, buffer.count)
                let error = RDKafkaResult.error(underlying, "fatal client error: \(RDKafkaResult.text(buffer))")
                context.fatalError.withLock { $0 = error }
                context.logger.critical("\(error)")
            } else {
                if code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue {
                    context.allBrokersDownSince.withLock { since in if since == nil { since = .now } }
                }
                // Transport hiccups, brokers going down: librdkafka retries these itself.
                context.logger.warning(
                    "librdkafka error", metadata: ["code": "\(RDKafkaResult.name(of: code))", "reason": "\(text)"])
            }
        }
        if statisticsHandler != nil {
            rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
                guard let context = RDKafkaCallbackContext.from(opaque), let json else { return 0 }
                let text = String(
                    decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
                context.latestStatistics.withLock { $0 = text }
                if context.allBrokersDownSince.withLock({ $0 != nil }), let statistics = KafkaStatistics(json: text),
                    statistics.brokers.contains(where: { $0.isUp && $0.nodeID >= 0 })
                {
                    context.allBrokersDownSince.withLock { $0 = nil }
                }
                context.statisticsHandler?(text)
                return 0  // 0: librdkafka frees the JSON buffer
            }
        }
    }

    static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }
}

/// A rebalance as the polling thread sees it.
struct RDKafkaRebalance: Sendable {
    enum Kind: Sendable { case assigned, revoked, lost }
    var kind: Kind
    var partitions: [KafkaTopicPartition]
}
