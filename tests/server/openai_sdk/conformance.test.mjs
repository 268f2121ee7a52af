// Conformance of `xyserve serve` with the official OpenAI Node SDK: every call below is a
// plain SDK call, so the SDK's own parsing, streaming and error mapping are what is tested.
// The server runs with --api-key test-key --max-queued-requests 6 --max-num-seqs 4
// --max-request-bytes 1048576 (see run_node_suite.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { client, metrics, metric, waitIdle, rawPost, MODEL, URL_BASE } from './helpers.mjs';

const ai = client();

test('GET /v1/models lists the served model', async () => {
  const list = await ai.models.list();
  const ids = [];
  for await (const m of list) ids.push(m.id);
  assert.deepEqual(ids, [MODEL]);
  const m = await ai.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
  assert.equal(m.object, 'model');
  assert.equal(m.format, 'safetensors bf16');  // how the weights are stored (make-model: bf16)
  const missing = await ai.models.retrieve('other').catch((e) => e);
  assert.ok(missing instanceof OpenAI.NotFoundError);
});

test('completions: text, usage, finish_reason length', async () => {
  const r = await ai.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 12,
                                          temperature: 0, ignore_eos: true });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 12);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 12);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
});

test('chat: assistant message, usage, max_completion_tokens', async () => {
  const r = await ai.chat.completions.create({
    model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello!' }],
    max_completion_tokens: 7, temperature: 0, ignore_eos: true });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 7);
});

test('prefix cache: a repeated prompt reports cached_tokens', async () => {
  const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(8);
  await ai.completions.create({ model: MODEL, prompt, max_tokens: 2, temperature: 0 });
  const r = await ai.completions.create({ model: MODEL, prompt, max_tokens: 2, temperature: 0 });
  assert.ok(r.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(r.usage));
  assert.ok(r.usage.prompt_tokens_details.cached_tokens < r.usage.prompt_tokens);
});

test('streaming completions equal the non-streamed text, usage in a final chunk', async () => {
  const params = { model: MODEL, prompt: 'In a hole in the ground', max_tokens: 20, temperature: 0, ignore_eos: true };
  const whole = await ai.completions.create(params);
  const stream = await ai.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) {
      assert.equal(c.choices.length, 0, 'the usage chunk has empty choices');
      usage = c.usage;
      continue;
    }
    assert.equal(c.usage ?? null, null);
    text += c.choices[0].text;
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.ok(chunks >= 2);
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, 'length');
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(usage.total_tokens, whole.usage.total_tokens);
  // The second run of the same prompt hits the prefix cache.
  assert.ok(usage.prompt_tokens_details.cached_tokens > 0);
});

test('streaming chat: role first, content deltas, finish_reason, usage', async () => {
  const params = { model: MODEL, messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 16,
                   temperature: 0, ignore_eos: true };
  const whole = await ai.chat.completions.create(params);
  const stream = await ai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let content = '';
  let role = null;
  let finish = null;
  let usage = null;
  for await (const c of stream) {
    assert.equal(c.object, 'chat.completion.chunk');
    if (c.usage) { usage = c.usage; continue; }
    const d = c.choices[0].delta;
    if (d.role) role = d.role;
    if (d.content) content += d.content;
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(role, 'assistant');
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 16);
  // Without include_usage no usage chunk is sent.
  const plain = await ai.chat.completions.create({ ...params, stream: true });
  for await (const c of plain) assert.ok(!c.usage);
});

test('stop strings end the text before the stop sequence with finish_reason stop', async () => {
  const base = { model: MODEL, prompt: 'Once upon a time there was', max_tokens: 40, temperature: 0, ignore_eos: true };
  const full = (await ai.completions.create(base)).choices[0].text;
  // A stop string from the middle of the greedy continuation.
  const start = Math.floor(full.length / 2);
  const stop = full.slice(start, start + 3);
  assert.ok(stop.length === 3, `continuation too short: ${JSON.stringify(full)}`);
  const expected = full.slice(0, full.indexOf(stop));
  for (const stream of [false, true]) {
    let text = '';
    let finish = null;
    if (stream) {
      for await (const c of await ai.completions.create({ ...base, stop: [stop], stream: true })) {
        text += c.choices[0].text;
        finish = c.choices[0].finish_reason ?? finish;
      }
    } else {
      const r = await ai.completions.create({ ...base, stop });
      text = r.choices[0].text;
      finish = r.choices[0].finish_reason;
    }
    assert.equal(text, expected, `stream=${stream}`);
    assert.equal(finish, 'stop');
  }
});

test('n = 3 gives three indexed choices; a seed reproduces them', async () => {
  const params = { model: MODEL, messages: [{ role: 'user', content: 'Pick a word' }], n: 3, max_tokens: 10,
                   temperature: 1.0, seed: 1234, ignore_eos: true };
  const a = await ai.chat.completions.create(params);
  const b = await ai.chat.completions.create(params);
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
  assert.equal(a.usage.completion_tokens, 30);
  assert.ok(new Set(a.choices.map((c) => c.message.content)).size > 1, 'choices should differ');
  // Streaming n = 3: every index streams and finishes.
  const finished = new Set();
  for await (const c of await ai.completions.create({ model: MODEL, prompt: 'abc', n: 3, max_tokens: 5, stream: true })) {
    for (const ch of c.choices) if (ch.finish_reason) finished.add(ch.index);
  }
  assert.deepEqual([...finished].sort(), [0, 1, 2]);
});

test('seed reproducibility with sampling', async () => {
  const p = { model: MODEL, prompt: 'The weather today', max_tokens: 24, temperature: 0.9, top_p: 0.95,
              top_k: 50, seed: 7, ignore_eos: true };
  const a = await ai.completions.create(p);
  const b = await ai.completions.create(p);
  const c = await ai.completions.create({ ...p, seed: 8 });
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.notEqual(a.choices[0].text, c.choices[0].text);
});

test('logprobs: completions shape', async () => {
  const r = await ai.completions.create({ model: MODEL, prompt: 'Hello', max_tokens: 5, logprobs: 3,
                                          temperature: 0, ignore_eos: true });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.equal(lp.top_logprobs.length, 5);
  assert.equal(lp.text_offset.length, 5);
  assert.equal(lp.tokens.join(''), r.choices[0].text);
  for (let i = 0; i < 5; i++) {
    assert.ok(lp.token_logprobs[i] <= 0);
    const alts = Object.values(lp.top_logprobs[i]);
    assert.ok(alts.length >= 3 && alts.length <= 4);
    // Greedy: the sampled token is the most likely one.
    assert.ok(Math.abs(Math.max(...alts) - lp.token_logprobs[i]) < 1e-5);
  }
});

test('logprobs: chat shape with top_logprobs', async () => {
  const r = await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }],
                                               max_tokens: 4, logprobs: true, top_logprobs: 2, ignore_eos: true });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, 4);
  for (const t of content) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.ok(Array.isArray(t.bytes));
    assert.equal(t.top_logprobs.length, 2);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
  }
  const plain = await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
  assert.equal(plain.choices[0].logprobs, null);
});

test('sampling parameters are accepted', async () => {
  const r = await ai.completions.create({
    model: MODEL, prompt: 'x', max_tokens: 4, temperature: 0.7, top_p: 0.9, top_k: 20, min_p: 0.05,
    presence_penalty: 0.5, frequency_penalty: 0.5, repetition_penalty: 1.1, logit_bias: { '5': -100 },
    user: 'conformance', ignore_eos: true });
  assert.equal(r.usage.completion_tokens, 4);
});

test('errors: the SDK raises the right classes', async () => {
  const expectError = async (promise, cls, status) => {
    const e = await promise.then(() => null, (err) => err);
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e?.constructor?.name}: ${e?.message}`);
    if (status) assert.equal(e.status, status);
    return e;
  };
  // 400: wrong types, out-of-range values, unknown model, prompt longer than the context.
  let e = await expectError(ai.completions.create({ model: MODEL, prompt: 'x', temperature: 'hot' }), OpenAI.BadRequestError, 400);
  assert.equal(e.param, 'temperature');
  assert.equal(e.type, 'invalid_request_error');
  await expectError(ai.completions.create({ model: MODEL, prompt: 'x', max_tokens: -1 }), OpenAI.BadRequestError, 400);
  await expectError(ai.chat.completions.create({ model: MODEL, messages: 'hello' }), OpenAI.BadRequestError, 400);
  await expectError(ai.completions.create({ model: MODEL, prompt: 'x', top_p: 7 }), OpenAI.BadRequestError, 400);
  e = await expectError(ai.completions.create({ model: 'no-such-model', prompt: 'x' }), OpenAI.BadRequestError, 400);
  assert.equal(e.code, 'model_not_found');
  e = await expectError(ai.completions.create({ model: MODEL, prompt: Array(5000).fill(7), max_tokens: 1 }),
                        OpenAI.BadRequestError, 400);
  assert.equal(e.code, 'context_length_exceeded');
  // 401: a wrong key.
  await expectError(client({ apiKey: 'wrong' }).models.list(), OpenAI.AuthenticationError, 401);
  // 404 and 405.
  await expectError(ai.get('/no/such/route'), OpenAI.NotFoundError, 404);
  e = await expectError(ai.get('/completions'), OpenAI.APIError, 405);
  // 413: a body over --max-request-bytes.
  await expectError(ai.completions.create({ model: MODEL, prompt: 'a'.repeat(2 << 20) }), OpenAI.APIError, 413);
  // Invalid JSON and invalid UTF-8 cannot be sent through the SDK: raw requests.
  let raw = await rawPost('/v1/completions', '{"model": "x", "prompt": ');
  assert.equal(raw.status, 400);
  assert.equal(raw.json.error.type, 'invalid_request_error');
  raw = await rawPost('/v1/completions', Buffer.concat([Buffer.from(`{"model":"${MODEL}","prompt":"`),
                                                          Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
  assert.equal(raw.status, 400);
  assert.match(raw.json.error.message, /UTF-8/);
});

test('429 with Retry-After when the waiting queue is full', async () => {
  const prompt = 'word '.repeat(100);
  const calls = Array.from({ length: 16 }, () => ai.completions.create(
    { model: MODEL, prompt, max_tokens: 64, ignore_eos: true }).then((r) => r, (e) => e));
  const results = await Promise.all(calls);
  const limited = results.filter((r) => r instanceof OpenAI.RateLimitError);
  const ok = results.filter((r) => r.object === 'text_completion');
  assert.ok(limited.length > 0, 'some requests must be refused');
  assert.ok(ok.length > 0, 'some requests must be served');
  assert.equal(limited.length + ok.length, results.length);
  assert.equal(limited[0].status, 429);
  assert.ok(Number(limited[0].headers.get('retry-after')) >= 1);
  await waitIdle();
});

test('closing a stream aborts the request and frees its KV blocks', async () => {
  const before = await metrics();
  const aborted0 = metric(before, 'xyserve:request_success_total', 'finished_reason="abort"') ?? 0;
  const stream = await ai.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Count forever' }], max_tokens: 3000, ignore_eos: true, stream: true });
  let n = 0;
  for await (const c of stream) {
    if (c.choices[0]?.delta?.content) n++;
    if (n >= 3) break;  // leaving the loop aborts the HTTP request
  }
  const during = await metrics();
  assert.ok(metric(during, 'xyserve:http_requests_in_flight') <= 1);
  const idle = await waitIdle(5000);
  assert.equal(idle.used, 0);
  const after = await metrics();
  assert.equal(metric(after, 'xyserve:request_success_total', 'finished_reason="abort"'), aborted0 + 1);
});

test('non-streaming request aborted by the client frees its blocks', async () => {
  const controller = new AbortController();
  const p = ai.completions.create({ model: MODEL, prompt: 'abc', max_tokens: 3000, ignore_eos: true },
                                  { signal: controller.signal }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  assert.ok((await p) instanceof OpenAI.APIUserAbortError);
  await waitIdle(5000);
});

test('tokenize / detokenize round trip; health and metrics', async () => {
  const t = await rawPost('/tokenize', JSON.stringify({ model: MODEL, prompt: 'Hello world' }));
  assert.equal(t.status, 200);
  assert.equal(t.json.count, t.json.tokens.length);
  const d = await rawPost('/detokenize', JSON.stringify({ model: MODEL, tokens: t.json.tokens }));
  assert.equal(d.status, 200);
  assert.match(d.json.prompt, /Hello world/);
  const h = await fetch(`${URL_BASE}/health`);
  assert.equal(h.status, 200);
  const m = await metrics();
  for (const name of ['xyserve:num_requests_running', 'xyserve:num_requests_waiting', 'xyserve:kv_cache_usage_perc',
                      'xyserve:prefix_cache_queries_total', 'xyserve:prefix_cache_hits_total', 'xyserve:num_preemptions_total',
                      'xyserve:prompt_tokens_total', 'xyserve:generation_tokens_total',
                      'xyserve:time_to_first_token_seconds_count', 'xyserve:inter_token_latency_seconds_count',
                      'xyserve:e2e_request_latency_seconds_count', 'xyserve:request_queue_time_seconds_count',
                      'xyserve:step_duration_seconds_count', 'xyserve:step_prefill_tokens_count',
                      'xyserve:step_decode_tokens_count', 'xyserve:step_verify_tokens_count']) {
    assert.ok(metric(m, name) !== undefined, `missing ${name}`);
  }
  assert.ok(metric(m, 'xyserve:generation_tokens_total') > 0);
  assert.ok(metric(m, 'xyserve:prefix_cache_hits_total') > 0);
  assert.ok(metric(m, 'xyserve:step_duration_seconds_count') > 0);
});

test('unset sampling fields take the model defaults of generation_config.json', async () => {
  // make-model writes temperature 0.7, top_p 0.9 (do_sample true), as vLLM applies them.
  const p = { model: MODEL, prompt: 'Defaults', max_tokens: 16, seed: 3, ignore_eos: true };
  const implicit = await ai.completions.create(p);
  const explicit = await ai.completions.create({ ...p, temperature: 0.7, top_p: 0.9 });
  const openaiDefaults = await ai.completions.create({ ...p, temperature: 1.0, top_p: 1.0 });
  assert.equal(implicit.choices[0].text, explicit.choices[0].text);
  assert.notEqual(implicit.choices[0].text, openaiDefaults.choices[0].text);
});
