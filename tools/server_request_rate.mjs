// Small-request rate through xyserve serve (docs/performance.md, "Server"): N completions of
// max_tokens T, C in flight over keep-alive connections. Usage: node tools/server_request_rate.mjs
// http://127.0.0.1:8000 2000 64 4 [stream]
import http from 'node:http';
const [url, N, C, T, stream] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], process.argv[6] === 'stream'];
const agent = new http.Agent({ keepAlive: true, maxSockets: C });
const u = new URL(url);
let next = 0, done = 0, failed = 0;
function one() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: 'tiny', prompt: `request ${next}`, max_tokens: T, ignore_eos: true, stream });
    const req = http.request({ host: u.hostname, port: u.port, path: '/v1/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) done++; else failed++; resolve(); });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}
async function worker() { while (next < N) { next++; await one(); } }
const t0 = performance.now();
await Promise.all(Array.from({ length: C }, worker));
const s = (performance.now() - t0) / 1000;
console.log(`${done} ok, ${failed} failed in ${s.toFixed(2)} s: ${(done / s).toFixed(0)} req/s, ${(done * T / s).toFixed(0)} tok/s`);
agent.destroy();
