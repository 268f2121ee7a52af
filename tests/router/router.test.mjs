// `xyserve router` end to end: three replicas of a tiny model behind routers on loopback, used
// through the official OpenAI SDK. Covers pass-through (JSON, SSE, errors), abort propagation,
// prefix affinity measured from the replicas' own prefix-cache counters, a replica killed
// mid-run (no client hangs, eviction, re-admission) and replica-file reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { metrics, metric, waitIdle } from '../server/node_common/metrics.mjs';
import { WORK, startReplica, startRouter, routerReplicas, until } from './cluster.mjs';

const require = createRequire(new URL('../server/openai_sdk/package.json', import.meta.url));
const OpenAI = require('openai');

const ROUTER_KEY = 'router-key';
let replicas = [];
let router;

const sdk = (url, key = ROUTER_KEY) =>
  new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0, timeout: 60_000 });

before(async () => {
  replicas = await Promise.all([startReplica(), startReplica(), startReplica()]);
  router = await startRouter(replicas.map((r) => r.url), ['--api-key', ROUTER_KEY]);
});

after(async () => {
  await Promise.all([router, ...replicas].filter(Boolean).map((p) => p.stop('SIGKILL')));
});

async function allIdle() {
  for (const r of replicas) await waitIdle(10_000, r.url);
}

test('completions and chat pass through unchanged, streamed and not', async () => {
  const viaRouter = sdk(router.url);
  const direct = sdk(replicas[0].url, 'unused');
  const req = { model: 'tiny', prompt: 'The router forwards', max_tokens: 12, temperature: 0, ignore_eos: true };
  const a = await viaRouter.completions.create(req);
  const b = await direct.completions.create(req);
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.equal(a.usage.completion_tokens, 12);

  const chat = { model: 'tiny', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 10, temperature: 0 };
  const whole = await viaRouter.chat.completions.create(chat);
  let streamed = '';
  let finish = null;
  let chunks = 0;
  for await (const c of await viaRouter.chat.completions.create({ ...chat, stream: true })) {
    chunks++;
    streamed += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.ok(chunks >= 2);
  assert.equal(streamed, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);

  const models = await viaRouter.models.list();
  assert.equal(models.data[0].id, 'tiny');
});

test('errors: the router key, the replicas\' own 400s, unknown routes, bad JSON', async () => {
  await assert.rejects(sdk(router.url, 'wrong').completions.create({ model: 'tiny', prompt: 'x', max_tokens: 2 }),
    (e) => e.status === 401 && e.error?.code === 'invalid_api_key');
  await assert.rejects(sdk(router.url).completions.create({ model: 'tiny', prompt: 'x', max_tokens: -3 }),
    (e) => e.status === 400 && e.error?.param === 'max_tokens');
  await assert.rejects(sdk(router.url).completions.create({ model: 'nope', prompt: 'x', max_tokens: 2 }),
    (e) => e.status === 400 && e.error?.code === 'model_not_found');
  const notFound = await fetch(`${router.url}/v2/whatever`);
  assert.equal(notFound.status, 404);
  assert.equal((await notFound.json()).error.code, 'not_found');
  const badJson = await fetch(`${router.url}/v1/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${ROUTER_KEY}`, 'content-type': 'application/json' }, body: '{oops',
  });
  assert.equal(badJson.status, 400);
  assert.equal((await badJson.json()).error.type, 'invalid_request_error');
  const wrongMethod = await fetch(`${router.url}/v1/completions`, { headers: { authorization: `Bearer ${ROUTER_KEY}` } });
  assert.equal(wrongMethod.status, 405);
});

test('a client that aborts mid-stream frees the replica\'s request and KV blocks', async () => {
  const ac = new AbortController();
  const stream = await sdk(router.url).completions.create(
    { model: 'tiny', prompt: 'abort me', max_tokens: 3000, ignore_eos: true, stream: true }, { signal: ac.signal });
  let n = 0;
  try {
    for await (const _ of stream) { if (++n === 3) ac.abort(); }
  } catch (e) {
    assert.equal(e.name, 'APIUserAbortError');
  }
  assert.ok(n >= 3 && n < 3000);
  // Some replica had it; none keeps it.
  await allIdle();
  const table = await routerReplicas(router.url);
  assert.ok(table.every((r) => r.in_flight === 0), JSON.stringify(table));
});

// Conversations with long distinct system prompts, turns interleaved across conversations: each
// turn re-sends the whole history, so a replica that served the previous turn has its prefix.
// Deterministic pseudo-random words for a seed string.
function words(seed, n) {
  let x = 2166136261;
  for (const ch of seed) x = Math.imul(x ^ ch.charCodeAt(0), 16777619) >>> 0;
  const out = [];
  for (let i = 0; i < n; i++) {
    x = Math.imul(x ^ (x >>> 13), 1103515245) + 12345 >>> 0;
    out.push((x % 100000).toString(36));
  }
  return out.join(' ');
}

// 5 conversations, not a multiple of the replica count: round robin must not line turns up.
async function runConversations(url, seed, conversations = 5, turns = 4) {
  const client = sdk(url);
  const histories = [];
  for (let c = 0; c < conversations; c++) {
    // Distinct from the first byte on, so only a conversation's own turns share its prefix.
    const system = words(`${seed}${c}`, 60);
    histories.push([{ role: 'system', content: system }]);
  }
  for (let t = 0; t < turns; t++) {
    await Promise.all(histories.map(async (h, c) => {
      h.push({ role: 'user', content: `question ${t} of conversation ${c}` });
      const r = await client.chat.completions.create({ model: 'tiny', messages: h, max_tokens: 4, temperature: 0 });
      h.push({ role: 'assistant', content: r.choices[0].message.content });
    }));
  }
}

async function replicaPrefixCounters() {
  let q = 0, h = 0;
  for (const r of replicas) {
    const m = await metrics(r.url);
    q += metric(m, 'xyserve:prefix_cache_queries_total');
    h += metric(m, 'xyserve:prefix_cache_hits_total');
  }
  return { q, h };
}

test('prefix affinity gets a higher prefix-cache hit rate on the replicas than round robin', async () => {
  const roundRobin = await startRouter(replicas.map((r) => r.url), ['--policy', 'round_robin']);
  try {
    const rate = async (url, seed) => {
      const before = await replicaPrefixCounters();
      await runConversations(url, seed);
      const after = await replicaPrefixCounters();
      return (after.h - before.h) / (after.q - before.q);
    };
    const affinityRouter = await startRouter(replicas.map((r) => r.url), ['--policy', 'prefix_affinity']);
    let affinity;
    try {
      affinity = await rate(affinityRouter.url, 'A');
    } finally {
      await affinityRouter.stop();
    }
    const rr = await rate(roundRobin.url, 'B');
    console.log(`replica prefix-cache hit rate: prefix_affinity ${affinity.toFixed(3)}, round_robin ${rr.toFixed(3)}`);
    assert.ok(affinity > rr + 0.1, `affinity ${affinity} vs round robin ${rr}`);
    const rm = await metrics(roundRobin.url);
    assert.equal(metric(rm, 'xyserve_router:prefix_affinity_hits_total'), 0);
  } finally {
    await roundRobin.stop();
  }
});

test('a replica killed mid-run: every client gets an answer or an error, the replica is evicted and re-admitted', async () => {
  const victim = replicas[2];
  const client = sdk(router.url);
  const runs = [];
  for (let i = 0; i < 9; i++) {
    // Settled as they end (a rejection is a result here, not an unhandled error).
    runs.push((async () => {
      let text = '';
      const stream = await client.completions.create(
        { model: 'tiny', prompt: words(`load${i}`, 8), max_tokens: 2000, ignore_eos: true, stream: true });
      for await (const c of stream) text += c.choices[0]?.text ?? '';
      return text;
    })().then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason })));
  }
  await until(async () => (await routerReplicas(router.url)).find((r) => r.url === victim.url)?.in_flight > 0,
    10_000, 'a request on the victim');
  const port = victim.port;
  await victim.stop('SIGKILL');
  const outcomes = await Promise.all(runs);  // node:test's timeout catches a hang
  const failed = outcomes.filter((o) => o.status === 'rejected');
  const ok = outcomes.filter((o) => o.status === 'fulfilled');
  assert.ok(failed.length >= 1, 'the victim\'s streams end with an error');
  assert.ok(ok.length >= 1);
  for (const f of failed) assert.match(String(f.reason?.message ?? f.reason), /replica failed mid-stream/);
  await until(async () => !(await routerReplicas(router.url)).find((r) => r.url === victim.url).healthy,
    5_000, 'eviction');
  // New requests avoid it (no errors while it is down).
  for (let i = 0; i < 4; i++) {
    const r = await client.completions.create({ model: 'tiny', prompt: `after ${i}`, max_tokens: 3 });
    assert.equal(r.choices.length, 1);
  }
  replicas[2] = await startReplica([], port);
  await until(async () => (await routerReplicas(router.url)).find((r) => r.url === victim.url).healthy,
    10_000, 're-admission');
  const m = await metrics(router.url);
  assert.ok(metric(m, 'xyserve_router:replica_evictions_total') >= 1);
  assert.ok(metric(m, 'xyserve_router:replica_readmissions_total') >= 1);
  await allIdle();
});

test('a replica that fails before any output is retried on another one', async () => {
  // A replica that passed its health check and then died: the router learns it from requests.
  const doomed = await startReplica();
  const r2 = await startRouter([doomed.url, replicas[0].url], ['--policy', 'round_robin', '--health-interval', '30']);
  try {
    await doomed.stop('SIGKILL');
    for (let i = 0; i < 4; i++) {
      const r = await sdk(r2.url).completions.create({ model: 'tiny', prompt: `retry ${i}`, max_tokens: 2 });
      assert.equal(r.choices.length, 1);
    }
    const m = await metrics(r2.url);
    assert.ok(metric(m, 'xyserve_router:retries_total') >= 1);
    const table = await routerReplicas(r2.url);
    assert.equal(table.find((r) => r.url === doomed.url).healthy, false);
  } finally {
    await r2.stop();
  }
});

test('the replica file is re-read when it changes', async () => {
  const file = path.join(WORK, 'replicas.txt');
  fs.writeFileSync(file, `# one replica\n${replicas[0].url}\n`);
  const r2 = await startRouter([], ['--replica-file', file]);
  try {
    assert.deepEqual((await routerReplicas(r2.url)).map((r) => r.url), [replicas[0].url]);
    await new Promise((r) => setTimeout(r, 1100));  // a different modification time
    fs.writeFileSync(file, `${replicas[0].url}\n${replicas[1].url} decode\n`);
    await until(async () => (await routerReplicas(r2.url)).length === 2, 5_000, 'reload');
    const table = await routerReplicas(r2.url);
    assert.equal(table[1].role, 'decode');
    // A broken file keeps the last good list.
    await new Promise((r) => setTimeout(r, 1100));
    fs.writeFileSync(file, `${replicas[0].url} sideways\n`);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await routerReplicas(r2.url)).length, 2);
  } finally {
    await r2.stop();
  }
});
