// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

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
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // Per-request policy: sensitive-data detectors, reversible redaction, candidate filtering, strategies. Pure Swift.
        .target(name: "SwitchyardPolicy", swiftSettings: strict),
        // Canonical chat types, JSON, configuration, catalog, policy, pricing. No networking.
        .target(
            name: "SwitchyardCore",
            dependencies: [
                "SwitchyardPolicy",
                .product(name: "Yams", package: "Yams"),
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
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "policy-bench", dependencies: ["SwitchyardPolicy"], swiftSettings: strict),
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardPolicy",
                "SwitchyardServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Commands"],
            swiftSettings: strict
        ),
        .testTarget(name: "SwitchyardPolicyTests", dependencies: ["SwitchyardPolicy"], swiftSettings: strict),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"], swiftSettings: strict),
        .testTarget(
            name: "SwitchyardProvidersTests",
            dependencies: ["SwitchyardProviders", "SwitchyardCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                "SwitchyardServer", "SwitchyardCore", "SwitchyardProviders",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
    ]
)
