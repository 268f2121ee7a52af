// Robustness of `xyserve serve` against what real clients do: garbage on raw sockets, huge and
// malformed bodies, connections that never finish their request, hundreds of concurrent streams
// and clients that vanish mid-stream. After each, the server must answer correctly and /metrics
// must show no leaked request or KV block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { URL_BASE, API_KEY, MODEL, rawPost, waitIdle, metrics, metric } from './helpers.mjs';

const { hostname: HOST, port: PORT } = new URL(URL_BASE);

// Sends raw bytes, returns everything the server wrote until it closed (or timeoutMs passed).
function rawExchange(bytes, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(PORT), HOST);
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }, timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {});
    sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
  });
}

function statusOf(response) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}

async function healthyAndServing() {
  const h = await fetch(`${URL_BASE}/health`);
  assert.equal(h.status, 200);
  const r = await rawPost('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'ok', max_tokens: 3, ignore_eos: true }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.completion_tokens, 3);
}

const post = (path, body, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`;

test('malformed JSON bodies get 400 error objects', async () => {
  for (const body of ['{', '{"model": }', 'null', '[1,2,3]', '"just a string"', '{"model":"tiny","prompt":"x",}',
                      '['.repeat(100000), '{"a":'.repeat(50000)]) {
    const res = await rawExchange(post('/v1/completions', body));
    assert.equal(statusOf(res), 400, `${body.slice(0, 30)} -> ${res.slice(0, 200)}`);
    const json = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4));
    assert.equal(json.error.type, 'invalid_request_error');
  }
  await healthyAndServing();
});

test('wrong types get 400 naming the field', async () => {
  const cases = [
    [{ model: MODEL, prompt: 5 }, 'prompt'],
    [{ model: MODEL, prompt: 'x', max_tokens: 'ten' }, 'max_tokens'],
    [{ model: MODEL, prompt: 'x', n: 1.5 }, 'n'],
    [{ model: MODEL, prompt: 'x', stop: [1, 2] }, 'stop[0]'],
    [{ model: MODEL, prompt: 'x', logit_bias: { abc: 1 } }, 'logit_bias'],
    [{ model: MODEL, prompt: 'x', stream: 'yes' }, 'stream'],
    [{ model: MODEL, prompt: [[1, 2], 'x', {}] }, 'prompt[2]'],
    [{ model: 7, prompt: 'x' }, 'model'],
    [{ prompt: 'x' }, 'model'],
    [{ model: MODEL, prompt: [-1] }, 'prompt[0]'],
    [{ model: MODEL, prompt: [1e12] }, 'prompt[0]'],
  ];
  for (const [body, param] of cases) {
    const r = await rawPost('/v1/completions', JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.param, param, JSON.stringify(r.json));
  }
  const chat = [
    [{ model: MODEL, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    [{ model: MODEL, messages: [{ content: 'x' }] }, 'messages[0].role'],
    [{ model: MODEL, messages: [{ role: 'user', content: 3 }] }, 'messages[0].content'],
    [{ model: MODEL, messages: [] }, 'messages'],
    [{ model: MODEL, messages: [{ role: 'user', content: 'x' }], top_logprobs: 3 }, 'top_logprobs'],
  ];
  for (const [body, param] of chat) {
    const r = await rawPost('/v1/chat/completions', JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.param, param, JSON.stringify(r.json));
  }
  await healthyAndServing();
});

test('huge bodies get 413 without being read to the end', async () => {
  // Declared length over the limit: refused from the header alone.
  const big = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 << 20}\r\n\r\n{"a":`;
  let res = await rawExchange(big);
  assert.equal(statusOf(res), 413, res.slice(0, 200));
  // Chunked body that grows past the limit.
  const chunk = 'a'.repeat(256 * 1024);
  let chunked = 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < 8; i++) chunked += `${(chunk.length).toString(16)}\r\n${chunk}\r\n`;
  res = await rawExchange(chunked);
  assert.equal(statusOf(res), 413, res.slice(0, 200));
  await healthyAndServing();
});

test('invalid UTF-8 and garbage HTTP', async () => {
  const bad = Buffer.concat([Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"`),
                             Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}]}')]);
  const head = Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\n` +
                           `Content-Length: ${bad.length}\r\nConnection: close\r\n\r\n`);
  let res = await rawExchange(Buffer.concat([head, bad]));
  assert.equal(statusOf(res), 400);
  assert.match(res, /UTF-8/);
  for (const junk of ['\x00\x01\x02\x03\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'HELLO\r\n\r\n',
                      'GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n', 'A'.repeat(100000) + '\r\n\r\n']) {
    res = await rawExchange(junk, 3000);
    const s = statusOf(res);
    assert.ok(s === 400 || s === 431 || res === '', `junk ${JSON.stringify(junk.slice(0, 20))} -> ${res.slice(0, 80)}`);
  }
  await healthyAndServing();
});

test('half-open connections do not block anyone', async () => {
  const socks = [];
  for (let i = 0; i < 100; i++) {
    const s = net.connect(Number(PORT), HOST);
    s.on('error', () => {});
    // Half a request: the headers never end, or the body never arrives.
    s.on('connect', () => s.write(i % 2 ? 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mo'
                                        : 'GET /health HTTP/1.1\r\nHost: x\r\n'));
    socks.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  await healthyAndServing();
  // A client that sends a request and half-closes its side still gets no hang either.
  const res = await new Promise((resolve) => {
    const s = net.connect(Number(PORT), HOST, () => { s.end('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'); });
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
  assert.ok(res === '' || statusOf(res) === 200);
  for (const s of socks) s.destroy();
  await waitIdle();
});

// Reads one SSE streaming completion over plain http; resolves with the chunks' text.
function streamOnce(body, { abortAfterMs = -1, abortOnFirstData = false } = {}) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: HOST, port: Number(PORT), method: 'POST', path: '/v1/chat/completions', agent: false,
                               headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`,
                                          'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        if (abortOnFirstData) req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', () => resolve({ status: res.statusCode, text, aborted: true }));
    });
    req.on('error', (e) => (abortAfterMs >= 0 || abortOnFirstData ? resolve({ aborted: true }) : reject(e)));
    req.on('close', () => resolve({ aborted: true }));
    if (abortAfterMs >= 0) setTimeout(() => req.destroy(), abortAfterMs);
    req.end(data);
  });
}

test('500 concurrent streams all complete', async () => {
  const body = (i) => ({ model: MODEL, messages: [{ role: 'user', content: `stream number ${i}` }], max_tokens: 8,
                         ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => streamOnce(body(i))));
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.ok(r.text.endsWith('data: [DONE]\n\n'), r.text.slice(-100));
    assert.match(r.text, /"completion_tokens":8/);
  }
  await waitIdle();
});

test('a disconnect storm leaks no request and no KV block', async () => {
  const before = await metrics();
  const body = (i) => ({ model: MODEL, messages: [{ role: 'user', content: `storm ${i} `.repeat(1 + (i % 20)) }],
                         max_tokens: 2000, ignore_eos: true, stream: i % 3 !== 0 });
  // A third vanish once their stream has started (so the engine surely has them), the rest at
  // random moments: before, during and after the request is read.
  const runs = Array.from({ length: 300 }, (_, i) => streamOnce(
    body(i), i % 3 === 1 ? { abortOnFirstData: true } : { abortAfterMs: (i * 7) % 400 }));
  const results = await Promise.all(runs);
  assert.equal(results.length, 300);
  const idle = await waitIdle(15_000);
  assert.equal(idle.used, 0);
  const after = await metrics();
  assert.ok(metric(after, 'xyserve:request_success_total', 'finished_reason="abort"') >
            (metric(before, 'xyserve:request_success_total', 'finished_reason="abort"') ?? 0));
  await healthyAndServing();
});

test('Expect: 100-continue gets "100 Continue" before the client sends the body', async () => {
  const body = JSON.stringify({ model: MODEL, prompt: 'ok', max_tokens: 2, ignore_eos: true });
  const head = post('/v1/completions', '', 'Expect: 100-continue\r\n')
    .replace('Content-Length: 0', `Content-Length: ${Buffer.byteLength(body)}`);
  // The body goes out only after the interim response, as curl does it.
  const res = await new Promise((resolve) => {
    const sock = net.connect(Number(PORT), HOST);
    let text = '';
    let sent = false;
    const timer = setTimeout(() => { sock.destroy(); resolve(text); }, 5000);
    sock.on('connect', () => sock.write(head));
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (!sent && text.includes('\r\n\r\n')) { sent = true; sock.write(body); }
    });
    sock.on('error', () => {});
    sock.on('close', () => { clearTimeout(timer); resolve(text); });
  });
  assert.match(res, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, res.slice(0, 200));
  assert.match(res, /"completion_tokens":2/);
  // A declared length over the limit is refused at once, with no interim response.
  const big = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${64 << 20}\r\n\r\n`;
  const refused = await rawExchange(big);
  assert.equal(statusOf(refused), 413, refused.slice(0, 200));
});

test('pipelined and keep-alive requests on one connection', async () => {
  const one = `GET /health HTTP/1.1\r\nHost: x\r\n\r\n`;
  const res = await rawExchange(one + one + `GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal((res.match(/HTTP\/1\.1 200/g) ?? []).length, 3, res);
});
