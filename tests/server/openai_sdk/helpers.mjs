// Shared helpers of the xyserve Node suites: the server under test comes from the environment
// (XYSERVE_URL, XYSERVE_API_KEY, XYSERVE_MODEL), started by tests/server/run_node_suite.sh.
import OpenAI from 'openai';

export const URL_BASE = process.env.XYSERVE_URL ?? 'http://127.0.0.1:8000';
export const API_KEY = process.env.XYSERVE_API_KEY ?? 'test-key';
export const MODEL = process.env.XYSERVE_MODEL ?? 'tiny';

export function client(opts = {}) {
  return new OpenAI({ apiKey: API_KEY, baseURL: `${URL_BASE}/v1`, maxRetries: 0, timeout: 120_000, ...opts });
}

export { metrics, metric, waitIdle } from '../node_common/metrics.mjs';

export async function rawPost(path, body, headers = {}) {
  const res = await fetch(`${URL_BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...headers },
    body,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
