import Foundation

/// Errors raised while reading a `.safetensors` file.
///
/// Every malformed input maps to one of these cases (never a trap), so a
/// corrupt or truncated model file produces a readable message at start-up.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case fileTooSmall(Int)
    case headerLengthOutOfRange(UInt64, fileSize: Int)
    case headerNotJSONObject(String)
    case malformedEntry(name: String, reason: String)
    case dataOutOfBounds(name: String)
    case missingTensor(String)
    case unsupportedDType(name: String, dtype: String)
    case shapeMismatch(name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .fileTooSmall(let size):
            return "safetensors: file is \(size) bytes, too small to hold the 8-byte header length"
        case .headerLengthOutOfRange(let length, let size):
            return "safetensors: header length \(length) does not fit in a \(size)-byte file"
        case .headerNotJSONObject(let reason):
            return "safetensors: header is not a JSON object (\(reason))"
        case .malformedEntry(let name, let reason):
            return "safetensors: tensor '\(name)' has a malformed header entry: \(reason)"
        case .dataOutOfBounds(let name):
            return "safetensors: data range of tensor '\(name)' lies outside the file"
        case .missingTensor(let name):
            return "safetensors: tensor '\(name)' not found"
        case .unsupportedDType(let name, let dtype):
            return "safetensors: tensor '\(name)' has dtype \(dtype); only F32 is supported here"
        case .shapeMismatch(let name, let expected, let actual):
            return "safetensors: tensor '\(name)' has shape \(actual), expected \(expected)"
        }
    }
}

/// One tensor's header entry: element type, shape and byte range in the data section.
public struct SafeTensorInfo: Sendable, Equatable {
    public let dtype: String
    public let shape: [Int]
    /// Byte range relative to the start of the data section (after the header).
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }

    public init(dtype: String, shape: [Int], dataRange: Range<Int>) {
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }
}

/// Minimal reader for the safetensors format
/// (8-byte little-endian header length, JSON header, raw little-endian tensor data).
///
/// Exists so the gateway can load Hugging Face weights without Python or a
/// network fetch; only what the MiniLM encoder needs (F32 tensors) is decoded.
public struct SafeTensorsFile: Sendable {
    public let tensors: [String: SafeTensorInfo]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    /// Reads the file (memory-mapped when the platform allows it).
    public init(url: URL) throws {
        try self.init(data: Data(contentsOf: url, options: .alwaysMapped))
    }

    /// Parses an in-memory safetensors image.
    public init(data: Data) throws {
        guard data.count >= 8 else { throw SafeTensorsError.fileTooSmall(data.count) }
        var headerLength: UInt64 = 0
        for i in (0..<8).reversed() {
            headerLength = headerLength << 8 | UInt64(data[data.startIndex + i])
        }
        guard headerLength >= 2, headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError.headerLengthOutOfRange(headerLength, fileSize: data.count)
        }
        let start = data.startIndex + 8
        let headerBytes = data[start..<(start + Int(headerLength))]
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw SafeTensorsError.headerNotJSONObject("invalid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsError.headerNotJSONObject("top level is not an object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                if let dict = value as? [String: Any] {
                    for (k, v) in dict { metadata[k] = (v as? String) ?? "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw SafeTensorsError.malformedEntry(name: name, reason: "not an object")
            }
            guard let dtype = entry["dtype"] as? String else {
                throw SafeTensorsError.malformedEntry(name: name, reason: "missing dtype")
            }
            guard let shapeValues = entry["shape"] as? [Any],
                  let shape = Self.nonNegativeInts(shapeValues) else {
                throw SafeTensorsError.malformedEntry(name: name, reason: "missing or invalid shape")
            }
            guard let offsetValues = entry["data_offsets"] as? [Any],
                  let offsets = Self.nonNegativeInts(offsetValues), offsets.count == 2,
                  offsets[0] <= offsets[1] else {
                throw SafeTensorsError.malformedEntry(name: name, reason: "missing or invalid data_offsets")
            }
            guard offsets[1] <= dataSize else { throw SafeTensorsError.dataOutOfBounds(name: name) }
            var count = 1
            for dim in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw SafeTensorsError.malformedEntry(name: name, reason: "shape too large")
                }
                count = product
            }
            if let width = Self.byteWidth(dtype) {
                let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
                guard !overflow, bytes == offsets[1] - offsets[0] else {
                    throw SafeTensorsError.malformedEntry(
                        name: name, reason: "shape \(shape) of \(dtype) does not match \(offsets[1] - offsets[0]) data bytes")
                }
            }
            tensors[name] = SafeTensorInfo(dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
        }
        self.tensors = tensors
        self.metadata = metadata
        self.bytes = data
        self.dataStart = dataStart
    }

    /// Returns the F32 tensor `name` as a flat row-major array, optionally checking its shape.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else { throw SafeTensorsError.missingTensor(name) }
        guard info.dtype == "F32" else { throw SafeTensorsError.unsupportedDType(name: name, dtype: info.dtype) }
        if let expected, expected != info.shape {
            throw SafeTensorsError.shapeMismatch(name: name, expected: expected, actual: info.shape)
        }
        let count = info.elementCount
        let offset = dataStart + info.dataRange.lowerBound
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                let source = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * 4)])
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                #else
                for i in 0..<count {
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
                #endif
            }
            initialized = count
        }
    }

    private static func byteWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": return 8
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": return 1
        default: return nil
        }
    }

    private static func nonNegativeInts(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double >= 0, double <= 9.0e15, double == double.rounded() else { return nil }
            result.append(Int(double))
        }
        return result
    }
}
