// swift-tools-version: 6.1
import PackageDescription

#if os(Linux)
import Glibc
#endif

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

/// The gateway binary is linked with LLD and packed relative relocations (DT_RELR) where the
/// build machine's glibc can load them (2.36 and later): the 2 MB `.rela.dyn` table that the
/// loader reads at every start shrinks to ~0.5 MB, which takes about 2 MB off idle RSS
/// (BENCHMARKS.md). The binary is meant to run where it is built; older glibc keeps the
/// default linker and relocation format.
let gatewayLinkerSettings: [LinkerSetting] = {
    #if os(Linux)
    var buffer = [CChar](repeating: 0, count: 64)  // "glibc 2.36"
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return [] }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let version = text.split(separator: " ").last ?? ""
    let parts = version.split(separator: ".").compactMap { Int($0) }
    if parts.count >= 2, (parts[0], parts[1]) >= (2, 36) {
        return [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"])]
    }
    #endif
    return []
}()

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
        .library(name: "SwitchyardServer", targets: ["SwitchyardServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP/HTTP only: the gRPC exporter would add grpc-swift to every build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Per-request policy: sensitive-data detectors, reversible redaction, candidate filtering, strategies. Pure Swift.
        .target(name: "SwitchyardPolicy", swiftSettings: strict),
        // BLAS for the sentence encoder's matrix products: OpenBLAS (Debian: libopenblas0),
        // loaded with dlopen at first use, so gateways without a learned router never map it.
        .target(name: "CBLASLoader", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // Int8 (AVX-512 VNNI) kernels for the encoder's dense layers, chosen at run time.
        // Debug builds (tests) get -O2 here only: unoptimised intrinsics spill every register.
        .target(name: "CEncoderKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // In-process all-MiniLM-L6-v2 sentence embeddings: safetensors, WordPiece, BERT forward pass.
        .target(
            name: "SwitchyardEmbeddings",
            dependencies: [
                "CEncoderKernels",
                .target(name: "CBLASLoader", condition: .when(platforms: [.linux])),
            ],
            // The SIMD kernels are unusably slow unoptimised; debug builds (tests) get -O here only.
            swiftSettings: strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // Learned cost/quality routers, routing metrics (APGR, CPT), calibration, evaluation.
        .target(name: "SwitchyardRouting", dependencies: ["SwitchyardEmbeddings"], swiftSettings: strict),
        // Canonical chat types, JSON, configuration, catalog, policy, pricing. No networking.
        .target(
            name: "SwitchyardCore",
            dependencies: [
                "SwitchyardPolicy",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // Request log, virtual keys, budgets and rate limits: SQLite (GRDB) or PostgreSQL (postgres-nio).
        .target(
            name: "SwitchyardStore",
            dependencies: [
                "SwitchyardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // One adapter per upstream wire protocol, translating to and from the canonical types. No I/O.
        .target(name: "SwitchyardProviders", dependencies: ["SwitchyardCore"], swiftSettings: strict),
        // The HTTP gateway: routes, SSE relay, reliability (retries, fallbacks, breakers).
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardPolicy",
                "SwitchyardProviders",
                "SwitchyardRouting",
                "SwitchyardEmbeddings",
                "SwitchyardStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "embedding-bench", dependencies: ["SwitchyardEmbeddings"], swiftSettings: strict),
        .executableTarget(name: "router-bench", dependencies: ["SwitchyardRouting", "SwitchyardEmbeddings"], swiftSettings: strict),
        .executableTarget(name: "policy-bench", dependencies: ["SwitchyardPolicy"], swiftSettings: strict),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardPolicy",
                "SwitchyardServer",
                "SwitchyardRouting",
                "SwitchyardEmbeddings",
                "SwitchyardStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict,
            linkerSettings: gatewayLinkerSettings
        ),
        .testTarget(
            name: "SwitchyardEmbeddingsTests", dependencies: ["SwitchyardEmbeddings", "CEncoderKernels"], resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "SwitchyardRoutingTests", dependencies: ["SwitchyardRouting", "SwitchyardEmbeddings"], swiftSettings: strict),
        .testTarget(name: "SwitchyardPolicyTests", dependencies: ["SwitchyardPolicy"], swiftSettings: strict),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"], swiftSettings: strict),
        .testTarget(
            name: "SwitchyardStoreTests",
            dependencies: [
                "SwitchyardStore", "SwitchyardCore", .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchyardProvidersTests",
            dependencies: ["SwitchyardProviders", "SwitchyardCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                "SwitchyardServer", "SwitchyardCore", "SwitchyardProviders", "SwitchyardStore", "SwitchyardPolicy",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)
