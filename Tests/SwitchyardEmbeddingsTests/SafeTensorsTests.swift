import Foundation
import Testing
import SwitchyardEmbeddings

@Suite("SafeTensors")
struct SafeTensorsTests {
    /// Builds a safetensors image from a header JSON string and raw data bytes.
    static func image(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> Data {
        let headerBytes = Array(header.utf8)
        var length = declaredLength ?? UInt64(headerBytes.count)
        var bytes: [UInt8] = []
        for _ in 0..<8 {
            bytes.append(UInt8(length & 0xFF))
            length >>= 8
        }
        return Data(bytes + headerBytes + data)
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            let bits = value.bitPattern.littleEndian
            return (0..<4).map { UInt8((bits >> (8 * $0)) & 0xFF) }
        }
    }

    @Test func parsesHeaderAndReadsFloats() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"#
            + #""b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}"#
        let file = try SafeTensorsFile(data: Self.image(header: header, data: Self.floatBytes([1, -2, 3.5, 0]) + [UInt8](repeating: 7, count: 8)))
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensors["a"] == SafeTensorInfo(dtype: "F32", shape: [2, 2], dataRange: 0..<16))
        #expect(file.tensors["b"]?.dtype == "I64")
        #expect(try file.floats("a") == [1, -2, 3.5, 0])
        #expect(try file.floats("a", shape: [2, 2]).count == 4)
        #expect(throws: SafeTensorsError.shapeMismatch(name: "a", expected: [4], actual: [2, 2])) { try file.floats("a", shape: [4]) }
        #expect(throws: SafeTensorsError.unsupportedDType(name: "b", dtype: "I64")) { try file.floats("b") }
        #expect(throws: SafeTensorsError.missingTensor("c")) { try file.floats("c") }
    }

    @Test func readsTheInstalledModelHeader() throws {
        let directory = try InstalledModel.requireDirectory()
        let file = try SafeTensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        #expect(file.tensors["embeddings.word_embeddings.weight"]?.shape == [30522, 384])
        #expect(file.tensors["encoder.layer.5.output.dense.weight"]?.shape == [384, 1536])
    }

    @Test func malformedFilesThrowClearErrors() {
        let good = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let data4: [UInt8] = [0, 0, 128, 63]
        let cases: [(String, Data, SafeTensorsError)] = [
            ("empty", Data(), .fileTooSmall(0)),
            ("short", Data([1, 2, 3]), .fileTooSmall(3)),
            ("huge header length", Self.image(header: good, data: data4, declaredLength: UInt64.max),
             .headerLengthOutOfRange(UInt64.max, fileSize: 8 + good.utf8.count + 4)),
            ("not json", Self.image(header: "{not json", data: []), .headerNotJSONObject("invalid JSON")),
            ("array", Self.image(header: "[1,2]", data: []), .headerNotJSONObject("top level is not an object")),
            ("missing dtype", Self.image(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: data4),
             .malformedEntry(name: "a", reason: "missing dtype")),
            ("negative shape", Self.image(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: data4),
             .malformedEntry(name: "a", reason: "missing or invalid shape")),
            ("reversed offsets", Self.image(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: data4),
             .malformedEntry(name: "a", reason: "missing or invalid data_offsets")),
            ("past end", Self.image(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data4),
             .dataOutOfBounds(name: "a")),
            ("size mismatch", Self.image(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: data4),
             .malformedEntry(name: "a", reason: "shape [2] of F32 does not match 4 data bytes")),
        ]
        for (label, data, expected) in cases {
            #expect(throws: expected, "\(label)") { try SafeTensorsFile(data: data) }
        }
        #expect(SafeTensorsError.fileTooSmall(3).description.contains("too small"))
    }

    @Test func missingFileThrows() {
        #expect(throws: (any Error).self) {
            try SafeTensorsFile(url: URL(fileURLWithPath: "/nonexistent/model.safetensors"))
        }
    }
}
