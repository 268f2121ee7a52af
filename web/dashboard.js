// The dashboard view: polls /stats once a second while it is on screen, fills the tiles and
// draws the charts. Throughput and KV history are kept here from the polls (the server only
// reports the present), so they cover the time the dashboard was open.

import { fetchStats } from './api.js';
import { drawStepMix, drawTimeSeries } from './charts.js';

const POLL_MS = 1000;
const HISTORY_S = 120;
const $ = (id) => document.getElementById(id);
const DASH = '—';

const num = (v) => typeof v === 'number' && Number.isFinite(v);

export function fmtInt(v) {
  return num(v) ? Math.round(v).toLocaleString('en-US') : DASH;
}

export function fmtPct(v) {
  return num(v) ? `${(v * 100).toFixed(1)}%` : DASH;
}

export function fmtRate(v) {
  if (!num(v)) return DASH;
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

export function fmtLatency(s) {
  if (!num(s)) return DASH;
  if (s >= 1) return `${s.toFixed(2)} s`;
  const ms = s * 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}

export function fmtUptime(s) {
  if (!num(s)) return DASH;
  const t = Math.floor(s);
  const d = Math.floor(t / 86400);
  const h = Math.floor((t % 86400) / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const two = (n) => String(n).padStart(2, '0');
  if (d) return `${d}d ${h}h ${two(m)}m`;
  if (h) return `${h}h ${two(m)}m ${two(sec)}s`;
  if (m) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

function set(id, text) {
  const e = $(id);
  if (e && e.textContent !== text) e.textContent = text;
}

export function initDashboard(ui) {
  const status = $('dash-status');
  const scaleBtn = $('step-scale-btn');
  const history = { outTps: [], kv: [] };
  let visible = false;
  let inFlight = false;
  let timer = 0;
  let last = null;
  let fit = false;

  function setStatus(ok, detail = '') {
    const text = ok ? 'live' : 'server unreachable';
    status.dataset.state = ok ? 'live' : 'down';
    set('dash-status', text);
    status.title = detail;
    // Dimmed tiles say the numbers are the last ones seen, not live.
    $('view-dashboard').dataset.conn = ok ? 'live' : 'down';
  }

  function record(s) {
    const now = Date.now();
    const cut = now - HISTORY_S * 1000 - 5000;
    const push = (arr, v) => {
      if (num(v)) arr.push({ t: now, v });
      while (arr.length && arr[0].t < cut) arr.shift();
    };
    push(history.outTps, s?.throughput?.output_tokens_per_s);
    push(history.kv, s?.kv_cache?.usage);
  }

  function fillTiles(s) {
    const r = s.requests || {};
    const kv = s.kv_cache || {};
    const tp = s.throughput || {};
    const tot = s.totals || {};
    const lat = s.latency || {};
    const spec = s.spec || {};
    const fin = r.finished || {};

    set('dash-running', fmtInt(r.running));
    set('dash-waiting', fmtInt(r.waiting));
    set('dash-in-flight', fmtInt(r.in_flight));
    set('dash-max-seqs', num(s.steps?.max_num_seqs) ? `at most ${fmtInt(s.steps.max_num_seqs)} running` : DASH);
    set('dash-finished', ['stop', 'length', 'abort', 'error']
      .map((k) => `${fmtInt(fin[k] ?? 0)} ${k}`).join(' · '));

    set('dash-kv-usage', fmtPct(kv.usage));
    set('dash-kv-blocks', `${fmtInt(kv.used_blocks)} / ${fmtInt(kv.total_blocks)} blocks` +
      (num(kv.block_size) ? ` · ${kv.block_size} tok each` : ''));
    const usage = num(kv.usage) ? Math.min(1, Math.max(0, kv.usage)) : 0;
    const bar = $('dash-kv-bar');
    bar.style.width = `${(usage * 100).toFixed(1)}%`;
    bar.dataset.level = usage > 0.9 ? 'high' : usage > 0.7 ? 'mid' : 'low';

    const queries = kv.prefix_cache_queries;
    set('dash-prefix-hit', num(queries) && queries > 0 ? fmtPct(kv.prefix_cache_hit_rate) : DASH);
    set('dash-prefix-sub', num(queries)
      ? `${fmtInt(kv.prefix_cache_hits)} hits / ${fmtInt(queries)} queries` : DASH);

    set('dash-out-tps', fmtRate(tp.output_tokens_per_s));
    set('dash-prompt-tps', fmtRate(tp.prompt_tokens_per_s));
    set('dash-tps-window', num(tp.window_s) ? `over the last ${+tp.window_s.toFixed(1)} s` : DASH);
    set('dash-steps-ps', num(tp.steps_per_s) ? `${fmtRate(tp.steps_per_s)} steps/s` : DASH);

    set('dash-ttft-p50', fmtLatency(lat.ttft_s?.p50));
    set('dash-ttft-p99', fmtLatency(lat.ttft_s?.p99));
    set('dash-tpot-p50', fmtLatency(lat.tpot_s?.p50));
    set('dash-tpot-p99', fmtLatency(lat.tpot_s?.p99));
    set('dash-e2e-p50', fmtLatency(lat.e2e_s?.p50));
    set('dash-latency-window', num(lat.requests)
      ? `${fmtInt(lat.requests)} request${lat.requests === 1 ? '' : 's'} in ${+(lat.window_s ?? 0).toFixed(0)} s`
      : DASH);

    set('dash-spec-accept', num(spec.acceptance_rate) ? fmtPct(spec.acceptance_rate) : DASH);
    set('dash-spec-sub', num(spec.draft_tokens) && spec.draft_tokens > 0
      ? `${fmtInt(spec.accepted_tokens)} / ${fmtInt(spec.draft_tokens)} drafts accepted`
      : 'no speculation');

    set('dash-steps', fmtInt(tot.steps));
    set('dash-tokens-total', `${fmtInt(tot.prompt_tokens)} prompt · ${fmtInt(tot.generation_tokens)} output tok`);
    set('dash-preemptions', fmtInt(tot.preemptions));
    set('dash-finished-total', fmtInt(tot.requests_finished));
    set('dash-uptime', fmtUptime(s.uptime_s));
    set('dash-model-sub', [s.model, s.device].filter((x) => typeof x === 'string' && x).join(' on ') || DASH);
  }

  function drawCharts() {
    if (!visible) return;
    const steps = last?.steps || {};
    drawStepMix($('chart-step-mix'), steps.recent, steps.budget, fit);
    drawTimeSeries($('chart-out-tps'), history.outTps, { cls: 'series-a' });
    drawTimeSeries($('chart-kv'), history.kv, {
      max: 1,
      cls: 'series-b',
      fmt: (v) => `${Math.round(v * 100)}%`,
    });
  }

  async function poll() {
    timer = 0;
    if (!visible || inFlight) return;
    inFlight = true;
    const started = Date.now();
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), 3000);
    try {
      const s = await fetchStats({ signal: controller.signal });
      if (!s || typeof s !== 'object') throw new Error('unexpected /stats reply');
      last = s;
      window.__xy.lastStats = s;
      ui.noteStats(s);
      record(s);
      fillTiles(s);
      setStatus(true);
      set('dash-updated', new Date().toLocaleTimeString());
    } catch (err) {
      setStatus(false, err?.name === 'AbortError' ? 'no answer within 3 s' : err?.message || String(err));
      // A gap in the history keeps the lines from bridging the outage.
    } finally {
      clearTimeout(timeout);
      inFlight = false;
      drawCharts();
      if (visible && !timer) timer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
    }
  }

  function setVisible(v) {
    visible = v && !document.hidden;
    if (visible) {
      drawCharts();
      if (!timer && !inFlight) poll();
    } else if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
  }

  let wanted = false;
  document.addEventListener('visibilitychange', () => setVisible(wanted));

  scaleBtn.addEventListener('click', () => {
    fit = !fit;
    scaleBtn.setAttribute('aria-pressed', String(fit));
    scaleBtn.textContent = fit ? 'Show budget scale' : 'Fit to data';
    drawCharts();
  });

  // Charts are drawn at their pixel size so text stays crisp; redraw when that changes.
  let resizeRaf = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(resizeRaf);
    resizeRaf = requestAnimationFrame(drawCharts);
  }).observe($('chart-out-tps'));

  return {
    setVisible(v) {
      wanted = v;
      setVisible(v);
    },
  };
}
