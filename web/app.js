// Bootstrap: hash routing between the two views, the model shown in the header, the error
// banner and the API-key prompt shared by both views.

import { fetchModels, fetchStats } from './api.js';
import { initChat } from './chat.js';
import { initDashboard } from './dashboard.js';
import { initSettings } from './settings.js';
import { getApiKey, setApiKey } from './store.js';

window.__xy = window.__xy || {};
window.__xy.ready = false;

const $ = (id) => document.getElementById(id);
const VIEWS = ['chat', 'dashboard'];

const model = { id: '', maxLen: null, from: '' };
let chat = null;
let dashboard = null;
let settings = null;

// ---- banners -------------------------------------------------------------------------------

function showError(message) {
  const banner = $('error-banner');
  banner.querySelector('.banner-text').textContent = message;
  banner.hidden = false;
}

function clearError() {
  $('error-banner').hidden = true;
}

// Work refused with a 401, run again once a key is saved.
const authRetries = new Set();

function requireKey(retry) {
  if (retry) authRetries.add(retry);
  const box = $('auth-error');
  const wasHidden = box.hidden;
  box.hidden = false;
  const input = $('auth-key-input');
  if (wasHidden) {
    input.value = getApiKey();
    // Only take focus from nothing in particular: never from a field the user is typing in.
    const a = document.activeElement;
    if (!a || a === document.body || a.id === 'send-btn' || a.id === 'chat-input') input.focus();
  }
}

function applyKey(key, retry = true) {
  setApiKey(key);
  settings?.showApiKey(key);
  if (!retry) return;
  $('auth-error').hidden = true;
  clearError();
  const pending = [...authRetries];
  authRetries.clear();
  if (!model.id || model.from !== 'models') pending.push(loadModel);
  for (const fn of new Set(pending)) fn();
}

// ---- model in the header ---------------------------------------------------------------------

function setModel(id, maxLen, from) {
  if (!id) return;
  const changed = id !== model.id || maxLen !== model.maxLen;
  model.id = String(id);
  model.maxLen = Number.isFinite(maxLen) ? maxLen : null;
  model.from = from;
  $('model-name').textContent = model.id;
  $('model-name').parentElement.dataset.state = 'ok';
  $('model-ctx').textContent = model.maxLen ? `ctx ${model.maxLen}` : '';
  document.title = `${model.id} · xyserve`;
  if (changed) chat?.modelChanged();
}

let modelRetry = 0;

async function loadModel() {
  clearTimeout(modelRetry);
  try {
    const list = await fetchModels();
    const m = Array.isArray(list?.data) ? list.data[0] : null;
    if (m?.id) {
      setModel(m.id, m.max_model_len, 'models');
      return;
    }
  } catch (err) {
    if (err?.isAuth) requireKey(loadModel);
  }
  // /stats is open even with an API key, so the header can still name the model.
  try {
    const s = await fetchStats();
    setModel(s?.model, s?.max_model_len, 'stats');
  } catch {
    if (!model.id) {
      $('model-name').textContent = 'server unreachable';
      $('model-name').parentElement.dataset.state = 'down';
      $('model-ctx').textContent = '';
    }
    modelRetry = setTimeout(loadModel, 5000);
  }
}

// ---- routing ---------------------------------------------------------------------------------

function currentView() {
  const name = location.hash.replace(/^#\/?/, '');
  return VIEWS.includes(name) ? name : 'chat';
}

function showView(name) {
  for (const v of VIEWS) {
    const on = v === name;
    const tab = $(`tab-${v}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${v}`).hidden = !on;
  }
  document.body.dataset.view = name;
  dashboard?.setVisible(name === 'dashboard');
}

function go(name, focusTab = false) {
  if (currentView() !== name || !location.hash) {
    // replaceState for the implicit default keeps "back" from bouncing to an empty hash.
    if (!location.hash && name === 'chat') history.replaceState(null, '', '#chat');
    else location.hash = name;
  }
  showView(name);
  if (focusTab) $(`tab-${name}`).focus();
}

function bindTabs() {
  for (const v of VIEWS) $(`tab-${v}`).addEventListener('click', () => go(v));
  // Arrow keys move between tabs (WAI-ARIA tabs pattern, automatic activation).
  document.querySelector('[role="tablist"]').addEventListener('keydown', (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (!tab) return;
    const i = VIEWS.indexOf(tab.id.replace('tab-', ''));
    let next = null;
    if (e.key === 'ArrowRight') next = VIEWS[(i + 1) % VIEWS.length];
    else if (e.key === 'ArrowLeft') next = VIEWS[(i + VIEWS.length - 1) % VIEWS.length];
    else if (e.key === 'Home') next = VIEWS[0];
    else if (e.key === 'End') next = VIEWS[VIEWS.length - 1];
    if (next) {
      e.preventDefault();
      go(next, true);
    }
  });
  window.addEventListener('hashchange', () => showView(currentView()));
}

// ---- start -----------------------------------------------------------------------------------

function init() {
  $('error-banner').querySelector('.banner-close').addEventListener('click', clearError);
  $('auth-error').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('auth-key-input').value.trim();
    applyKey(key);
    $('chat-input').focus();
  });

  settings = initSettings({ onApiKeyChange: applyKey });
  const ui = {
    showError,
    clearError,
    requireKey,
    settings,
    model: () => ({ id: model.id, maxLen: model.maxLen }),
    noteStats: (s) => {
      if (!model.id || model.from === 'stats') setModel(s?.model, s?.max_model_len, 'stats');
    },
  };
  chat = initChat(ui);
  dashboard = initDashboard(ui);

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && currentView() === 'chat' && chat.handleEscape()) {
      e.preventDefault();
    }
  });
  // Keeps "5 min ago" in the conversation list honest.
  setInterval(() => chat.refreshTimes(), 60_000);

  bindTabs();
  go(currentView());
  loadModel();
}

try {
  init();
  window.__xy.ready = true;
} catch (err) {
  console.error(err);
  try {
    showError(`The page failed to start: ${err?.message || err}`);
  } catch {
    // No banner to write to: the console has it.
  }
}
