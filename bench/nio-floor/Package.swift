// swift-tools-version: 6.1
// The least a SwiftNIO proxy costs per request on this machine (BENCHMARKS.md, seventh run).
// Not part of the gateway's build: `bench/proxy-floor.sh` builds and runs it when NIO_FLOOR=1.
import PackageDescription

let package = Package(
    name: "nio-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        )
    ],
    // A measuring tool with module-level state in main.swift: Swift 5 mode keeps it short.
    swiftLanguageModes: [.v5]
)
