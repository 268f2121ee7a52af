// Training text for the tokenizer that `xyserve make-model` writes beside random weights.
// Original prose and code written for xyserve (no third-party text), so it carries no licence
// beyond the project's own.
#include "tokenizer/builtin_corpus.h"

namespace xy {

const std::string& builtin_tokenizer_corpus() {
  static const std::string text = R"XYCORPUS(
The river ran quietly past the old mill, where the miller's daughter counted sacks of grain
every morning before the sun rose over the hills. She kept a small notebook in which she wrote
the weight of each sack, the name of the farmer who brought it, and the price they agreed on.
In the spring the river was high and fast; in the autumn it was low and slow, and the wheel
turned only when the wind helped it. The village had a school, a bakery, two churches, and a
market that opened on Tuesdays and Saturdays. People came from the neighbouring towns to sell
apples, cheese, wool, candles, and bread. Children ran between the stalls and the dogs followed
them, hoping for a crust. "What do you want today?" the baker asked. "Two loaves, please, and
one of the small cakes with honey," said the girl. He wrapped them in paper and she paid him
three copper coins. The weather was cold, but the sky was clear, and the road home was dry.

A language model reads a sequence of tokens and predicts the next one. Serving such a model
means answering many requests at once: some have long prompts that must be processed first,
others are already generating text one token at a time, and some propose several tokens that
must be verified together. The scheduler decides, at every step, which tokens run; the kernels
turn those tokens into numbers; the sampler chooses what comes next. Throughput is measured in
tokens per second, latency in milliseconds: the time to the first token, and the time per
output token after that. A good system keeps both low while the load rises.

def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

for i in range(10):
    print(f"{i:2d} -> {fibonacci(i)}")

int main(int argc, char** argv) {
  std::vector<int> values = {3, 1, 4, 1, 5, 9, 2, 6};
  std::sort(values.begin(), values.end());
  for (int v : values) std::printf("%d\n", v);
  return 0;
}

{"name": "example", "version": "1.0.0", "tokens": [1, 2, 3], "enabled": true, "ratio": 0.75}

Numbers: 0 1 2 3 4 5 6 7 8 9 10 12 100 256 1024 2048 3.14159 2.71828 1,000,000 2026-11-23
12:30:45 +1 -1 50% $19.99 #42 @home user@example.com https://example.com/path?query=1&x=2

Questions and answers. What is the capital of France? The capital of France is Paris. How
many days are in a week? There are seven days in a week. Why is the sky blue? Sunlight is
scattered by the air, and blue light is scattered more than red light. Can you help me write
a letter? Of course: tell me who it is for and what you would like to say. Thank you! You are
welcome. Is it going to rain tomorrow? I cannot know the weather, but you can check a forecast.

Once upon a time there was a fox who lived at the edge of a forest. Every evening he walked to
the top of the hill and looked at the lights of the farm below. One night he saw that the gate
of the henhouse was open. He thought about it for a long time, and then he went home, because
the farmer's dog was asleep by the gate, and the fox was wise enough to know that sleeping dogs
wake up. The next morning the farmer closed the gate, and the story ended there.

Other scripts appear in real text too: café, naïve, façade, Zürich, São Paulo; Ελληνικά;
русский язык; 日本語のテキスト; 中文文本; 한국어; العربية; हिन्दी; emoji 🙂🚀✨ and symbols ∑ ∞ ≤ ≥ → ©.
)XYCORPUS";
  return text;
}

}  // namespace xy
