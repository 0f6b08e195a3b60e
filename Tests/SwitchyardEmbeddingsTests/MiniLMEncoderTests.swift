import Foundation
import Testing
import SwitchyardEmbeddings

@Suite("MiniLMEncoder")
struct MiniLMEncoderTests {
    @Test("FP32 matches sentence-transformers (cosine ≥ 0.999)",
          arguments: ReferenceFixtures.shared.embeddings.indices)
    func matchesReference(_ index: Int) throws {
        let encoder = try InstalledModel.requireEncoder(.float32)
        #expect(encoder.precision == .float32)
        let reference = ReferenceFixtures.shared.embeddings[index]
        let vector = try encoder.embed(reference.text)
        #expect(vector.count == 384)
        let similarity = cosine(vector, reference.vector)
        #expect(similarity >= 0.999, "cosine \(similarity) for \(reference.text.prefix(40).debugDescription)")
        let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(norm - 1) < 1e-4)
    }

    /// The default precision (int8 where the CPU has VNNI) meets the same bar as FP32 on
    /// every fixture, alone and in a batch with long texts. Short texts are the hardest for
    /// int8 (mean pooling averages little noise away); they get the residual pass.
    @Test func int8MatchesReference() throws {
        let encoder = try InstalledModel.requireEncoder()
        try #require(EncoderPrecision.int8Available == (encoder.precision == .int8))
        let fixtures = ReferenceFixtures.shared.embeddings
        let single = try fixtures.map { try encoder.embed($0.text) }
        let batch = try encoder.embed(batch: fixtures.map(\.text))
        for (index, fixture) in fixtures.enumerated() {
            for vector in [single[index], batch[index]] {
                let similarity = cosine(vector, fixture.vector)
                #expect(similarity >= 0.999, "cosine \(similarity) for \(fixture.text.prefix(40).debugDescription)")
            }
        }
    }

    @Test func batchMatchesSingleCalls() throws {
        let encoder = try InstalledModel.requireEncoder()
        let texts = ReferenceFixtures.shared.embeddings.map(\.text)
        let batch = try encoder.embed(batch: texts)
        #expect(batch.count == texts.count)
        for (text, vector) in zip(texts, batch) {
            #expect(cosine(vector, try encoder.embed(text)) >= 0.99999)
        }
        // Packing many short texts into one forward pass must not mix them up.
        let repeated = try encoder.embed(batch: Array(texts.prefix(3)) + Array(texts.prefix(3)))
        #expect(repeated[0] == repeated[3] && repeated[1] == repeated[4])
        #expect(try encoder.embed(batch: []).isEmpty)
    }

    @Test func semanticSanity() throws {
        let encoder = try InstalledModel.requireEncoder()
        let a = try encoder.embed("How do I reset my password?")
        let b = try encoder.embed("I forgot my password, how can I change it?")
        let c = try encoder.embed("The stock market fell sharply on Tuesday.")
        #expect(cosine(a, b) > cosine(a, c) + 0.3)
    }

    @Test func concurrentCallersGetIdenticalResults() async throws {
        let encoder = try InstalledModel.requireEncoder()
        let texts = ReferenceFixtures.shared.embeddings.map(\.text)
        let serial = try texts.map { try encoder.embed($0) }
        let parallel = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, text) in texts.enumerated() {
                group.addTask { (i, try encoder.embed(text)) }
            }
            var out: [(Int, [Float])] = []
            for try await item in group { out.append(item) }
            return out
        }
        for (i, vector) in parallel {
            #expect(vector == serial[i])
        }
    }

    @Test func missingDirectoryIsAClearError() {
        #expect(throws: MiniLMEncoderError.self) {
            try MiniLMEncoder(modelDirectory: URL(fileURLWithPath: "/nonexistent/minilm"))
        }
    }
}
