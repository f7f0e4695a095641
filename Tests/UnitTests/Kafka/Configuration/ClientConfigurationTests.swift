import Testing

@testable import Kafka

@Suite("Client configuration → librdkafka properties")
struct ClientConfigurationTests {
    @Test("small requests go out at once (socket.nagle.disable) unless switched off, and a raw property still overrides it")
    func nagle() throws {
        var client = KafkaClientConfiguration(bootstrapServers: "h:1")
        #expect(client.properties.contains { $0 == ("socket.nagle.disable", "true") })
        client.disableNagle = false
        #expect(client.properties.contains { $0 == ("socket.nagle.disable", "false") })

        var producer = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: "h:1"))
        producer.client.additionalProperties = ["socket.nagle.disable": "false"]
        let properties = try producer.properties()
        #expect(properties.last { $0.0 == "socket.nagle.disable" }?.1 == "false", "additionalProperties are applied last")
    }
}
