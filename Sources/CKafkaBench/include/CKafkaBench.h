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

/// The floor of an exactly-once consume-transform-produce job on this machine, no processing:
/// `threads` threads, each assigned every `threads`-th partition of the `inputs` topics from the
/// beginning (read_committed, its own group member's metadata) and its own transactional
/// producer; per input record `outputs_per_input` records (on average) of `output_size` bytes
/// with `headers` headers of 40 bytes, keyed as the input, to `output_topic`; a transaction
/// committed (offsets sent, commit waited for) every `transaction_records` inputs or 100 ms.
/// Stops once `count` inputs were read; returns seconds from the first input to the last
/// commit and the records produced, or a negative value on error.
double mwbench_c_eos_pipeline(
    const char *brokers, const char *const *inputs, int32_t input_count, int32_t partitions, int64_t count, int32_t threads,
    double outputs_per_input, int32_t output_size, int32_t headers, int32_t transaction_records, const char *output_topic,
    int64_t *produced);

#endif
