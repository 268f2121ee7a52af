// The settings panel: system prompt, sampling parameters, extra request fields (JSON) and the API
// key, persisted as typed.

import { defaultSettings, getApiKey, loadSettings, saveSettings } from './store.js';

const FIELDS = [
  { id: 'set-system-prompt', key: 'systemPrompt' },
  { id: 'set-temperature', key: 'temperature' },
  { id: 'set-top-p', key: 'topP' },
  { id: 'set-max-tokens', key: 'maxTokens' },
  { id: 'set-extra-json', key: 'extraJson' },
];

// Fields the page itself owns; extra parameters may not replace them.
const RESERVED = new Set(['messages', 'stream', 'stream_options', 'model']);

// The extra-parameters field: a JSON object, else null (flagged, and left out of requests).
function parseExtra(raw) {
  const text = String(raw ?? '').trim();
  if (!text) return { value: {}, valid: true };
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { value: null, valid: false };
    return { value: Object.fromEntries(Object.entries(v).filter(([k]) => !RESERVED.has(k))), valid: true };
  } catch {
    return { value: null, valid: false };
  }
}

// Each sampling field: its request parameter and what the server would reject. Invalid values
// are flagged in the form and left out of requests rather than failing them.
const PARAMS = {
  temperature: { name: 'temperature', parse: (n) => (n >= 0 && n <= 2 ? n : null) },
  topP: { name: 'top_p', parse: (n) => (n > 0 && n <= 1 ? n : null) },
  maxTokens: { name: 'max_tokens', parse: (n) => (Number.isInteger(n) && n >= 1 ? n : null) },
};

function parseParam(key, raw) {
  const text = String(raw ?? '').trim();
  if (!text) return { value: null, valid: true };
  const n = Number(text);
  const value = Number.isFinite(n) ? PARAMS[key].parse(n) : null;
  return { value, valid: value !== null };
}

export function initSettings({ onApiKeyChange }) {
  const panel = document.getElementById('settings-panel');
  const toggle = document.getElementById('settings-btn');
  const keyInput = document.getElementById('set-api-key');
  let settings = loadSettings();

  const inputs = FIELDS.map((f) => ({ ...f, el: document.getElementById(f.id) }));

  function validate() {
    for (const f of inputs) {
      if (!PARAMS[f.key] && f.key !== 'extraJson') continue;
      const { valid } = f.key === 'extraJson' ? parseExtra(f.el.value) : parseParam(f.key, f.el.value);
      if (valid) f.el.removeAttribute('aria-invalid');
      else f.el.setAttribute('aria-invalid', 'true');
    }
  }

  function fill() {
    for (const f of inputs) f.el.value = settings[f.key];
    keyInput.value = getApiKey();
    validate();
  }

  for (const f of inputs) {
    f.el.addEventListener('input', () => {
      settings[f.key] = f.el.value;
      saveSettings(settings);
      validate();
    });
  }

  // The key is used from the first keystroke, but what a 401 refused is retried only once the
  // field is left (or Enter): a retry per keystroke would just collect more 401s.
  keyInput.addEventListener('input', () => onApiKeyChange(keyInput.value.trim(), false));
  keyInput.addEventListener('change', () => onApiKeyChange(keyInput.value.trim(), true));
  keyInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      onApiKeyChange(keyInput.value.trim(), true);
    }
  });

  function setOpen(open) {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) document.getElementById('set-system-prompt').focus();
  }

  toggle.addEventListener('click', () => setOpen(panel.hidden));
  // Enter in a field must not submit (reload) anything: values are saved as they are typed.
  panel.addEventListener('submit', (e) => e.preventDefault());
  document.getElementById('settings-close').addEventListener('click', () => {
    setOpen(false);
    toggle.focus();
  });
  document.getElementById('settings-reset').addEventListener('click', () => {
    settings = defaultSettings();
    saveSettings(settings);
    fill();
  });
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      setOpen(false);
      toggle.focus();
    }
  });

  fill();

  return {
    isOpen: () => !panel.hidden,
    close: () => setOpen(false),
    // Reflects a key saved elsewhere (the 401 prompt) in the field.
    showApiKey: (key) => {
      if (document.activeElement !== keyInput) keyInput.value = key;
    },
    systemPrompt: () => settings.systemPrompt.trim(),
    // The request's sampling parameters, then the extra JSON fields (which win, as in
    // llama.cpp's page); empty or invalid fields are left to the server.
    samplingParams() {
      const out = {};
      for (const [key, spec] of Object.entries(PARAMS)) {
        const { value } = parseParam(key, settings[key]);
        if (value !== null) out[spec.name] = value;
      }
      return { ...out, ...(parseExtra(settings.extraJson).value ?? {}) };
    },
  };
}
