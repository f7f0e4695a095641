// swift-tools-version: 6.1
import PackageDescription

/// Settings of every target: `any` on existentials, and imports that say where members come from.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
/// Executables only: `unsafeFlags` on a library would make it unusable as a dependency.
let executable: [SwiftSetting] =
    strict + [
        .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))
    ]
/// The stream runtime and the processors (no product exports them, so `unsafeFlags` bar nobody):
/// cross-module optimization lets the modules that use their generic stores, schedules and
/// helpers specialize and inline them instead of calling through metadata and witness tables.
let optimizedInternal: [SwiftSetting] =
    strict + [
        .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))
    ]

let package = Package(
    name: "Millwright",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "millwright", targets: ["millwright"]),
        .library(name: "Kafka", targets: ["Kafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
    ],
    targets: [
        // System librdkafka (pkg-config `rdkafka`, Debian `librdkafka-dev`).
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The only Swift module that imports CRdKafka.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka", "JSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Processor runtime: records, global tables, state stores. Knows records, not librdkafka.
        .target(
            name: "Streams",
            dependencies: [
                "Kafka", "JSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: optimizedInternal
        ),
        // Canonical model, topic catalog, master data and the processors. Knows nothing of Kafka.
        // The project's one JSON stack: a strict RFC 8259 parser, a writer and the value type.
        // Every module reads and writes JSON through it (events, changelog, state, statistics).
        .target(name: "JSON", swiftSettings: strict),
        .target(
            name: "Manufacturing",
            dependencies: [
                "Streams", "JSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimizedInternal,
            plugins: ["EmbedCatalog"]
        ),
        // The topic catalog (topics/) inside the binary: a build tool plugin runs the embedder,
        // which writes every file of the folder into generated Swift source.
        .executableTarget(name: "CatalogEmbedder", swiftSettings: strict),
        .plugin(name: "EmbedCatalog", capability: .buildTool(), dependencies: ["CatalogEmbedder"], path: "Sources/EmbedCatalogPlugin"),
        // The worker's edges: configuration (file, environment, flags), the services of a worker
        // process, its HTTP server (health, readiness, metrics) and logging.
        .target(
            name: "Ops",
            dependencies: [
                "Kafka", "Streams", "Manufacturing", "OrderAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The order API's contract: types and server stubs generated from openapi.yaml by
        // swift-openapi-generator (`bash .ci/generate-openapi`; committed, see Docs/api.md).
        .target(
            name: "OrderAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            exclude: ["openapi.yaml"],
            swiftSettings: strict
        ),
        // The client generated from the same document, for tests, the benchmark and callers in Swift.
        .target(
            name: "OrderAPIClient",
            dependencies: ["OrderAPI", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            swiftSettings: strict
        ),
        // The worker's allocator: jemalloc (Debian's libjemalloc-dev), with its options.
        .target(name: "CAllocator", linkerSettings: [.linkedLibrary("jemalloc")]),
        .executableTarget(
            name: "millwright",
            dependencies: [
                "Kafka", "Streams", "Manufacturing", "Ops", "CAllocator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: executable
        ),
        // What the benchmarks share (peak RSS, seconds of a Duration).
        .target(name: "BenchmarkSupport", swiftSettings: strict),
        // Plain C loops over librdkafka: the baseline the Swift layer is benchmarked against.
        .target(name: "CKafkaBench", dependencies: ["CRdKafka"]),
        .executableTarget(
            name: "KafkaBenchmark",
            dependencies: [
                "BenchmarkSupport",
                "Kafka", "CKafkaBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: executable
        ),
        // The confirmation path end to end with exactly-once, a worker as a child process.
        .executableTarget(
            name: "StreamsBenchmark",
            dependencies: [
                "BenchmarkSupport", "CKafkaBench", "TestSupport",
                "Kafka", "Streams", "Manufacturing", "Ops",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: executable
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Kafka", "Streams", "Manufacturing", .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // What can be tested without a broker: the pure logic of every module, the processors through
        // the test driver (manual clock), decoding, configuration, the console's state. Seconds.
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Kafka", "Streams", "Manufacturing", "Ops", "JSON", "TestSupport", "OrderAPI", "CAllocator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            swiftSettings: strict
        ),
        // On the in-process cluster: the Kafka layer, the stream runtime, master data, the operator
        // API; and workers as real child processes (crash, rebalance, replay, the console in Chromium).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "millwright", "Kafka", "Streams", "Manufacturing", "Ops", "JSON", "TestSupport", "OrderAPI", "OrderAPIClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
            ],
            exclude: ["EndToEnd/parse_metrics.py", "EndToEnd/console_browser.py", "EndToEnd/mes_gateway.py"],
            swiftSettings: strict
        ),
        // The chaos harness: worker processes on the in-process cluster, the simulated plants'
        // input and fuzz, kills, broker outages, request errors; every output checked.
        .target(
            name: "Chaos",
            dependencies: ["Kafka", "Streams", "Manufacturing", "Ops", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ChaosHarness",
            dependencies: [
                "Chaos", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: executable
        ),
        // Issue 16: work orders through release and confirmation over months of event time on one
        // worker's tasks (stores on disk, cache, changelog, restore) without the broker; RSS, throughput,
        // changelog size after compaction, restart time.
        .executableTarget(
            name: "StateGrowthBenchmark",
            dependencies: [
                "BenchmarkSupport", "TestSupport", "Streams", "Manufacturing", "CAllocator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: executable
        ),
        // Master-data cache load from scratch and delta, on the in-process cluster.
        .executableTarget(
            name: "MasterDataBenchmark",
            dependencies: [
                "BenchmarkSupport",
                "Manufacturing", "Streams", "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: executable
        ),
        // The order API under wrk on loopback: submissions (validation and publish) against GET /healthz.
        .executableTarget(
            name: "OrderAPIBenchmark",
            dependencies: [
                "BenchmarkSupport", "Kafka", "Streams", "Manufacturing", "Ops", "OrderAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: executable
        ),
        // Wide JSON objects: the parser and an item's unit conversions at 10k to 1M members.
        .executableTarget(
            name: "JSONBenchmark",
            dependencies: [
                "BenchmarkSupport", "JSON", "Manufacturing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: executable
        ),
    ]
)
