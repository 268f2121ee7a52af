// Reading a live xyserve's Prometheus /metrics from Node tests (no dependencies, so every Node
// suite can import it whatever it installs). The server defaults to XYSERVE_URL.
const URL_BASE = process.env.XYSERVE_URL ?? 'http://127.0.0.1:8000';

// Prometheus text -> Map of "name{labels}" -> number (labels as printed by the server).
export async function metrics(base = URL_BASE) {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

// The first sample of a metric family (any labels), e.g. metric(m, 'xyserve:kv_cache_used_blocks').
export function metric(m, name, labelSubstring = '') {
  for (const [k, v] of m) {
    if ((k === name || k.startsWith(name + '{')) && k.includes(labelSubstring)) return v;
  }
  return undefined;
}

// Waits until the server holds no request and no KV block (a leak shows as a timeout).
export async function waitIdle(timeoutMs = 10_000, base = URL_BASE) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    const m = await metrics(base);
    last = {
      used: metric(m, 'xyserve:kv_cache_used_blocks'),
      running: metric(m, 'xyserve:num_requests_running'),
      waiting: metric(m, 'xyserve:num_requests_waiting'),
      inFlight: metric(m, 'xyserve:http_requests_in_flight'),
    };
    if (last.used === 0 && last.running === 0 && last.waiting === 0 && last.inFlight === 0) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not idle after ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

