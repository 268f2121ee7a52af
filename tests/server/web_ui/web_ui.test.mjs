// The web page of `xyserve serve` in a real browser (Debian's headless chromium, puppeteer-core):
// the API-key prompt, a streamed chat reply, Stop (the server aborts the request and frees its KV
// blocks), conversations surviving a reload, the dashboard moving under a `bench serve` load, the
// phone layout, and the static routes' 404s. Run by tests/server/run_web_ui_suite.sh, which
// starts the server (shipped model, --api-key) and sets the environment below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { metrics, metric, waitIdle } from '../node_common/metrics.mjs';

const URL_BASE = process.env.XYSERVE_URL ?? 'http://127.0.0.1:8000';
const API_KEY = process.env.XYSERVE_API_KEY ?? 'web-key';
const XYSERVE = process.env.XYSERVE_BIN;
const MODEL_DIR = process.env.XYSERVE_MODEL_DIR;
const SHOTS = process.env.XY_SCREENSHOT_DIR ?? '/tmp';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SLOW_BUILD = process.env.XY_SLOW_BUILD === '1';  // a sanitizer build of the server

let browser;
let page;
const pageErrors = [];

before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (msg) => {
    // Chrome logs every non-2xx fetch ("Failed to load resource"); the 401s are expected here.
    if (msg.type() === 'error' && !msg.text().includes('Failed to load resource')) {
      pageErrors.push(`console: ${msg.text()}`);
    }
  });
});

after(async () => {
  if (browser) await browser.close();
});

// One raw HTTP/1.1 exchange, so paths reach the server exactly as written (fetch would
// normalise "..").
function rawGet(target, method = 'GET') {
  const { hostname, port } = new URL(URL_BASE);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      }));
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
    sock.on('error', reject);
    sock.write(`${method} ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
}

async function abortCount() {
  return metric(await metrics(), 'xyserve:request_success_total', 'finished_reason="abort"') ?? 0;
}

async function waitForApp() {
  await page.waitForFunction(() => window.__xy && window.__xy.ready === true, { timeout: 20_000 });
}

async function visible(selector) {
  return page.$eval(selector, (el) => !el.hidden && el.offsetParent !== null).catch(() => false);
}

async function setField(selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

// Records every text length the last assistant reply shows while it streams.
async function watchReply() {
  await page.evaluate(() => {
    window.__seen = [];
    const box = document.querySelector('#messages');
    window.__obs?.disconnect();
    window.__obs = new MutationObserver(() => {
      const msgs = box.querySelectorAll('.msg.assistant');
      const last = msgs[msgs.length - 1];
      if (!last || last.dataset.state !== 'streaming') return;
      const n = (last.querySelector('.msg-body')?.textContent ?? '').length;
      if (window.__seen[window.__seen.length - 1] !== n) window.__seen.push(n);
    });
    window.__obs.observe(box, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

async function sendMessage(text) {
  await page.focus('#chat-input');
  await setField('#chat-input', text);
  await page.keyboard.press('Enter');
}

function lastReply(selector = '') {
  return page.evaluate((sel) => {
    const msgs = document.querySelectorAll('#messages .msg.assistant');
    const last = msgs[msgs.length - 1];
    if (!last) return null;
    return {
      state: last.dataset.state,
      body: last.querySelector('.msg-body')?.textContent ?? '',
      stats: last.querySelector('.msg-stats')?.textContent ?? '',
      extra: sel ? (last.querySelector(sel)?.textContent ?? null) : null,
    };
  }, selector);
}

test('static routes: the page and its assets, and 404 for traversal and unknown files', async () => {
  const index = await rawGet('/');
  assert.equal(index.status, 200);
  assert.match(index.headers['content-type'], /^text\/html/);
  assert.match(index.headers['content-security-policy'], /default-src 'self'/);
  assert.match(index.body, /<html/i);
  const js = await rawGet('/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers['content-type'], /^text\/javascript/);
  const head = await rawGet('/assets/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  for (const p of ['/assets/../../../etc/passwd', '/assets/..%2f..%2fetc%2fpasswd',
    '/assets/%2e%2e/CMakeLists.txt', '/assets/nope.js', '/assets/', '/assets//app.js',
    '/../../etc/passwd', '/index.htm']) {
    const r = await rawGet(p);
    assert.equal(r.status, 404, `${p} -> ${r.status}`);
    assert.match(r.body, /"error"/, p);
  }
  assert.equal((await rawGet('/', 'POST')).status, 405);
});

test('the page asks for the API key, rejects a wrong one and works with the right one', async () => {
  const refused = page.waitForResponse((r) => r.url().endsWith('/v1/models') && r.status() === 401);
  await page.goto(`${URL_BASE}/`, { waitUntil: 'domcontentloaded' });
  await waitForApp();
  await refused;
  await page.waitForFunction(() => {
    const e = document.querySelector('#auth-error');
    return e && !e.hidden && e.offsetParent !== null;
  });
  assert.match(await page.$eval('#auth-error', (e) => e.textContent), /API key/i);

  const wrong = page.waitForResponse((r) => r.url().endsWith('/v1/models') && r.status() === 401);
  await setField('#auth-key-input', 'not-the-key');
  await page.click('#auth-key-save');
  await wrong;
  assert.ok(await visible('#auth-error'), 'a wrong key keeps the message up');

  const accepted = page.waitForResponse((r) => r.url().endsWith('/v1/models') && r.status() === 200);
  await setField('#auth-key-input', API_KEY);
  await page.click('#auth-key-save');
  await accepted;
  await page.waitForFunction(() => document.querySelector('#auth-error')?.hidden !== false ||
    document.querySelector('#auth-error').offsetParent === null);
  await page.waitForFunction(() => document.querySelector('#model-name')?.textContent.includes('xy-target'));
  assert.match(await page.$eval('#model-ctx', (e) => e.textContent), /2[,.\s]?048|2k/i);
});

test('a chat message gets a streamed reply with token counts and speed', async () => {
  await page.click('#new-chat-btn');
  await setField('#set-system-prompt', 'You are a storyteller.');
  await setField('#set-temperature', '0.8');
  await setField('#set-max-tokens', '48');
  await sendMessage('In the beginning');
  await page.waitForFunction(() => {
    const m = document.querySelectorAll('#messages .msg.assistant');
    return m.length && ['done', 'error'].includes(m[m.length - 1].dataset.state);
  }, { timeout: 30_000 });
  const reply = await lastReply();
  assert.equal(reply.state, 'done', JSON.stringify(reply));
  assert.ok(reply.body.trim().length > 0, 'the reply has text');
  assert.match(reply.stats, /tok\/s/);
  assert.match(reply.stats, /\d/);
  const user = await page.$$eval('#messages .msg.user', (m) => m.map((e) => e.textContent));
  assert.ok(user.some((t) => t.includes('In the beginning')));
  await page.screenshot({ path: path.join(SHOTS, 'web-chat.png') });
});

test('Stop ends a reply mid-stream: tokens arrived one by one, the server aborts and frees KV', async () => {
  const abortsBefore = await abortCount();
  // A long reply the shipped model cannot end early (ignore_eos through the extra-parameters
  // field), so Stop surely lands mid-stream.
  await setField('#set-max-tokens', '1900');
  await setField('#set-extra-json', '{"ignore_eos": true}');
  await watchReply();
  await sendMessage('Tell me a very long story about the sea.');
  await page.waitForFunction(() => {
    const m = document.querySelectorAll('#messages .msg.assistant');
    const last = m[m.length - 1];
    return last && last.dataset.state === 'streaming' &&
      (last.querySelector('.msg-body')?.textContent ?? '').length > 40;
  }, { timeout: 30_000, polling: 'mutation' });
  assert.ok(await visible('#stop-btn'), 'Stop is offered while streaming');
  await page.click('#stop-btn');
  await page.waitForFunction(() => {
    const m = document.querySelectorAll('#messages .msg.assistant');
    return m[m.length - 1].dataset.state !== 'streaming';
  }, { timeout: 10_000 });
  const reply = await lastReply();
  assert.equal(reply.state, 'stopped', JSON.stringify(reply.state));
  assert.ok(reply.body.length > 40, 'the text received before Stop is kept');
  const seen = await page.evaluate(() => window.__seen);
  assert.ok(seen.length >= 3, `the reply grew in steps while streaming: ${JSON.stringify(seen)}`);
  for (let i = 1; i < seen.length; ++i) assert.ok(seen[i] > seen[i - 1], 'it only grows');

  // The server saw the disconnect: one more aborted request, nothing running, KV blocks freed.
  const deadline = Date.now() + 10_000;
  while ((await abortCount()) < abortsBefore + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await abortCount(), abortsBefore + 1);
  const idle = await waitIdle(10_000);
  assert.equal(idle.used, 0);
  await setField('#set-extra-json', '');
  await setField('#set-max-tokens', '64');
});

test('conversations survive a reload', async () => {
  const before = await page.evaluate(() => ({
    ids: [...document.querySelectorAll('#conversation-list .conv-item')].map((e) => e.dataset.id),
    active: document.querySelector('#conversation-list .conv-item.active')?.dataset.id,
    messages: [...document.querySelectorAll('#messages .msg')].map((e) => e.textContent.slice(0, 30)),
  }));
  assert.ok(before.active, 'a conversation is open');
  assert.ok(before.messages.length >= 4, JSON.stringify(before.messages));
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitForApp();
  await page.waitForFunction((n) => document.querySelectorAll('#messages .msg').length >= n, {}, before.messages.length);
  const afterReload = await page.evaluate(() => ({
    ids: [...document.querySelectorAll('#conversation-list .conv-item')].map((e) => e.dataset.id),
    active: document.querySelector('#conversation-list .conv-item.active')?.dataset.id,
    messages: [...document.querySelectorAll('#messages .msg')].map((e) => e.textContent.slice(0, 30)),
  }));
  assert.deepEqual(afterReload.ids, before.ids);
  assert.equal(afterReload.active, before.active);
  assert.deepEqual(afterReload.messages, before.messages);
  const stopped = await page.$$eval('#messages .msg.assistant', (m) => m.map((e) => e.dataset.state));
  assert.ok(stopped.includes('stopped'), 'the stopped reply is kept as stopped');
});

test('the dashboard shows the load of a running bench serve', { skip: !XYSERVE && 'XYSERVE_BIN unset' }, async () => {
  await page.click('#tab-dashboard');
  await page.waitForFunction(() => !document.querySelector('#view-dashboard').hidden &&
    document.querySelector('#view-chat').hidden);
  assert.match(page.url(), /#dashboard$/);
  await page.waitForFunction(() => window.__xy.lastStats !== undefined, { timeout: 10_000 });
  const steps0 = await page.evaluate(() => window.__xy.lastStats.totals.steps);

  // A sanitizer build serves a few tokens a second: give it a load it can show within a minute.
  // The load outlasts every wait below (it is killed at the end): with a load that ends after a
  // few seconds, a fast machine could drain the queue between two of the page's once-a-second
  // polls and the page would never be seen busy.
  const load = SLOW_BUILD
    ? ['--rate', '4', '--num-prompts', '16', '--input-len', '32', '--output-len', '48']
    : ['--rate', '12', '--num-prompts', '1200', '--input-len', '160', '--output-len', '96'];
  const bench = spawn(XYSERVE, ['bench', 'serve', '--url', URL_BASE, '--model', 'xy-target',
    '--tokenizer', MODEL_DIR, '--api-key', API_KEY, '--trace', 'poisson', ...load,
    '--slo-ttft-ms', '2000', '--slo-tpot-ms', '100'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let benchOut = '';
  bench.stdout.on('data', (d) => { benchOut += d; });
  bench.stderr.on('data', (d) => { benchOut += d; });
  const benchDone = new Promise((resolve) => bench.on('exit', resolve));
  try {
    // Numbers move: steps and output tokens/s rise, the step-mix chart fills, latencies appear.
    // "Busy" is remembered across polls: one snapshot need not show steps, tok/s and a queue at
    // the same instant.
    await page.waitForFunction((s0) => {
      const st = window.__xy.lastStats;
      if (!st) return false;
      if (st.requests.running + st.requests.waiting > 0) window.__sawBusy = true;
      return window.__sawBusy === true && st.totals.steps > s0 + 5 &&
        st.throughput.output_tokens_per_s > 0;
    }, { timeout: 60_000, polling: 250 }, steps0).catch(async (e) => {
      const st = await page.evaluate(() => JSON.stringify(window.__xy.lastStats));
      throw new Error(`${e.message}\nlast stats: ${st}\nbench serve output: ${benchOut.slice(-2000)}`);
    });
    // The tile moves on while the load runs (a poll a second; a sanitizer build is slow).
    const a = await page.$eval('#dash-steps', (e) => e.textContent);
    await page.waitForFunction((before) => document.querySelector('#dash-steps').textContent !== before,
      { timeout: 30_000, polling: 250 }, a);
    const tps = await page.$eval('#dash-out-tps', (e) => e.textContent);
    assert.match(tps, /[1-9]/, `output tok/s shows the load: ${tps}`);
    assert.match(await page.$eval('#dash-status', (e) => e.textContent), /live/i);
    const bars = await page.$$eval('#chart-step-mix rect', (r) => r.length);
    assert.ok(bars >= 5, `step-mix chart has bars: ${bars}`);
    await page.waitForFunction(() => /\d/.test(document.querySelector('#dash-ttft-p50').textContent),
      { timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'web-dashboard.png') });
  } finally {
    // The load only has to run while the dashboard is watched; on a slow (sanitizer) build it
    // would take minutes to finish, so stop it here.
    bench.kill('SIGKILL');
    await benchDone;
  }
  assert.doesNotMatch(benchOut, /no request succeeded/, benchOut.slice(-2000));
});

test('the page is readable on a phone: no horizontal scroll, conversations in a drawer', async () => {
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
  await page.goto(`${URL_BASE}/#chat`, { waitUntil: 'domcontentloaded' });
  await waitForApp();
  await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length > 0);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page width ${width} fits a 390 px screen`);
  assert.ok(await visible('#chat-input'));
  await page.screenshot({ path: path.join(SHOTS, 'web-chat-phone.png') });
  await page.goto(`${URL_BASE}/#dashboard`, { waitUntil: 'domcontentloaded' });
  await waitForApp();
  const dashWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(dashWidth <= 390, `dashboard width ${dashWidth} fits a 390 px screen`);
  await page.screenshot({ path: path.join(SHOTS, 'web-dashboard-phone.png') });
});

test('no script errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
