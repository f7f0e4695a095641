// The one place Millwright includes librdkafka (Debian librdkafka-dev 2.0.2).
// Only the Swift module `Kafka` imports this module.
#ifndef MILLWRIGHT_CRDKAFKA_SHIM_H
#define MILLWRIGHT_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
