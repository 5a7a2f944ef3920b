// swift-tools-version:6.1
//
// dirsync: keeps a PostgreSQL copy of Microsoft Entra ID directories fresh through Graph delta queries.
//
// Layout (a concern is found by its folder name):
//   CCurl, CLibPQ, COpenSSL   system C libraries from Debian, wrapped by module map + shim header
//   CAllocator                glibc's allocator tunables (mallopt), for the dirsync executable
//   BlockingCalls             the dedicated-thread bridge every blocking C call goes through
//   DirSyncCore               decisions as values (round and tenant state machines, planners, field tables,
//                             status, policies) and the executors that carry them out through its Ports;
//                             no I/O of its own, no environment, no files
//   GraphHTTP                 libcurl and libcrypto adapters: transport, certificate signing, credential files
//   PostgresStore             libpq adapter: connection, COPY, migrations runner, directory store
//   DirSyncMigrations         migrations/*.sql embedded into the binary at build time
//   GraphSimulator            pure stand-in for Microsoft Graph and the identity platform
//   GraphSimulatorServer      serves GraphSimulator over loopback HTTP (FlyingFox)
//   dirsync, graph-sim        executables: parse, build one configuration, wire, print
//   DirSyncTestDoubles        in-process doubles of the ports (scripted Graph, in-memory directory)
//   DirSyncTestSupport        test harness: throwaway databases, graph-sim processes, built products
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "dirsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dirsync", targets: ["dirsync"]),
        .executable(name: "graph-sim", targets: ["graph-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: C libraries (Debian packages; no vendored C)
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CAllocator"),

        // MARK: Shared infrastructure
        .target(name: "BlockingCalls", swiftSettings: strictSettings),

        // MARK: Pure core
        .target(
            name: "DirSyncCore",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),

        // MARK: Adapters
        .target(
            name: "GraphHTTP",
            dependencies: [
                "DirSyncCore", "CCurl", "COpenSSL", "BlockingCalls",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PostgresStore",
            dependencies: [
                "DirSyncCore", "CLibPQ", "BlockingCalls",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "DirSyncMigrations",
            dependencies: ["DirSyncCore"],
            swiftSettings: strictSettings,
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(name: "embed-migrations", swiftSettings: strictSettings),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-migrations"]),

        // MARK: Graph simulator (tests, demo, benchmarks)
        .target(name: "GraphSimulator", dependencies: ["COpenSSL"], swiftSettings: strictSettings),
        .target(
            name: "GraphSimulatorServer",
            dependencies: [
                "GraphSimulator",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "graph-sim",
            dependencies: [
                "GraphSimulator", "GraphSimulatorServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: The command-line tool
        .executableTarget(
            name: "dirsync",
            dependencies: [
                "DirSyncCore", "GraphHTTP", "PostgresStore", "DirSyncMigrations", "CAllocator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Test support and tests
        // Pure doubles (in-memory directory and ledger, scripted Graph and transport, manual clock,
        // recording log handler, the reference page reader): no libpq, no libcurl.
        .target(
            name: "DirSyncTestDoubles",
            dependencies: ["DirSyncCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Throwaway databases, child processes, truth comparison.
        .target(
            name: "DirSyncTestSupport",
            dependencies: [
                "DirSyncCore", "DirSyncTestDoubles", "PostgresStore", "DirSyncMigrations", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "DirSyncCoreTests", dependencies: ["DirSyncCore", "DirSyncTestDoubles"], swiftSettings: strictSettings),
        .testTarget(
            name: "GraphSimulatorTests",
            dependencies: ["GraphSimulator", "GraphSimulatorServer"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GraphHTTPTests",
            dependencies: [
                "GraphHTTP", "DirSyncCore", "GraphSimulator", "GraphSimulatorServer", "DirSyncTestSupport", "DirSyncTestDoubles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: [
                "PostgresStore", "DirSyncCore", "DirSyncMigrations", "DirSyncTestSupport", "DirSyncTestDoubles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The command line's own logic (configuration from flags and environment), imported from the executable.
        .testTarget(name: "DirSyncCommandTests", dependencies: ["dirsync", "DirSyncCore", "GraphHTTP"], swiftSettings: strictSettings),
        .testTarget(
            name: "DirSyncEndToEndTests",
            dependencies: [
                "DirSyncCore", "DirSyncTestSupport", "DirSyncTestDoubles", "PostgresStore", "DirSyncMigrations",
                // Built first so the tests can run them as child processes.
                "dirsync", "graph-sim",
            ],
            swiftSettings: strictSettings
        ),
    ]
)
