// Plain C loops over librdkafka: the baseline the Swift Kafka layer is measured against.
#ifndef MILLWRIGHT_CKAFKABENCH_H
#define MILLWRIGHT_CKAFKABENCH_H
#include <stdint.h>

/// Produces `count` messages of `size` bytes (keys "k<i>") to `topic`, idempotent, acks=all,
/// linger 5 ms, then flushes. Returns elapsed seconds, or a negative value on error.
double mwbench_c_produce(const char *brokers, const char *topic, int64_t count, int32_t size);

/// Assigns partitions 0..<partitions of `topic` from the beginning and reads with
/// rd_kafka_consumer_poll until `count` messages arrived, with fetch.wait.max.ms=100,
/// fetch.error.backoff.ms=50 and queued.min.messages=`prefetch` (the Swift consumer's settings). Returns elapsed seconds (from the
/// first message), or a negative value on error or a 30 s stall.
double mwbench_c_consume(const char *brokers, const char *topic, int32_t partitions, int64_t count, int32_t prefetch);

#endif
