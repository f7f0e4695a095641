import Foundation
import Kafka
import Logging
import Synchronization

extension GlobalTableRunner {
    /// Every partition of the topics; retries until `startTimeout` while topics are missing or the
    /// cluster does not answer.
    func findPartitions() async throws(GlobalTableError) -> [TopicPartition] {
        let deadline = ContinuousClock.now.advanced(by: configuration.startTimeout)
        let failed = "listing the partitions of \(topics.joined(separator: ", ")) failed"
        while true {
            let problem: GlobalTableError
            do {
                guard let (found, missing) = try await listPartitions(timeout: min(configuration.startTimeout, .seconds(10))) else {
                    throw GlobalTableError(code: .stopped, reason: "stopped while finding partitions")
                }
                if missing.isEmpty { return found }
                problem = GlobalTableError(
                    code: .unknownTopic,
                    reason: "topic \(missing.joined(separator: ", ")) not found in the cluster at "
                        + "\(configuration.client.bootstrapServers.joined(separator: ",")) (or it has no partitions); "
                        + "create it before starting")
            } catch let error as GlobalTableError {
                throw error
            } catch let error as KafkaError where error.isRetriable {
                problem = GlobalTableError(code: .kafka, reason: failed, underlying: error)
            } catch {
                throw GlobalTableError(code: .kafka, reason: failed, underlying: error)
            }
            if stopFlag.load(ordering: .acquiring) {
                throw GlobalTableError(code: .stopped, reason: "stopped while finding partitions")
            }
            if ContinuousClock.now >= deadline { throw problem }
            do {
                try await Task.sleep(for: .milliseconds(250))
            } catch {
                throw GlobalTableError(code: .cancelled, reason: "start was cancelled while finding partitions")
            }
        }
    }

    /// The topics' partitions and the topics not found; `nil` once the loader has finished.
    func listPartitions(timeout: Duration) async throws(KafkaError) -> (found: [TopicPartition], missing: [String])? {
        guard let discover = discover.withLock({ $0 }) else { return nil }
        let metadata = try await discover(timeout)
        var found: [TopicPartition] = []
        var missing: [String] = []
        for topic in topics {
            guard let described = metadata.first(where: { $0.name == topic }), described.error == nil,
                !described.partitions.isEmpty
            else {
                missing.append(topic)
                continue
            }
            found += described.partitions.map { TopicPartition(topic: topic, partition: $0.id) }
        }
        return (found.sorted(), missing)
    }

    func startRefresher() {
        let task = Task { [self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: configuration.partitionRefreshInterval) } catch { return }
                do {
                    guard let (found, _) = try await listPartitions(timeout: .seconds(10)) else { return }
                    let added = inbox.withLock { $0.offer(found) }
                    if !added.isEmpty {
                        logger.info(
                            "new partitions found; they will be read from their stored position or the beginning",
                            metadata: [LogMetadataKey.partitions: "\(added.map(\.description).joined(separator: ", "))"])
                    }
                } catch {
                    logger.warning("refreshing the partitions failed; trying again later", metadata: [LogMetadataKey.error: "\(error)"])
                }
            }
        }
        refresher.withLock { $0 = task }
        // A stop that came in before the task existed did not cancel it.
        if stopFlag.load(ordering: .acquiring) { cancelRefresher() }
    }

    func cancelRefresher() {
        refresher.withLock { task in
            task?.cancel()
            task = nil
        }
    }
}

/// Partitions known to the loader, and those found since the polling thread last looked.
struct PartitionInbox {
    private var known: Set<TopicPartition> = []
    private var added: [TopicPartition] = []

    /// The partitions assigned at start.
    mutating func assignedAtStart(_ partitions: [TopicPartition]) {
        known.formUnion(partitions)
    }

    /// Remembers `partitions`; returns (and queues for the polling thread) the ones not known before.
    mutating func offer(_ partitions: [TopicPartition]) -> [TopicPartition] {
        let new = partitions.filter { known.insert($0).inserted }
        added += new
        return new
    }

    mutating func take() -> [TopicPartition] {
        defer { added.removeAll() }
        return added
    }
}
