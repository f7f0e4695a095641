#include "CKafkaBench.h"
#include <librdkafka/rdkafka.h>
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
