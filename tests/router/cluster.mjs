// Starting and stopping xyserve processes (replicas, routers) on loopback for the router's Node
// suites. Every process gets --port 0 unless a port is given; its port is read from the log line
// "listening on http://127.0.0.1:PORT". Processes still alive at exit are killed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const XYSERVE = process.env.XYSERVE_BIN;
export const MODEL_DIR = process.env.XYSERVE_MODEL_DIR;
export const WORK = process.env.XYSERVE_WORK ?? fs.mkdtempSync('/tmp/xyserve-router-');

const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch {} } });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
// Starts `xyserve <args>`; resolves to {proc, port, url, log, stop()} once it listens.
export async function startProcess(args, name) {
  const log = path.join(WORK, `${name ?? 'proc'}-${++counter}.log`);
  const out = fs.openSync(log, 'w');
  const proc = spawn(XYSERVE, args, { stdio: ['ignore', out, out] });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(log, 'utf8');
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (m) {
      const port = Number(m[1]);
      const url = `http://127.0.0.1:${port}`;
      return {
        proc, port, url, log,
        async stop(signal = 'SIGTERM') {
          if (proc.exitCode !== null) return;
          const done = new Promise((r) => proc.once('exit', r));
          proc.kill(signal);
          await done;
        },
      };
    }
    if (proc.exitCode !== null) throw new Error(`xyserve ${args.join(' ')} exited:\n${text}`);
    await sleep(50);
  }
  throw new Error(`xyserve ${args.join(' ')} did not start; log:\n${fs.readFileSync(log, 'utf8')}`);
}

export async function waitHealthy(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`${url} never became healthy`);
}

export const replicaFlags = (extra = []) => [
  'serve', '--model', MODEL_DIR, '--served-model-name', 'tiny', '--threads', '1',
  '--kv-cache-memory', '64MiB', '--max-num-batched-tokens', '256', '--enable-prefix-caching',
  '--shutdown-timeout', '2', ...extra,
];

export async function startReplica(extra = [], port = 0) {
  const r = await startProcess([...replicaFlags(extra), '--port', String(port)], 'replica');
  await waitHealthy(r.url);
  return r;
}

export async function startRouter(replicaUrls, extra = []) {
  const args = ['router', '--port', '0', '--health-timeout', '1'];
  if (!extra.includes('--health-interval')) args.push('--health-interval', '0.2');
  for (const u of replicaUrls) args.push('--replica', u);
  const r = await startProcess([...args, ...extra], 'router');
  await waitHealthy(r.url);
  return r;
}

export async function routerReplicas(routerUrl) {
  return (await (await fetch(`${routerUrl}/router/replicas`)).json()).replicas;
}

export async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
