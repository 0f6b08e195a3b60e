/// A sentence encoder that maps text to a fixed-size vector.
///
/// The router codes against this protocol so tests can substitute a cheap
/// fake and the real model stays an implementation detail.
public protocol TextEmbedder: Sendable {
    /// Length of every vector returned.
    var dimension: Int { get }
    /// Embeds one text.
    func embed(_ text: String) throws -> [Float]
    /// Embeds many texts; element `i` of the result belongs to `texts[i]`.
    func embed(batch texts: [String]) throws -> [[Float]]
}
