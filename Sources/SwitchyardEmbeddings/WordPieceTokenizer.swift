import Foundation

/// Errors raised while loading a WordPiece vocabulary.
public enum WordPieceTokenizerError: Error, CustomStringConvertible {
    case unreadableVocabulary(URL, String)
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .unreadableVocabulary(let url, let reason):
            return "WordPiece: cannot read vocabulary \(url.path): \(reason)"
        case .missingSpecialToken(let token):
            return "WordPiece: vocabulary has no \(token) token"
        }
    }
}

/// BERT uncased WordPiece tokenizer driven by a `vocab.txt` (one token per line,
/// id = line number).
///
/// Reproduces the Hugging Face tokenizer used by sentence-transformers for
/// all-MiniLM-L6-v2 (basic tokenization, greedy longest-match-first WordPiece
/// with `##` continuations, `[UNK]` for unknown or > 100-character words,
/// `[CLS]`/`[SEP]` framing, truncation) so the in-process encoder sees
/// exactly the ids the model was trained on. Vocabulary lookups compare raw
/// UTF-8 bytes (not Swift's canonical-equivalence `String` equality), as the
/// reference does.
public struct WordPieceTokenizer: Sendable {
    public let vocabularySize: Int
    public let clsID: Int32
    public let sepID: Int32
    public let unkID: Int32
    /// Words longer than this many Unicode scalars become `[UNK]`.
    public let maxCharactersPerWord = 100

    private let vocabulary: [[UInt8]: Int32]

    public init(vocabularyFile: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: vocabularyFile)
        } catch {
            throw WordPieceTokenizerError.unreadableVocabulary(vocabularyFile, "\(error)")
        }
        try self.init(vocabularyData: data)
    }

    /// Builds a tokenizer from the bytes of a `vocab.txt`.
    public init(vocabularyData data: Data) throws {
        var vocabulary: [[UInt8]: Int32] = [:]
        var index: Int32 = 0
        var line: [UInt8] = []
        vocabulary.reserveCapacity(32_000)
        for byte in data {
            if byte == 0x0A {
                if line.last == 0x0D { line.removeLast() }
                vocabulary[line] = index
                index += 1
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
            }
        }
        if !line.isEmpty {
            if line.last == 0x0D { line.removeLast() }
            vocabulary[line] = index
            index += 1
        }
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary[Array(token.utf8)] else { throw WordPieceTokenizerError.missingSpecialToken(token) }
            return id
        }
        self.clsID = try special("[CLS]")
        self.sepID = try special("[SEP]")
        self.unkID = try special("[UNK]")
        self.vocabulary = vocabulary
        self.vocabularySize = Int(index)
    }

    /// Token ids for one sequence: `[CLS] pieces… [SEP]`, truncated so the whole
    /// sequence has at most `maxLength` ids (at least `[CLS]` and `[SEP]`).
    public func encode(_ text: String, maxLength: Int = 256) -> [Int32] {
        let budget = max(0, maxLength - 2)
        var ids: [Int32] = [clsID]
        ids.reserveCapacity(min(budget, 64) + 2)
        var scratch: [UInt8] = []
        scratch.reserveCapacity(64)
        BertTextNormalizer.forEachWord(in: text) { word in
            appendWordPieces(word, to: &ids, budget: budget + 1, scratch: &scratch)
            return ids.count < budget + 1
        }
        if ids.count > budget + 1 { ids.removeSubrange((budget + 1)...) }
        ids.append(sepID)
        return ids
    }

    /// Greedy longest-match-first WordPiece; the whole word becomes `[UNK]` if any part fails.
    private func appendWordPieces(_ word: ArraySlice<UInt8>, to ids: inout [Int32], budget: Int, scratch: inout [UInt8]) {
        // Scalar boundaries (UTF-8 lead bytes) of the word.
        var boundaries: [Int] = []
        boundaries.reserveCapacity(word.count + 1)
        for i in word.indices where word[i] & 0xC0 != 0x80 { boundaries.append(i) }
        boundaries.append(word.endIndex)
        let scalarCount = boundaries.count - 1
        guard scalarCount > 0 else { return }
        if scalarCount > maxCharactersPerWord {
            ids.append(unkID)
            return
        }
        let mark = ids.count
        var startIndex = 0
        while startIndex < scalarCount {
            var endIndex = scalarCount
            var found: Int32? = nil
            while endIndex > startIndex {
                scratch.removeAll(keepingCapacity: true)
                if startIndex > 0 { scratch.append(0x23); scratch.append(0x23) }
                scratch.append(contentsOf: word[boundaries[startIndex]..<boundaries[endIndex]])
                if let id = vocabulary[scratch] {
                    found = id
                    break
                }
                endIndex -= 1
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(unkID)
                return
            }
            ids.append(id)
            startIndex = endIndex
        }
    }
}
