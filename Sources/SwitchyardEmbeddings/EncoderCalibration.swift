/// Calibration for the int8 encoder: the largest |x| each dense layer's input channels reach
/// in an FP32 forward pass over a fixed set of varied texts.
///
/// Which channels carry outliers is a property of the model, not of the text, so a few
/// dozen prompts of different kinds (questions, instructions, code, arithmetic, lists,
/// other languages, very short and long inputs) are enough; the set is fixed so a given
/// model file always yields the same quantised weights.
enum EncoderCalibration {
    static let texts: [String] = [
        "What is the capital of Australia?",
        "hi",
        "Explain the difference between a process and a thread, with an example in C.",
        "Write a Python function that returns the n-th Fibonacci number using memoization.",
        "def merge(a, b):\n    result = []\n    while a and b:\n        result.append(a.pop(0) if a[0] < b[0] else b.pop(0))\n    return result + a + b",
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
        "Solve for x: 3x + 7 = 25. Show your steps.",
        "Which of the following is a prime number?\nA. 21\nB. 27\nC. 29\nD. 33\nAnswer:",
        "Summarise the main causes of the French Revolution in three bullet points.",
        "Translate into German: The meeting has been moved to Thursday afternoon.",
        "¿Cuál es la mejor manera de aprender un idioma nuevo siendo adulto?",
        "東京から大阪まで新幹線で何時間かかりますか？",
        "Give me a recipe for a vegetarian lasagna for six people, including quantities.",
        "My order #A-20931 arrived damaged. I would like a refund to my card ending in 4242.",
        "SELECT customer_id, SUM(amount) FROM payments WHERE created_at > '2024-01-01' GROUP BY customer_id ORDER BY 2 DESC LIMIT 10;",
        "Compose a short poem about the sea at night, in the style of a haiku sequence.",
        "A train leaves at 14:35 and travels 210 km at 84 km/h. When does it arrive?",
        "List five risks of deploying large language models in healthcare and how to mitigate each.",
        "The mitochondria is the powerhouse of the cell. True or false? Explain briefly.",
        "Rewrite this sentence to be more formal: gonna need that report asap, thx!!",
        "ERROR 2024-05-01T12:00:03Z worker-7 Traceback (most recent call last): File \"app.py\", line 42, in handle KeyError: 'user_id'",
        "Compare the economic policies of Keynesian and Austrian schools of thought. Which better explains the 2008 financial crisis, and why? Give arguments on both sides before concluding.",
        "Is it safe to take ibuprofen together with paracetamol?",
        "Please proofread: Their going to the park tomorow, weather permitting, to there favourite spot by the lake.",
        String(repeating: "The committee reviewed the quarterly figures, noted the rise in operating costs, and asked for a revised forecast before the next board meeting. ", count: 8),
    ]

    /// Per layer and `BertWeights.DenseSlot`, the largest |x| of each input channel.
    static func inputMaxima(weights: BertWeights, tokenizer: WordPieceTokenizer, maxLength: Int) -> [[[Float]]] {
        let c = weights.configuration
        let widths: [BertWeights.DenseSlot: Int] = [
            .qkv: c.hiddenSize, .attentionOut: c.hiddenSize, .intermediate: c.hiddenSize, .output: c.intermediateSize,
        ]
        var maxima: [[[Float]]] = (0..<c.layerCount).map { _ in
            BertWeights.DenseSlot.allCases.map { [Float](repeating: 0, count: widths[$0]!) }
        }
        let sequences = texts.map { tokenizer.encode($0, maxLength: maxLength) }
        let workspace = BertWorkspace(configuration: c)
        _ = BertEncoderForward.run(sequences: sequences, weights: weights, workspace: workspace) { layer, slot, input, rows, k in
            maxima[layer][slot.rawValue].withUnsafeMutableBufferPointer { m in
                for r in 0..<rows {
                    let row = input + r * k
                    for j in 0..<k { m[j] = max(m[j], abs(row[j])) }
                }
            }
        }
        return maxima
    }
}
