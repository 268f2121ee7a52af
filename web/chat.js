// The chat view: conversation list, message rendering and the streaming reply.

import { streamChat } from './api.js';
import { copyText, el, flash } from './dom.js';
import { renderMarkdown } from './markdown.js';
import {
  loadActiveId, loadConversations, newId, saveActiveId, saveConversations, titleFrom,
} from './store.js';

const $ = (id) => document.getElementById(id);

function relativeTime(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

function fmtSeconds(s) {
  if (s == null || !Number.isFinite(s)) return '';
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`;
}

function statsText(msg) {
  const st = msg.stats || {};
  const parts = [];
  if (st.promptTokens != null) parts.push(`prompt ${st.promptTokens}`);
  if (st.completionTokens != null) parts.push(`completion ${st.approximate ? '~' : ''}${st.completionTokens}`);
  if (st.cachedTokens > 0) parts.push(`cached ${st.cachedTokens}`);
  if (st.tokensPerS != null) parts.push(`${st.tokensPerS.toFixed(1)} tok/s`);
  if (st.ttftS != null) parts.push(`TTFT ${fmtSeconds(st.ttftS)}`);
  if (msg.state === 'done' && st.finishReason === 'length') parts.push('finish: length (max tokens reached)');
  if (msg.state === 'stopped') parts.push('stopped');
  if (msg.state === 'error') parts.push('error');
  return parts.join(' · ');
}

export function initChat(ui) {
  const list = $('conversation-list');
  const messagesEl = $('messages');
  const input = $('chat-input');
  const sendBtn = $('send-btn');
  const stopBtn = $('stop-btn');
  const titleEl = $('chat-title');
  const sidebar = $('sidebar');
  const drawerBtn = $('drawer-btn');
  const backdrop = $('drawer-backdrop');
  const narrow = window.matchMedia('(max-width: 760px)');

  let conversations = loadConversations().sort((a, b) => b.updatedAt - a.updatedAt);
  let activeId = loadActiveId();
  let stream = null; // the one reply in flight: { convId, msg, el, controller, t0, tFirst, tLast }
  let warnedStorage = false;

  function persist() {
    if (!saveConversations(conversations) && !warnedStorage) {
      warnedStorage = true;
      ui.showError('This browser refused to store the conversations (storage full or disabled).');
    }
    saveActiveId(activeId);
  }

  const active = () => conversations.find((c) => c.id === activeId);

  function createConversation() {
    const c = { id: newId(), title: '', createdAt: Date.now(), updatedAt: Date.now(), messages: [] };
    conversations.unshift(c);
    return c;
  }

  // ---- conversation list -------------------------------------------------------------------

  function renderList() {
    list.replaceChildren();
    for (const c of conversations) {
      const li = el('li', `conv-item${c.id === activeId ? ' active' : ''}`);
      li.dataset.id = c.id;
      const open = el('button', 'conv-open');
      open.type = 'button';
      if (c.id === activeId) open.setAttribute('aria-current', 'true');
      const title = el('span', 'conv-title', c.title || 'New chat');
      const meta = el('span', 'conv-time', stream?.convId === c.id ? 'replying…' : relativeTime(c.updatedAt));
      open.append(title, meta);
      const del = el('button', 'icon-btn conv-delete', '✕');
      del.type = 'button';
      del.setAttribute('aria-label', `Delete conversation: ${c.title || 'New chat'}`);
      li.append(open, del);
      list.append(li);
    }
  }

  function select(id, { focusInput = true } = {}) {
    if (!conversations.some((c) => c.id === id)) return;
    activeId = id;
    saveActiveId(id);
    renderList();
    renderConversation();
    setDrawer(false);
    if (focusInput && !narrow.matches) input.focus();
  }

  function newChat() {
    const cur = active();
    // An untouched conversation is reused, so repeated clicks don't pile up empty chats.
    const c = cur && cur.messages.length === 0 ? cur : createConversation();
    select(c.id, { focusInput: false });
    input.focus();
  }

  function remove(id) {
    const idx = conversations.findIndex((c) => c.id === id);
    if (idx < 0) return;
    if (stream?.convId === id) stream.controller.abort();
    conversations.splice(idx, 1);
    if (activeId === id) {
      const next = conversations[Math.min(idx, conversations.length - 1)] || createConversation();
      activeId = next.id;
    }
    persist();
    renderList();
    renderConversation();
    const items = list.querySelectorAll('.conv-item .conv-open');
    (items[Math.min(idx, items.length - 1)] || $('new-chat-btn')).focus();
  }

  list.addEventListener('click', (e) => {
    const item = e.target.closest('.conv-item');
    if (!item) return;
    if (e.target.closest('.conv-delete')) remove(item.dataset.id);
    else select(item.dataset.id);
  });
  $('new-chat-btn').addEventListener('click', newChat);

  // ---- phone drawer ------------------------------------------------------------------------

  function setDrawer(open) {
    const isOpen = open && narrow.matches;
    sidebar.classList.toggle('open', isOpen);
    backdrop.hidden = !isOpen;
    drawerBtn.setAttribute('aria-expanded', String(isOpen));
    // Focus must not stay behind in a drawer that is closing.
    if (!isOpen && narrow.matches && sidebar.contains(document.activeElement)) drawerBtn.focus();
    // A closed drawer is off-screen: keep its buttons out of the Tab order too.
    sidebar.inert = narrow.matches && !isOpen;
    if (isOpen) (list.querySelector('.active .conv-open') || $('new-chat-btn')).focus();
  }
  drawerBtn.addEventListener('click', () => setDrawer(!sidebar.classList.contains('open')));
  backdrop.addEventListener('click', () => setDrawer(false));
  sidebar.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && sidebar.classList.contains('open')) {
      e.stopPropagation();
      setDrawer(false);
      drawerBtn.focus();
    }
  });
  narrow.addEventListener('change', () => setDrawer(false));

  // ---- messages ----------------------------------------------------------------------------

  function nearBottom() {
    return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80;
  }

  function scrollToBottom() {
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function fillAssistant(node, msg) {
    node.dataset.state = msg.state;
    const body = node.querySelector('.msg-body');
    body.innerHTML = renderMarkdown(msg.content);
    const err = node.querySelector('.msg-error');
    err.hidden = !(msg.state === 'error' && msg.error);
    err.textContent = msg.error || '';
    node.querySelector('.msg-stats').textContent = msg.state === 'streaming' ? '' : statsText(msg);
    node.querySelector('.msg-actions').hidden = msg.state === 'streaming';
    node.setAttribute('aria-busy', String(msg.state === 'streaming'));
  }

  function messageNode(msg, index, isLast) {
    const node = el('article', `msg ${msg.role}`);
    node.dataset.index = String(index);
    node.append(el('div', 'msg-role', msg.role === 'user' ? 'You' : 'Assistant'));
    if (msg.role === 'user') {
      node.append(el('div', 'msg-body', msg.content));
      return node;
    }
    node.append(el('div', 'msg-body markdown'));
    const err = el('p', 'msg-error');
    node.append(err);
    const foot = el('div', 'msg-foot');
    const stats = el('p', 'msg-stats');
    const actions = el('div', 'msg-actions');
    const copy = el('button', 'btn btn-small msg-copy', 'Copy');
    copy.type = 'button';
    copy.setAttribute('aria-label', 'Copy reply as Markdown');
    actions.append(copy);
    if (isLast) {
      const regen = el('button', 'btn btn-small msg-regen', 'Regenerate');
      regen.type = 'button';
      actions.append(regen);
    }
    foot.append(stats, actions);
    node.append(foot);
    fillAssistant(node, msg);
    return node;
  }

  function renderEmpty() {
    const box = el('div', 'empty');
    box.append(el('h2', null, 'Start a conversation'));
    const model = ui.model();
    box.append(el('p', null, model.id
      ? `Chatting with ${model.id}${model.maxLen ? ` (context ${model.maxLen} tokens)` : ''}.`
      : 'Type a message below.'));
    box.append(el('p', 'hint', 'Enter sends · Shift+Enter adds a line · Esc stops a reply'));
    messagesEl.append(box);
  }

  function renderConversation() {
    const c = active();
    messagesEl.replaceChildren();
    titleEl.textContent = c?.title || 'New chat';
    if (!c || c.messages.length === 0) {
      renderEmpty();
      return;
    }
    const last = c.messages.length - 1;
    c.messages.forEach((m, i) => {
      const node = messageNode(m, i, i === last);
      messagesEl.append(node);
      if (stream && stream.msg === m) stream.el = node;
    });
    scrollToBottom();
  }

  messagesEl.addEventListener('click', async (e) => {
    const btn = e.target.closest('button');
    if (!btn) return;
    if (btn.classList.contains('copy-btn')) {
      const code = btn.closest('.code-block')?.querySelector('code');
      if (code) flash(btn, (await copyText(code.textContent)) ? 'Copied' : 'Copy failed');
    } else if (btn.classList.contains('msg-copy')) {
      const idx = Number(btn.closest('.msg')?.dataset.index);
      const msg = active()?.messages[idx];
      if (msg) flash(btn, (await copyText(msg.content)) ? 'Copied' : 'Copy failed');
    } else if (btn.classList.contains('msg-regen')) {
      regenerate(activeId);
    }
  });

  // ---- streaming ---------------------------------------------------------------------------

  function setStreaming(on) {
    stopBtn.hidden = !on;
    sendBtn.disabled = on;
    messagesEl.setAttribute('aria-busy', String(on));
  }

  // The history as the server sees it. Replies that failed before any text are left out, and
  // same-role neighbours are merged: strict chat templates reject non-alternating roles.
  function requestMessages(conv) {
    const out = [];
    const system = ui.settings.systemPrompt();
    if (system) out.push({ role: 'system', content: system });
    for (const m of conv.messages) {
      if (m.role === 'assistant' && !m.content) continue;
      const prev = out[out.length - 1];
      if (prev && prev.role === m.role) prev.content += `\n\n${m.content}`;
      else out.push({ role: m.role, content: m.content });
    }
    return out;
  }

  function paint() {
    if (!stream?.el?.isConnected) return;
    const t0 = performance.now();
    const pinned = nearBottom();
    stream.el.querySelector('.msg-body').innerHTML = renderMarkdown(stream.msg.content);
    if (pinned) scrollToBottom();
    // A reply whose render is slow (very long, or pathological Markdown) is repainted less often,
    // so rendering never takes more than about a quarter of the time.
    stream.nextPaint = performance.now() + (performance.now() - t0) * 3;
  }

  // At most one render per animation frame; the timer covers hidden tabs, where frames stop.
  function schedulePaint() {
    if (!stream || stream.scheduled) return;
    const s = stream;
    s.scheduled = true;
    const run = () => {
      if (!s.scheduled || stream !== s) return;
      s.scheduled = false;
      paint();
    };
    const wait = Math.max(0, (s.nextPaint || 0) - performance.now());
    if (wait > 0) setTimeout(() => requestAnimationFrame(run), wait);
    else requestAnimationFrame(run);
    setTimeout(run, wait + 250);
  }

  async function startReply(conv) {
    ui.clearError();
    const messages = requestMessages(conv);
    const msg = { role: 'assistant', content: '', state: 'streaming', at: Date.now() };
    conv.messages.push(msg);
    conv.updatedAt = Date.now();
    conversations = [conv, ...conversations.filter((c) => c !== conv)];
    const controller = new AbortController();
    stream = { convId: conv.id, msg, el: null, controller, t0: performance.now(), tFirst: null, tLast: null, deltas: 0 };
    persist();
    renderList();
    if (conv.id === activeId) renderConversation();
    setStreaming(true);
    const s = stream;

    const model = ui.model();
    const body = {
      ...(model.id ? { model: model.id } : {}),
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...ui.settings.samplingParams(),
    };
    try {
      const res = await streamChat(body, {
        signal: controller.signal,
        onDelta: (text) => {
          const now = performance.now();
          if (s.tFirst == null) s.tFirst = now;
          s.tLast = now;
          s.deltas += 1;
          msg.content += text;
          schedulePaint();
        },
      });
      msg.state = 'done';
      if (!res.done && !res.finishReason) {
        msg.state = 'error';
        msg.error = 'The connection closed before the reply finished.';
      }
      msg.stats = replyStats(s, res);
    } catch (err) {
      if (err?.name === 'AbortError') {
        msg.state = 'stopped';
        msg.stats = replyStats(s, null);
      } else {
        msg.state = 'error';
        msg.error = err?.message || String(err);
        msg.stats = replyStats(s, null);
        ui.showError(msg.error);
        if (err?.isAuth) ui.requireKey(() => retryAfterAuth(conv.id, msg));
      }
    } finally {
      stream = null;
      conv.updatedAt = Date.now();
      persist();
      setStreaming(false);
      if (s.el?.isConnected) {
        const pinned = nearBottom();
        fillAssistant(s.el, msg);
        if (pinned) scrollToBottom();
      }
      renderList();
    }
  }

  function replyStats(s, res) {
    const st = {};
    if (s.tFirst != null) st.ttftS = (s.tFirst - s.t0) / 1000;
    const u = res?.usage;
    if (u) {
      st.promptTokens = u.prompt_tokens;
      st.completionTokens = u.completion_tokens;
      st.cachedTokens = u.prompt_tokens_details?.cached_tokens ?? 0;
    } else if (s.deltas > 0) {
      // Stopped or failed: no usage chunk comes, but the server sends one delta per token.
      st.completionTokens = s.deltas;
      st.approximate = true;
    }
    // Over the whole reply, request to last token: a fast server delivers a short reply in a few
    // network chunks, so first-to-last-chunk time would overstate the speed many times over.
    const span = (s.tLast - s.t0) / 1000;
    if (st.completionTokens > 0 && s.tLast != null && span > 0) st.tokensPerS = st.completionTokens / span;
    if (res?.finishReason) st.finishReason = res.finishReason;
    return st;
  }

  function retryAfterAuth(convId, msg) {
    const conv = conversations.find((c) => c.id === convId);
    if (conv && conv.messages[conv.messages.length - 1] === msg) regenerate(convId);
  }

  function regenerate(convId) {
    if (stream) return;
    const conv = conversations.find((c) => c.id === convId);
    if (!conv) return;
    if (conv.messages[conv.messages.length - 1]?.role === 'assistant') conv.messages.pop();
    if (conv.messages.length === 0) return;
    startReply(conv);
  }

  function send() {
    const text = input.value;
    if (stream || !text.trim()) return;
    let conv = active();
    if (!conv) {
      conv = createConversation();
      activeId = conv.id;
    }
    conv.messages.push({ role: 'user', content: text, at: Date.now() });
    if (!conv.title) conv.title = titleFrom(text);
    input.value = '';
    autosize();
    startReply(conv);
  }

  function stop() {
    if (stream) stream.controller.abort();
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, Math.round(window.innerHeight * 0.35))}px`;
  }

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  input.addEventListener('keydown', (e) => {
    // isComposing: Enter that confirms an IME candidate must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener('input', autosize);
  stopBtn.addEventListener('click', () => {
    stop();
    input.focus();
  });

  // A reply cut short by closing or reloading the page is kept as a stopped reply.
  window.addEventListener('pagehide', () => {
    if (!stream) return;
    stream.msg.state = 'stopped';
    stream.msg.stats = replyStats(stream, null);
    persist();
  });

  // ---- start -------------------------------------------------------------------------------

  if (!active()) activeId = (conversations[0] || createConversation()).id;
  renderList();
  renderConversation();
  setDrawer(false);
  setStreaming(false);

  return {
    // Esc: stop a streaming reply first, then close the drawer.
    handleEscape() {
      if (stream) {
        stop();
        return true;
      }
      if (sidebar.classList.contains('open')) {
        setDrawer(false);
        drawerBtn.focus();
        return true;
      }
      return false;
    },
    // The empty-state text names the model once it is known.
    modelChanged() {
      if (!active()?.messages.length) renderConversation();
    },
    // Only the time labels: rebuilding the list would drop keyboard focus inside it.
    refreshTimes() {
      for (const li of list.querySelectorAll('.conv-item')) {
        const c = conversations.find((x) => x.id === li.dataset.id);
        const t = li.querySelector('.conv-time');
        if (c && t && stream?.convId !== c.id) t.textContent = relativeTime(c.updatedAt);
      }
    },
    isStreaming: () => stream != null,
  };
}
