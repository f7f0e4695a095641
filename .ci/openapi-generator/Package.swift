// swift-tools-version: 6.1
// The swift-openapi-generator command, pinned to the version the project's generated sources come
// from. Built and run by `bash Tools/generate-openapi` only (not part of the Millwright package:
// a build plugin would compile the generator, OpenAPIKit and Yams in every fresh CI build).
import PackageDescription

let package = Package(
    name: "OpenAPIGeneratorCLI",
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3")
    ],
    targets: []
)
