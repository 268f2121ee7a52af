// Conversations and settings in localStorage. Every access is guarded: storage can be disabled
// (private windows, strict policies) or full, and the page must still work for the session.

const KEY_CONVERSATIONS = 'xyserve.conversations.v1';
const KEY_ACTIVE = 'xyserve.activeConversation';
const KEY_SETTINGS = 'xyserve.settings.v1';
const KEY_API_KEY = 'xyserve.apiKey';

const DEFAULT_SETTINGS = Object.freeze({
  systemPrompt: '',
  // Empty strings mean "leave it to the server" (its generation_config defaults).
  temperature: '',
  topP: '',
  maxTokens: '',
  // A JSON object merged into every request (any other API field: stop, seed, ignore_eos, ...).
  extraJson: '',
});

function readJson(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw == null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function writeRaw(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export function loadSettings() {
  const s = readJson(KEY_SETTINGS, {});
  const out = { ...DEFAULT_SETTINGS };
  for (const k of Object.keys(DEFAULT_SETTINGS)) {
    if (typeof s?.[k] === 'string') out[k] = s[k];
  }
  return out;
}

export function saveSettings(settings) {
  const out = {};
  for (const k of Object.keys(DEFAULT_SETTINGS)) out[k] = String(settings[k] ?? '');
  writeRaw(KEY_SETTINGS, JSON.stringify(out));
}

export function defaultSettings() {
  return { ...DEFAULT_SETTINGS };
}

// Fallback so a key typed into a page without storage still works until reload.
let memoryKey = '';

export function getApiKey() {
  try {
    return localStorage.getItem(KEY_API_KEY) || memoryKey;
  } catch {
    return memoryKey;
  }
}

export function setApiKey(key) {
  memoryKey = key;
  writeRaw(KEY_API_KEY, key ? key : null);
}

function sanitizeMessage(m) {
  if (!m || (m.role !== 'user' && m.role !== 'assistant') || typeof m.content !== 'string') {
    return null;
  }
  const out = { role: m.role, content: m.content };
  if (m.role === 'assistant') {
    // A reply that was streaming when the page went away ended there: it is a stopped reply.
    out.state = ['done', 'stopped', 'error'].includes(m.state) ? m.state : 'stopped';
    if (m.stats && typeof m.stats === 'object') out.stats = m.stats;
    if (typeof m.error === 'string') out.error = m.error;
  }
  if (typeof m.at === 'number') out.at = m.at;
  return out;
}

export function loadConversations() {
  const list = readJson(KEY_CONVERSATIONS, []);
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const c of list) {
    if (!c || typeof c.id !== 'string' || !Array.isArray(c.messages)) continue;
    out.push({
      id: c.id,
      title: typeof c.title === 'string' ? c.title : '',
      createdAt: Number(c.createdAt) || Date.now(),
      updatedAt: Number(c.updatedAt) || Number(c.createdAt) || Date.now(),
      messages: c.messages.map(sanitizeMessage).filter(Boolean),
    });
  }
  return out;
}

// Returns false when the browser refused to store (quota): the caller tells the user once.
export function saveConversations(list) {
  // Empty conversations are UI state, not history worth keeping.
  const keep = list.filter((c) => c.messages.length > 0);
  return writeRaw(KEY_CONVERSATIONS, JSON.stringify(keep));
}

export function loadActiveId() {
  try {
    return localStorage.getItem(KEY_ACTIVE) || '';
  } catch {
    return '';
  }
}

export function saveActiveId(id) {
  writeRaw(KEY_ACTIVE, id || null);
}

export function titleFrom(text) {
  const line = text.replace(/\s+/g, ' ').trim();
  if (!line) return 'New chat';
  return line.length > 48 ? `${line.slice(0, 47).trimEnd()}…` : line;
}
