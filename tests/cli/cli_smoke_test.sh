#!/usr/bin/env bash
# End-to-end test of the xyserve CLI on a freshly generated checkpoint.
# Usage: cli_smoke_test.sh path/to/xyserve
set -uo pipefail
xyserve=${1:?path to xyserve}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # check NAME COMMAND...: passes when COMMAND succeeds
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
expect_error() {  # expect_error NAME NEEDLE ARGS...: xyserve ARGS must fail, stderr containing NEEDLE
  local name=$1 needle=$2; shift 2
  local err rc
  err=$("$xyserve" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 0 && "$err" == *"$needle"* ]]; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name (rc=$rc, stderr: $err)"
  fi
}

model="$work/tiny"
check "make-model tiny" "$xyserve" make-model --preset tiny --out "$model" --dtype bf16 --seed 3
check "help" bash -c "'$xyserve' --help | grep -q generate"

out=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 2>"$work/gen.err")
rc=$?
check "generate prints text" test $rc -eq 0 -a -n "$out"
out2=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 2>/dev/null)
check "greedy generate is reproducible" test "$out" == "$out2"
chat=$("$xyserve" generate --model "$model" --chat --prompt "Hello there" --max-tokens 8 --seed 5 --temperature 0.8 2>/dev/null)
check "chat generate with sampling prints text" test -n "$chat"

chunked=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 --max-num-batched-tokens 2 --block-size 1 --no-enable-prefix-caching 2>/dev/null)
check "generate: chunked prefill, block size 1, no prefix cache give the same tokens" test "$out" == "$chunked"
check "make-model tiny-draft" "$xyserve" make-model --preset tiny-draft --out "$work/draft" --dtype bf16 --seed 5
for kernels in cpu reference; do
  spec=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 --kernels $kernels --threads 1 \
    --spec-method draft --draft-model "$work/draft" --num-speculative-tokens 3 --no-spec-adaptive 2>"$work/spec.err")
  plain=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 --kernels $kernels --threads 1 2>/dev/null)
  check "generate with a draft model ($kernels kernels, loaded like the target) gives the plain greedy text" test -n "$spec" -a "$spec" == "$plain"
  check "generate reports the draft acceptance ($kernels kernels)" grep -q "speculation: .* accepted" "$work/spec.err"
done
stop=$(python3 -c "import sys;t=sys.argv[1];print(t[len(t)//2:len(t)//2+2])" "$out")
expected=$(python3 -c "import sys;t,s=sys.argv[1],sys.argv[2];print(t[:t.find(s)])" "$out" "$stop")
stopped=$("$xyserve" generate --model "$model" --prompt "Once upon a time" --max-tokens 12 --temperature 0 --stop "$stop" 2>"$work/stop.err")
check "generate --stop ends the text before the stop string" test "$stopped" == "$expected"
check "generate --stop reports finish stop" grep -q "finish: stop" "$work/stop.err"
check "bench offline" bash -c "'$xyserve' bench offline --model '$model' --num-prompts 8 --input-len 32 --output-len 8 --max-num-batched-tokens 64 --output-json '$work/bench.json' | grep -q 'output tokens/s'"
check "bench offline JSON" python3 -c "import json,sys;j=json.load(open(sys.argv[1]));assert j['output_tokens_per_s']>0 and j['num_requests']==8" "$work/bench.json"
check "bench offline with n-gram speculation" bash -c "'$xyserve' bench offline --model '$model' --num-prompts 4 --input-len 16 --output-len 8 --max-num-batched-tokens 64 --spec-method ngram --num-speculative-tokens 3 | grep -q acceptance"
check "bench offline on a trace (Mooncake shared prefixes hit the cache)" bash -c "'$xyserve' bench offline --model '$model' --trace mooncake-conv --num-prompts 3 --max-num-batched-tokens 512 --max-model-len 1024 --output-json '$work/trace.json' >/dev/null 2>&1 && python3 -c \"import json;j=json.load(open('$work/trace.json'));assert j['trace']=='mooncake-conv' and j['prefix_cache_hit_rate']>0\""
expect_error "unknown trace is named" "no-such-trace" bench offline --model "$model" --trace no-such-trace
check "bench offline: the KV cache follows the bf16 weights by default (--kv-dtype auto)" python3 -c "import json,sys;assert json.load(open(sys.argv[1]))['kv_dtype']=='bf16'" "$work/bench.json"
check "bench offline --kv-dtype f32" bash -c "'$xyserve' bench offline --model '$model' --num-prompts 2 --input-len 8 --output-len 2 --kv-dtype f32 --output-json '$work/f32.json' >/dev/null && python3 -c \"import json;assert json.load(open('$work/f32.json'))['kv_dtype']=='f32'\""
check "bench offline on Arena-Hard text: exact prompt lengths" bash -c "'$xyserve' bench offline --model '$model' --dataset-like arena-hard --num-prompts 4 --input-len 48 --output-len 4 --output-json '$work/arena.json' >/dev/null && python3 -c \"import json;j=json.load(open('$work/arena.json'));assert j['dataset']=='arena-hard' and j['prompt_tokens']==4*48, j\""
for i in $(seq 1 60); do echo "Line $i of a small corpus: the quick brown fox jumps over the lazy dog, and the dog sleeps on."; done >"$work/corpus.txt"
check "bench offline on a text file" bash -c "'$xyserve' bench offline --model '$model' --dataset-like text --dataset-path '$work/corpus.txt' --num-prompts 3 --input-len 40 --output-len 4 --spec-method ngram --num-speculative-tokens 3 --no-spec-adaptive --output-json '$work/text.json' >/dev/null && python3 -c \"import json;j=json.load(open('$work/text.json'));assert j['dataset']=='text' and j['prompt_tokens']==3*40, j\""
expect_error "--dataset-path needs --dataset-like text" "dataset-path" bench offline --model "$model" --dataset-path "$work/corpus.txt"
expect_error "missing corpus file is named" "nope.txt" bench offline --model "$model" --dataset-like text --dataset-path "$work/nope.txt"
expect_error "unknown --kv-dtype is named" "kv-dtype" bench offline --model "$model" --kv-dtype f8
expect_error "bad --kv-cache-memory is named" "kv-cache-memory" generate --model "$model" --prompt hi --kv-cache-memory lots

check "logits" "$xyserve" logits --model "$model" --token-ids 1,2,3 --out "$work/logits.f32"
vocab=$(python3 -c "import json;print(json.load(open('$model/config.json'))['vocab_size'])")
check "logits file is [3, vocab] f32" test "$(stat -c %s "$work/logits.f32")" -eq $((3 * vocab * 4))

bad="$work/bad"
cp -r "$model" "$bad"
truncate -s 1000 "$bad/model.safetensors"
expect_error "truncated safetensors is a precise error" "model.safetensors" generate --model "$bad" --prompt hi
cp "$model/model.safetensors" "$bad/model.safetensors"
sed -i 's/LlamaForCausalLM/GPTBigCodeForCausalLM/' "$bad/config.json"
expect_error "unsupported architecture is named" "GPTBigCodeForCausalLM" generate --model "$bad" --prompt hi
expect_error "missing model directory" "config.json" generate --model "$work/nope" --prompt hi
expect_error "token id out of range" "token id" logits --model "$model" --token-ids 1,999999 --out "$work/x.f32"
expect_error "unknown preset is named" "no-such-model" make-model --preset no-such-model --out "$work/y"

# Kernel sets, threads and the GEMM tune table.
check "logits with reference kernels" "$xyserve" logits --model "$model" --token-ids 1,2,3,4,5 --kernels reference --out "$work/ref.f32"
check "logits with cpu kernels, 1 thread" "$xyserve" logits --model "$model" --token-ids 1,2,3,4,5 --kernels cpu --threads 1 --out "$work/cpu1.f32"
check "logits with cpu kernels, 2 threads" "$xyserve" logits --model "$model" --token-ids 1,2,3,4,5 --threads 2 --out "$work/cpu2.f32"
check "cpu logits do not depend on the thread count" cmp -s "$work/cpu1.f32" "$work/cpu2.f32"
check "cpu logits match the reference kernels" python3 -c "
import array, math
a, b = array.array('f'), array.array('f')
a.frombytes(open('$work/cpu1.f32', 'rb').read()); b.frombytes(open('$work/ref.f32', 'rb').read())
num = sum((x - y) ** 2 for x, y in zip(a, b)); den = sum(y * y for y in b)
assert len(a) == len(b) and math.sqrt(num / den) < 1e-5, math.sqrt(num / den)"
expect_error "unknown kernel set is named" "--kernels" logits --model "$model" --token-ids 1 --kernels gpu --out "$work/x.f32"
check "tune writes the table beside the model" "$xyserve" tune --model "$model" --max-tokens 8 --repeats 1 --threads 1 --dtype f32
check "tune table is a tune table" grep -q '"format": "xyserve-gemm-tune"' "$model/xyserve-gemm-tune.json"
check "logits with the tuned table are unchanged" "$xyserve" logits --model "$model" --token-ids 1,2,3,4,5 --threads 1 --out "$work/tuned.f32"
check "tuned logits equal untuned logits bitwise" cmp -s "$work/cpu1.f32" "$work/tuned.f32"
check "tune --cache-dir" "$xyserve" tune --model "$model" --max-tokens 4 --repeats 1 --threads 1 --cache-dir "$work/tune-cache"
check "cache-dir table exists" test -s "$work/tune-cache/tiny-xyserve-gemm-tune.json"
check "logits with --gemm-tune" "$xyserve" logits --model "$model" --token-ids 1,2,3 --gemm-tune "$work/tune-cache/tiny-xyserve-gemm-tune.json" --out "$work/x.f32"
echo '{"format": 3' > "$model/xyserve-gemm-tune.json"
expect_error "malformed tune table is named" "xyserve-gemm-tune.json" logits --model "$model" --token-ids 1 --out "$work/x.f32"
rm -f "$model/xyserve-gemm-tune.json"
expect_error "missing --gemm-tune file is named" "nope.json" logits --model "$model" --token-ids 1 --gemm-tune "$work/nope.json" --out "$work/x.f32"

# GGUF files as users have them: written by quantize, run quantized (QuantGEMM), int8 KV, tuned.
mkdir -p "$work/gguf"
check "quantize --type q4_k_m" "$xyserve" quantize --model "$model" --type q4_k_m --out "$work/gguf/tiny-q4_k_m.gguf"
check "quantize --type q8_0" "$xyserve" quantize --model "$model" --type q8_0 --out "$work/tiny-q8_0.gguf"
check "generate on a Q4_K_M file with an int8 KV cache" bash -c "'$xyserve' generate --model '$work/gguf/tiny-q4_k_m.gguf' --prompt 'Hello there' --max-tokens 6 --ignore-eos --temperature 0 --kv-dtype int8 --threads 2 2>&1 | grep -q 'generated 6 tokens'"
check "bench offline on a Q8_0 file" bash -c "'$xyserve' bench offline --model '$work/tiny-q8_0.gguf' --num-prompts 4 --input-len 24 --output-len 6 --max-num-batched-tokens 64 --kv-dtype int8 | grep -q 'output tokens/s'"
check "tune on a GGUF file writes the table beside it" "$xyserve" tune --model "$work/gguf/tiny-q4_k_m.gguf" --max-tokens 4 --repeats 1 --threads 1
check "GGUF tune table exists" test -s "$work/gguf/xyserve-gemm-tune.json"
check "the GGUF model loads with its table" "$xyserve" logits --model "$work/gguf/tiny-q4_k_m.gguf" --token-ids 1,2,3 --out "$work/q.f32"
expect_error "an unknown --kv-dtype is named" "--kv-dtype" generate --model "$work/tiny-q8_0.gguf" --prompt hi --max-tokens 1 --kv-dtype int4

# bench serve: a short Poisson run and a trace replay against a live `xyserve serve` (tiny model).
port=$((20000 + RANDOM % 20000))
"$xyserve" serve --model "$model" --port "$port" --threads 1 >"$work/serve.log" 2>&1 &
serve_pid=$!
server_healthy() {  # GET /health over bash's /dev/tcp (no curl needed)
  exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
  printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  local status; status=$(head -1 <&3); exec 3<&-
  [[ "$status" == *" 200"* ]]
}
for _ in $(seq 1 150); do server_healthy && break; sleep 0.2; done
check "bench serve: poisson 5 s" "$xyserve" bench serve --url "http://127.0.0.1:$port" --model "$model" \
  --trace poisson --rate 4 --duration 5 --input-len 32 --output-len 8 --slo-ttft-ms 2000 \
  --slo-tpot-ms 200 --no-progress --json-out "$work/bs.json" --html-out "$work/bs.html"
check "bench serve: JSON says every request completed with 8 tokens" python3 -c "
import json; j = json.load(open('$work/bs.json')); s = j['summary']
assert s['failed'] == 0 and s['completed'] >= 10 and s['output_tokens'] == 8 * s['completed'], s
assert s['ttft_ms']['p50'] > 0 and s['tpot_ms']['n'] == s['completed'], s"
check "bench serve: HTML report has SVG plots" grep -q "TTFT CDF" "$work/bs.html"
check "bench serve: azure-conv replay (chat, concurrency cap)" "$xyserve" bench serve \
  --url "http://127.0.0.1:$port/v1" --model "$model" --trace azure-conv --rate-scale 4 --num-prompts 6 \
  --max-model-len 600 --max-concurrency 2 --endpoint chat --slo-ttft-ms 5000 --slo-tpot-ms 500 --no-progress
check "bench serve: prompts cut from a text file (--dataset-path)" "$xyserve" bench serve \
  --url "http://127.0.0.1:$port" --model "$model" --trace poisson --num-prompts 3 --input-len 40 \
  --output-len 4 --dataset-path "$work/corpus.txt" --slo-ttft-ms 5000 --slo-tpot-ms 500 --no-progress \
  --json-out "$work/bs-text.json"
check "bench serve: text prompts have the exact length" python3 -c "
import json; s = json.load(open('$work/bs-text.json'))['summary']
assert s['failed'] == 0 and s['completed'] == 3 and s['input_tokens'] == 3 * 40, s"
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
expect_error "bench serve: missing --dataset-path file is named" "nope.txt" bench serve \
  --url "http://127.0.0.1:1" --model "$model" --trace poisson --num-prompts 1 --input-len 8 \
  --output-len 2 --dataset-path "$work/nope.txt" --slo-ttft-ms 1 --slo-tpot-ms 1 --no-progress
expect_error "bench serve: no server is an error" "no request succeeded" bench serve \
  --url "http://127.0.0.1:$port" --model "$model" --trace poisson --num-prompts 2 --input-len 8 \
  --output-len 2 --slo-ttft-ms 1 --slo-tpot-ms 1 --no-progress
expect_error "bench serve: unknown trace is named" "unknown trace 'burst'" bench serve \
  --url "http://127.0.0.1:1" --model "$model" --trace burst --slo-ttft-ms 1 --slo-tpot-ms 1

echo "cli-smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
