/// Token counts without the model's tokenizer: used for budget reservations before a
/// request is sent, and for the request log when an upstream reports no usage (the row
/// is then marked estimated).
public enum TokenEstimator {
    /// A deliberately high count of the prompt: budget reservations must not undershoot.
    /// Three bytes per token over-counts English (about four per token) and stays close
    /// for code and non-Latin scripts; eight tokens per message cover role markers.
    public static func reservationPromptTokens(_ request: ChatRequest) -> Int {
        var bytes = 0
        for message in request.messages { bytes += messageBytes(message) }
        for tool in request.tools { bytes += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + (tool.parameters.map { JSONWriter.bytes($0).count } ?? 0) }
        return (bytes + 2) / 3 + 8 * request.messages.count + 8
    }

    /// A best guess of the prompt's tokens: four bytes per token plus a few per message.
    public static func promptTokens(_ request: ChatRequest) -> Int {
        var bytes = 0
        for message in request.messages { bytes += messageBytes(message) }
        for tool in request.tools { bytes += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + (tool.parameters.map { JSONWriter.bytes($0).count } ?? 0) }
        return (bytes + 3) / 4 + 4 * request.messages.count + 3
    }

    /// A best guess of an answer's tokens from its streamed pieces: servers that stream one
    /// token per chunk (llama.cpp, vLLM, TGI) are counted exactly by their chunks; text
    /// that arrived in bigger pieces is counted by length.
    public static func completionTokens(contentChunks: Int, textBytes: Int) -> Int {
        // Short pieces (a token is rarely over eight bytes) mean one token per chunk.
        if contentChunks > 0 && textBytes <= contentChunks * 8 { return contentChunks }
        return (textBytes + 3) / 4
    }

    static func messageBytes(_ message: ChatMessage) -> Int {
        var bytes = message.text.utf8.count
        for call in message.toolCalls { bytes += call.name.utf8.count + call.arguments.utf8.count }
        // An image costs its provider hundreds of tokens; count a typical tile.
        for part in message.content {
            if case .image = part { bytes += 3 * 765 }
        }
        return bytes
    }
}
