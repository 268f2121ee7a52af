// The server API: JSON fetches with the API key, and the SSE stream of chat completions.

import { getApiKey } from './store.js';

export class ApiError extends Error {
  constructor(message, { status = 0, type = '', code = null, network = false } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.network = network;
  }

  get isAuth() {
    return this.status === 401;
  }
}

function authHeaders(extra = {}) {
  const key = getApiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

const STATUS_HINTS = {
  401: 'The server rejected the API key.',
  404: 'Not found.',
  413: 'The request is too large for the server.',
  429: 'The server is busy (too many queued requests). Try again shortly.',
  503: 'The server is not ready (loading or shutting down).',
};

// Turns any non-2xx response into an ApiError carrying the server's own message when it sent an
// OpenAI error object, so the user sees "max_tokens must be ..." rather than "HTTP 400".
async function errorFromResponse(res) {
  let message = '';
  let type = '';
  let code = null;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      const e = body?.error;
      if (e && typeof e === 'object') {
        message = String(e.message ?? '');
        type = String(e.type ?? '');
        code = e.code ?? null;
      } else if (typeof e === 'string') {
        message = e;
      }
    } catch {
      message = text.slice(0, 300).trim();
    }
  } catch {
    // Body unreadable: fall back to the status line.
  }
  if (!message) message = STATUS_HINTS[res.status] || `HTTP ${res.status} ${res.statusText}`.trim();
  const retry = res.headers.get('Retry-After');
  if (res.status === 429 && retry) message += ` (retry after ${retry} s)`;
  return new ApiError(message, { status: res.status, type, code });
}

function networkError(err) {
  return new ApiError(`Cannot reach the server (${err?.message || 'network error'}).`, {
    network: true,
  });
}

// fetch() with the page's conventions: no caching, network failures and non-2xx answers as
// ApiErrors carrying the server's message; an abort is passed through untouched.
async function send(path, init) {
  let res;
  try {
    res = await fetch(path, { ...init, cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw networkError(err);
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

async function getJson(path, { signal, auth = true } = {}) {
  const accept = { Accept: 'application/json' };
  const res = await send(path, { headers: auth ? authHeaders(accept) : accept, signal });
  try {
    return await res.json();
  } catch {
    throw new ApiError(`The server sent invalid JSON for ${path}.`, { status: res.status });
  }
}

export function fetchModels(opts) {
  return getJson('/v1/models', opts);
}

// /stats is open even when the server has an API key, so it never sends one.
export function fetchStats(opts) {
  return getJson('/stats', { ...opts, auth: false });
}

// Incremental SSE decoder (the WHATWG event-stream rules that matter here): events end at a
// blank line, may be split across network chunks anywhere (even inside a CRLF), and may carry
// several data: lines that join with "\n". Comments (":" lines) and other fields are ignored.
export class SseParser {
  constructor(onData) {
    this.onData = onData;
    this.buffer = '';
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    const eol = /[\r\n]/g;
    let start = 0;
    for (;;) {
      eol.lastIndex = start;
      const m = eol.exec(this.buffer);
      if (!m) break;
      const end = m.index;
      // A lone CR at the very end may be the first half of a CRLF still in flight.
      if (this.buffer[end] === '\r' && end + 1 === this.buffer.length) break;
      const line = this.buffer.slice(start, end);
      start = end + (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1);
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === '') {
      if (this.data.length) {
        const payload = this.data.join('\n');
        this.data = [];
        this.onData(payload);
      }
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
  }

  // As in browsers' EventSource, an event cut off by the end of the stream is dropped: it may be
  // half a JSON object.
  end() {
    this.buffer = '';
    this.data = [];
  }
}

// Streams one chat completion. Calls onDelta(text) for every content delta and resolves to
// { finishReason, usage, done } where done says whether "data: [DONE]" arrived. Rejects with an
// ApiError (HTTP or in-stream error) or the AbortError of `signal`.
export async function streamChat(body, { signal, onDelta }) {
  const res = await send('/v1/chat/completions', {
    method: 'POST',
    headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify(body),
    signal,
  });

  const result = { finishReason: null, usage: null, done: false };
  let streamError = null;
  const parser = new SseParser((payload) => {
    if (result.done || streamError) return;
    if (payload.trim() === '[DONE]') {
      result.done = true;
      return;
    }
    let chunk;
    try {
      chunk = JSON.parse(payload);
    } catch {
      return; // A malformed event is skipped rather than losing the whole reply.
    }
    if (chunk?.error) {
      const e = chunk.error;
      streamError = new ApiError(String(e.message ?? e), { status: Number(e.code) || 0, type: e.type || '' });
      return;
    }
    const choice = Array.isArray(chunk?.choices) ? chunk.choices[0] : null;
    const content = choice?.delta?.content;
    if (typeof content === 'string' && content) onDelta(content);
    if (choice?.finish_reason) result.finishReason = choice.finish_reason;
    if (chunk?.usage) result.usage = chunk.usage;
  });

  // Non-streaming fallback: a proxy or server that ignored "stream" still gives a usable reply.
  const ctype = res.headers.get('Content-Type') || '';
  if (ctype.includes('application/json')) {
    const json = await res.json();
    const choice = json?.choices?.[0];
    if (choice?.message?.content) onDelta(choice.message.content);
    return { finishReason: choice?.finish_reason ?? null, usage: json?.usage ?? null, done: true };
  }

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let eof = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        eof = true;
        break;
      }
      parser.push(decoder.decode(value, { stream: true }));
      if (streamError) throw streamError;
      // Nothing may follow [DONE]; not waiting for the close keeps a lingering socket harmless.
      if (result.done) break;
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    if (!eof) reader.cancel().catch(() => {});
  }
  if (streamError) throw streamError;
  return result;
}
