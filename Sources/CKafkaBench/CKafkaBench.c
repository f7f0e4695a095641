#include "CKafkaBench.h"
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "cbench: %s: %s\n", name, errstr);
        return -1;
    }
    return 0;
}

double mwbench_c_produce(const char *brokers, const char *topic, int64_t count, int32_t size) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers) || set(conf, "enable.idempotence", "true") ||
        set(conf, "acks", "all") || set(conf, "linger.ms", "5") ||
        set(conf, "queue.buffering.max.messages", "100000")) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "cbench: %s\n", errstr);
        return -1;
    }
    char *value = malloc((size_t)size);
    memset(value, 'x', (size_t)size);
    char key[32];
    double start = now_seconds();
    for (int64_t i = 0; i < count; i++) {
        int keylen = snprintf(key, sizeof(key), "k%lld", (long long)i);
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key, (size_t)keylen), RD_KAFKA_V_VALUE(value, (size_t)size), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (err) {
                fprintf(stderr, "cbench: produce: %s\n", rd_kafka_err2str(err));
                free(value);
                rd_kafka_destroy(rk);
                return -1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double elapsed = now_seconds() - start;
    free(value);
    rd_kafka_destroy(rk);
    return elapsed;
}

double mwbench_c_consume(const char *brokers, const char *topic, int32_t partitions, int64_t count, int32_t prefetch) {
    char prefetch_text[32];
    snprintf(prefetch_text, sizeof(prefetch_text), "%d", prefetch);
    char errstr[256];
    char group[64];
    snprintf(group, sizeof(group), "cbench-%ld", (long)time(NULL));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers) || set(conf, "group.id", group) ||
        set(conf, "enable.auto.commit", "false") || set(conf, "auto.offset.reset", "earliest") ||
        /* the same fetch settings as the Swift consumer's defaults */
        set(conf, "fetch.wait.max.ms", "100") || set(conf, "fetch.error.backoff.ms", "50") ||
        set(conf, "queued.min.messages", prefetch_text)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "cbench: %s\n", errstr);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int32_t p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    int64_t seen = 0;
    size_t bytes = 0;
    double start = 0, last = now_seconds();
    while (seen < count) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (now_seconds() - last > 30) break;
            continue;
        }
        if (!m->err) {
            if (seen == 0) start = now_seconds();
            seen++;
            bytes += m->len;
            last = now_seconds();
        }
        rd_kafka_message_destroy(m);
    }
    double elapsed = seen == count ? now_seconds() - start : -1;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    (void)bytes;
    return elapsed;
}

// One thread of the exactly-once pipeline floor (mwbench_c_eos_pipeline).
typedef struct {
    const char *brokers;
    const char *group;
    const char *const *inputs;
    int32_t input_count;
    int32_t partitions;
    int32_t thread;
    int32_t threads;
    int64_t count;
    double outputs_per_input;
    int32_t output_size;
    int32_t headers;
    int32_t transaction_records;
    const char *output_topic;
    int64_t consumed;
    int64_t produced;
    double first;
    double last_commit;
    int failed;
    volatile int64_t *total;
} eos_thread_t;

static int eos_fail(eos_thread_t *t, const char *what, rd_kafka_error_t *error) {
    fprintf(stderr, "cbench eos[%d]: %s: %s\n", t->thread, what, error ? rd_kafka_error_string(error) : "");
    if (error) rd_kafka_error_destroy(error);
    t->failed = 1;
    return -1;
}

static int eos_commit(eos_thread_t *t, rd_kafka_t *consumer, rd_kafka_t *producer, rd_kafka_topic_partition_list_t *positions) {
    rd_kafka_consumer_group_metadata_t *metadata = rd_kafka_consumer_group_metadata(consumer);
    rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(producer, positions, metadata, 30000);
    rd_kafka_consumer_group_metadata_destroy(metadata);
    if (error) return eos_fail(t, "send_offsets_to_transaction", error);
    if ((error = rd_kafka_commit_transaction(producer, 30000))) return eos_fail(t, "commit_transaction", error);
    t->last_commit = now_seconds();
    if ((error = rd_kafka_begin_transaction(producer))) return eos_fail(t, "begin_transaction", error);
    return 0;
}

static void *eos_run(void *argument) {
    eos_thread_t *t = argument;
    char errstr[256], transactional_id[96];
    snprintf(transactional_id, sizeof(transactional_id), "%s-%d", t->group, t->thread);
    rd_kafka_conf_t *cconf = rd_kafka_conf_new(), *pconf = rd_kafka_conf_new();
    if (set(cconf, "bootstrap.servers", t->brokers) || set(cconf, "group.id", t->group) ||
        set(cconf, "enable.auto.commit", "false") || set(cconf, "isolation.level", "read_committed") ||
        set(cconf, "fetch.wait.max.ms", "100") || set(cconf, "fetch.error.backoff.ms", "50") ||
        set(cconf, "queued.min.messages", "30000") || set(pconf, "bootstrap.servers", t->brokers) ||
        set(pconf, "transactional.id", transactional_id) || set(pconf, "linger.ms", "2") ||
        set(pconf, "queue.buffering.max.messages", "100000")) {
        t->failed = 1;
        return NULL;
    }
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof(errstr));
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof(errstr));
    if (!consumer || !producer) {
        fprintf(stderr, "cbench eos: %s\n", errstr);
        t->failed = 1;
        return NULL;
    }
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(t->input_count * t->partitions);
    rd_kafka_topic_partition_list_t *positions = rd_kafka_topic_partition_list_new(t->input_count * t->partitions);
    for (int32_t i = 0; i < t->input_count; i++)
        for (int32_t p = t->thread; p < t->partitions; p += t->threads) {
            rd_kafka_topic_partition_list_add(assignment, t->inputs[i], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            rd_kafka_topic_partition_list_add(positions, t->inputs[i], p)->offset = RD_KAFKA_OFFSET_INVALID;
        }
    rd_kafka_assign(consumer, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    rd_kafka_error_t *error = rd_kafka_init_transactions(producer, 30000);
    if (error || (error = rd_kafka_begin_transaction(producer))) {
        eos_fail(t, "init/begin transaction", error);
        goto done;
    }
    char *value = malloc((size_t)t->output_size);
    memset(value, 'x', (size_t)t->output_size);
    char header_value[40];
    memset(header_value, 'h', sizeof(header_value));
    rd_kafka_message_t *batch[2000];
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(consumer);
    double owed = 0, started_transaction = now_seconds();
    int64_t in_transaction = 0;
    while (*t->total < t->count && !t->failed) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch, 2000);
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = batch[i];
            if (!m->err) {
                if (t->consumed == 0) t->first = now_seconds();
                t->consumed++;
                in_transaction++;
                __atomic_add_fetch(t->total, 1, __ATOMIC_RELAXED);
                rd_kafka_topic_partition_t *position =
                    rd_kafka_topic_partition_list_find(positions, rd_kafka_topic_name(m->rkt), m->partition);
                if (position) position->offset = m->offset + 1;
                for (owed += t->outputs_per_input; owed >= 1; owed -= 1) {
                    rd_kafka_headers_t *headers = rd_kafka_headers_new((size_t)t->headers);
                    for (int32_t h = 0; h < t->headers; h++) rd_kafka_header_add(headers, "mw-header", -1, header_value, sizeof(header_value));
                    for (;;) {
                        rd_kafka_resp_err_t err = rd_kafka_producev(
                            producer, RD_KAFKA_V_TOPIC(t->output_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(value, (size_t)t->output_size),
                            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                            rd_kafka_poll(producer, 10);
                            continue;
                        }
                        if (err) {
                            fprintf(stderr, "cbench eos: produce: %s\n", rd_kafka_err2str(err));
                            rd_kafka_headers_destroy(headers);
                            t->failed = 1;
                        }
                        break;
                    }
                    t->produced++;
                }
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer, 0);
        if (in_transaction >= t->transaction_records || (in_transaction > 0 && now_seconds() - started_transaction >= 0.1)) {
            if (eos_commit(t, consumer, producer, positions)) break;
            in_transaction = 0;
            started_transaction = now_seconds();
        }
    }
    if (in_transaction > 0 && !t->failed) eos_commit(t, consumer, producer, positions);
    rd_kafka_queue_destroy(queue);
    free(value);
done:
    rd_kafka_topic_partition_list_destroy(positions);
    rd_kafka_destroy(producer);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return NULL;
}

double mwbench_c_eos_pipeline(
    const char *brokers, const char *const *inputs, int32_t input_count, int32_t partitions, int64_t count, int32_t threads,
    double outputs_per_input, int32_t output_size, int32_t headers, int32_t transaction_records, const char *output_topic,
    int64_t *produced) {
    char group[64];
    snprintf(group, sizeof(group), "cbench-eos-%ld", (long)time(NULL));
    eos_thread_t state[16];
    pthread_t ids[16];
    volatile int64_t total = 0;
    if (threads < 1 || threads > 16) return -1;
    for (int32_t i = 0; i < threads; i++) {
        state[i] = (eos_thread_t){
            .brokers = brokers, .group = group, .inputs = inputs, .input_count = input_count, .partitions = partitions,
            .thread = i, .threads = threads, .count = count, .outputs_per_input = outputs_per_input,
            .output_size = output_size, .headers = headers, .transaction_records = transaction_records,
            .output_topic = output_topic, .total = &total};
        pthread_create(&ids[i], NULL, eos_run, &state[i]);
    }
    double first = 0, last = 0;
    int failed = 0;
    *produced = 0;
    for (int32_t i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        failed |= state[i].failed;
        if (state[i].consumed > 0 && (first == 0 || state[i].first < first)) first = state[i].first;
        if (state[i].last_commit > last) last = state[i].last_commit;
        *produced += state[i].produced;
    }
    if (failed || total < count || first == 0) return -1;
    return last - first;
}
