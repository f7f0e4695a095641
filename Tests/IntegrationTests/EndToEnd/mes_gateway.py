"""An MES gateway as plants write one: Python confluent-kafka with its default settings (the
partitioner is librdkafka's consistent_random, CRC32 of the key; a keyless record goes to a random
partition). Reads records as JSON lines on stdin ({"topic", "key" (or null), "value", "headers"}),
produces them, and prints one JSON line per record in input order: {"partition": n}."""
import json
import sys

from confluent_kafka import Producer

bootstrap = sys.argv[1]
records = [json.loads(line) for line in sys.stdin if line.strip()]
producer = Producer({"bootstrap.servers": bootstrap})
partitions = [None] * len(records)
failures = []


def delivered(index):
    def report(error, message):
        if error is not None:
            failures.append(f"{index}: {error}")
        else:
            partitions[index] = message.partition()

    return report


for index, record in enumerate(records):
    while True:
        try:
            producer.produce(
                record["topic"],
                key=None if record["key"] is None else record["key"].encode(),
                value=record["value"].encode(),
                headers=[(k, v.encode()) for k, v in record.get("headers", {}).items()],
                on_delivery=delivered(index),
            )
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)
left = producer.flush(60)
if left or failures or None in partitions:
    sys.exit(f"not delivered: {left} in queue, failures {failures[:5]}")
for partition in partitions:
    print(json.dumps({"partition": partition}))
