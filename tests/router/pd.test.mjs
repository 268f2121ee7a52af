// Prefill/decode disaggregation end to end: a router over a prefill instance and decode
// instances (different KV block sizes), the official OpenAI SDK as the client. Greedy output
// through prefill -> KV transfer -> decode must equal one hybrid instance's, streamed or not;
// clients that abort at any point leave no KV block or export behind on either side; the role
// controller moves instances under load without losing a request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { metrics, metric, waitIdle } from '../server/node_common/metrics.mjs';
import { startReplica, startRouter, routerReplicas, until } from './cluster.mjs';

const require = createRequire(new URL('../server/openai_sdk/package.json', import.meta.url));
const OpenAI = require('openai');

let hybrid, prefill, decodeA, decodeB, router;
const sdk = (url) => new OpenAI({ apiKey: 'none', baseURL: `${url}/v1`, maxRetries: 0, timeout: 60_000 });

before(async () => {
  [hybrid, prefill, decodeA, decodeB] = await Promise.all([
    startReplica(),
    startReplica(['--role', 'prefill', '--block-size', '16', '--kv-export-ttl', '1']),
    startReplica(['--role', 'decode', '--block-size', '4']),
    startReplica(['--role', 'decode', '--block-size', '16']),
  ]);
  router = await startRouter([`${prefill.url} prefill`, `${decodeA.url} decode`, `${decodeB.url} decode`]);
});

after(async () => {
  await Promise.all([router, hybrid, prefill, decodeA, decodeB].filter(Boolean).map((p) => p.stop('SIGKILL')));
});

function words(seed, n) {
  let x = 2166136261;
  for (const ch of String(seed)) x = Math.imul(x ^ ch.charCodeAt(0), 16777619) >>> 0;
  const out = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 13), 1103515245) + 12345) >>> 0;
    out.push((x % 100000).toString(36));
  }
  return out.join(' ');
}

async function allIdle() {
  for (const r of [prefill, decodeA, decodeB]) await waitIdle(10_000, r.url);
}

test('greedy output through prefill -> KV transfer -> decode equals one hybrid instance', async () => {
  const before = metric(await metrics(router.url), 'xyserve_router:disaggregated_requests_total');
  let n = 0;
  for (const len of [1, 2, 5, 9, 16, 31, 64, 120, 250]) {
    const prompt = words(`p${len}`, len);
    const req = { model: 'tiny', prompt, max_tokens: 24, temperature: 0, ignore_eos: true };
    const ref = await sdk(hybrid.url).completions.create(req);
    const got = await sdk(router.url).completions.create(req);
    assert.equal(got.choices[0].text, ref.choices[0].text, `prompt of ${len} words`);
    assert.equal(got.usage.completion_tokens, 24);
    assert.equal(got.usage.prompt_tokens, ref.usage.prompt_tokens);
    let streamed = '';
    for await (const c of await sdk(router.url).completions.create({ ...req, stream: true })) streamed += c.choices[0]?.text ?? '';
    assert.equal(streamed, ref.choices[0].text);
    n += 2;
  }
  const chat = { model: 'tiny', messages: [{ role: 'system', content: words('sys', 40) }, { role: 'user', content: 'hello' }], max_tokens: 20, temperature: 0 };
  const ref = await sdk(hybrid.url).chat.completions.create(chat);
  const got = await sdk(router.url).chat.completions.create(chat);
  assert.equal(got.choices[0].message.content, ref.choices[0].message.content);
  assert.equal(got.choices[0].finish_reason, ref.choices[0].finish_reason);
  n += 1;
  const m = await metrics(router.url);
  assert.equal(metric(m, 'xyserve_router:disaggregated_requests_total') - before, n);
  // Both decode instances pulled K/V (different block sizes from the prefill instance's).
  for (const d of [decodeA, decodeB]) {
    assert.ok(metric(await metrics(d.url), 'xyserve:kv_transfers_received_total') >= 1, d.url);
  }
  await allIdle();
});

test('the K/V crosses over UCX by default and over TCP from an instance that asks for it', async () => {
  // Which transport an instance serves K/V with is in its metrics (UCX when built with it).
  const transportOf = async (url) => {
    const m = await metrics(url);
    return ['ucx', 'tcp'].find((t) => metric(m, 'xyserve:kv_transport', `transport="${t}"`) === 1);
  };
  const tcpPrefill = await startReplica(['--role', 'prefill', '--kv-transport', 'tcp']);
  const rt = await startRouter([`${tcpPrefill.url} prefill`, `${decodeA.url} decode`]);
  try {
    assert.equal(await transportOf(tcpPrefill.url), 'tcp');
    assert.ok(['ucx', 'tcp'].includes(await transportOf(prefill.url)));
    for (const len of [3, 40, 180]) {
      const req = { model: 'tiny', prompt: words(`t${len}`, len), max_tokens: 16, temperature: 0, ignore_eos: true };
      const ref = await sdk(hybrid.url).completions.create(req);
      const got = await sdk(rt.url).completions.create(req);
      assert.equal(got.choices[0].text, ref.choices[0].text, `prompt of ${len} words over TCP`);
    }
    assert.equal(metric(await metrics(tcpPrefill.url), 'xyserve:kv_transfers_sent_total'), 3);
  } finally {
    await Promise.all([rt.stop('SIGKILL'), tcpPrefill.stop('SIGKILL')]);
  }
});

test('requests that cannot be split run whole on a decode instance; prefill errors pass through', async () => {
  const r = await sdk(router.url).completions.create({ model: 'tiny', prompt: ['a b', 'c d'], max_tokens: 3, n: 2 });
  assert.equal(r.choices.length, 4);
  const lp = await sdk(router.url).completions.create({ model: 'tiny', prompt: 'x y', max_tokens: 3, logprobs: 1, ignore_eos: true });
  assert.equal(lp.choices[0].logprobs.tokens.length, 3);
  await assert.rejects(sdk(router.url).completions.create({ model: 'tiny', prompt: 'x', max_tokens: 0 }),
    (e) => e.status === 400 && e.error?.param === 'max_tokens');
});

test('clients that abort at any point leave no KV blocks or exports on either side', async () => {
  const client = sdk(router.url);
  const runs = [];
  for (let i = 0; i < 12; i++) {
    runs.push((async () => {
      const ac = new AbortController();
      // Abort before the prefill answers, during the hand-off, or while decoding.
      setTimeout(() => ac.abort(), [0, 2, 5, 10, 25, 60][i % 6]);
      try {
        const stream = await client.completions.create(
          { model: 'tiny', prompt: words(`abort${i}`, 200), max_tokens: 1500, ignore_eos: true, stream: true },
          { signal: ac.signal });
        for await (const _ of stream) { /* until aborted */ }
      } catch (e) {
        assert.ok(e.name === 'APIUserAbortError' || /abort/i.test(String(e.message)), `${e.name}: ${e.message}`);
      }
    })());
  }
  await Promise.all(runs);
  await allIdle();
  // Exports nobody pulled expire (--kv-export-ttl 1 on the prefill instance).
  await until(async () => metric(await metrics(prefill.url), 'xyserve:kv_export_pending') === 0, 5_000,
    'exports to be pulled or expire');
});

test('the role controller moves instances as the load shifts, losing no request', async () => {
  // Plain URLs: the router takes each instance's role from what it reports (serve --role).
  const rc = await startRouter([prefill.url, decodeA.url, decodeB.url],
    ['--pd-rebalance-interval', '0.1', '--pd-switch-cooldown', '0.3', '--pd-switch-ratio', '2', '--pd-decode-weight', '4']);
  try {
    await until(async () => (await routerReplicas(rc.url)).map((r) => r.role).sort().join() === 'decode,decode,prefill',
      5_000, 'the instances\' reported roles');
    // Sized for the sanitizer build too (several times slower than Release).
    const client = new OpenAI({ apiKey: 'none', baseURL: `${rc.url}/v1`, maxRetries: 0, timeout: 240_000 });
    // Prefill-heavy: long prompts, two tokens each.
    const prefillHeavy = Array.from({ length: 16 }, (_, i) =>
      client.completions.create({ model: 'tiny', prompt: words(`heavy${i}`, 300), max_tokens: 2, ignore_eos: true }));
    for (const r of await Promise.all(prefillHeavy)) assert.equal(r.usage.completion_tokens, 2);
    const m1 = await metrics(rc.url);
    assert.ok(metric(m1, 'xyserve_router:role_switches_total', 'to="prefill"') >= 1, 'a decode instance became a prefill instance');
    const roles = (await routerReplicas(rc.url)).map((r) => r.role);
    assert.equal(roles.filter((r) => r === 'prefill').length, 2);
    // Decode-heavy: short prompts, long outputs, many at once, in waves until the controller has
    // acted: one wave can end (Release build, tiny model) inside the switch cooldown after the
    // first switch, and an idle router has no load to rebalance.
    let m2;
    for (let wave = 0; wave < 20; ++wave) {
      const decodeHeavy = Array.from({ length: 16 }, (_, i) =>
        client.completions.create({ model: 'tiny', prompt: `short ${wave} ${i}`, max_tokens: 300, ignore_eos: true }));
      for (const r of await Promise.all(decodeHeavy)) assert.equal(r.usage.completion_tokens, 300);
      m2 = await metrics(rc.url);
      if (metric(m2, 'xyserve_router:role_switches_total', 'to="decode"') >= 1) break;
    }
    assert.ok(metric(m2, 'xyserve_router:role_switches_total', 'to="decode"') >= 1, 'a prefill instance went back to decode');
    assert.equal(metric(m2, 'xyserve_router:router_errors_total') ?? 0, 0);
  } finally {
    await rc.stop();
  }
  await allIdle();
});
