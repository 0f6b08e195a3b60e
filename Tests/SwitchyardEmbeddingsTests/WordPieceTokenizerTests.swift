import Foundation
import Testing
import SwitchyardEmbeddings

@Suite("WordPieceTokenizer")
struct WordPieceTokenizerTests {
    static let tokenizer: Result<WordPieceTokenizer, any Error> = Result {
        let directory = try InstalledModel.requireDirectory()
        return try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
    }

    @Test("matches the Hugging Face tokenizer on every reference case",
          arguments: ReferenceFixtures.shared.tokens.indices)
    func matchesReference(_ index: Int) throws {
        let tokenizer = try Self.tokenizer.get()
        let reference = ReferenceFixtures.shared.tokens[index]
        let ids = tokenizer.encode(reference.text, maxLength: reference.maxLength)
        #expect(ids == reference.ids, "text: \(reference.text.debugDescription)")
    }

    @Test func framesWithClsAndSepAndTruncates() throws {
        let tokenizer = try Self.tokenizer.get()
        #expect(tokenizer.encode("") == [tokenizer.clsID, tokenizer.sepID])
        let long = String(repeating: "word ", count: 1000)
        let ids = tokenizer.encode(long)
        #expect(ids.count == 256)
        #expect(ids.first == tokenizer.clsID && ids.last == tokenizer.sepID)
        #expect(tokenizer.encode(long, maxLength: 2) == [tokenizer.clsID, tokenizer.sepID])
    }

    @Test func smallHandWrittenVocabulary() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", ",", "e"].joined(separator: "\n")
        let tokenizer = try WordPieceTokenizer(vocabularyData: Data(vocab.utf8))
        #expect(tokenizer.encode("Unaffable, HELLO") == [2, 4, 5, 6, 8, 7, 3])
        #expect(tokenizer.encode("unknown É") == [2, 1, 9, 3])
        #expect(tokenizer.encode(String(repeating: "e", count: 101)) == [2, 1, 3])
    }

    @Test func missingSpecialTokenIsAnError() {
        #expect(throws: WordPieceTokenizerError.self) {
            try WordPieceTokenizer(vocabularyData: Data("a\nb\n".utf8))
        }
    }
}
