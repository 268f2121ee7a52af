#!/bin/bash
# Ten greedy and ten sampled completions of each shipped model, produced by `xyserve generate`
# (the samples section of models/README.md). Sampling is seeded, so the output is reproducible.
# Usage: tools/train/samples.sh XYSERVE_BINARY [MODEL_DIR ...] > samples.md
set -euo pipefail
XY=$1
shift
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(models/xy-target models/xy-draft)
PROMPTS=(
  "In the beginning"
  "And it came to pass, when"
  "Blessed are the"
  "The LORD is my shepherd;"
  "A computer is"
  "Love is"
  "The secret of success is"
  "Never trust a"
  "chat:Tell me something about computers."
  "chat:Give me a quote about work."
)

run() {  # model, prompt, extra flags...
  local model=$1 prompt=$2
  shift 2
  if [[ $prompt == chat:* ]]; then
    "$XY" generate --model "$model" --chat --prompt "${prompt#chat:}" --max-tokens 48 --no-stats "$@"
  else
    "$XY" generate --model "$model" --prompt "$prompt" --max-tokens 48 --no-stats "$@"
  fi
}

for model in "${MODELS[@]}"; do
  for mode in greedy sampled; do
    echo "#### $(basename "$model"), $mode"
    if [ $mode = greedy ]; then
      echo '(`--temperature 0`, 48 tokens at most)'
    else
      echo '(`--temperature 0.8 --top-p 0.95 --seed N` for the N-th prompt, 48 tokens at most)'
    fi
    echo
    n=0
    for prompt in "${PROMPTS[@]}"; do
      n=$((n + 1))
      if [ $mode = greedy ]; then
        out=$(run "$model" "$prompt" --temperature 0)
      else
        out=$(run "$model" "$prompt" --temperature 0.8 --top-p 0.95 --seed $n)
      fi
      if [[ $prompt == chat:* ]]; then
        echo "$n. chat, user: **${prompt#chat:}**"
      else
        echo "$n. **$prompt**"
      fi
      echo '   ```text'
      printf '%s\n' "$out" | sed 's/^/   /'
      echo '   ```'
    done
    echo
  done
done
