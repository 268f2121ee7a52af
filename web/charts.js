// Small SVG charts drawn from numbers only: the markup is built from numbers and fixed labels,
// never from server strings, so innerHTML is safe here. Colours come from CSS classes, so the
// charts follow the light/dark theme.

const PAD = { left: 46, right: 14, top: 12, bottom: 26 };

function f(n) {
  return Number.isFinite(n) ? n.toFixed(1) : '0';
}

// 1, 2 or 5 times a power of ten, so axis labels stay round.
export function niceStep(max, count) {
  const raw = max / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

function axisTicks(max, count = 4) {
  const top = max > 0 ? max : 1;
  const step = niceStep(top, count);
  const ticks = [];
  for (let v = 0; v <= top + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < top) ticks.push(ticks[ticks.length - 1] + step);
  return { ticks, top: ticks[ticks.length - 1] };
}

function frame(box) {
  const w = Math.max(240, Math.round(box.clientWidth || 600));
  const h = Math.max(120, Math.round(box.clientHeight || 200));
  return { w, h, x0: PAD.left, x1: w - PAD.right, y0: h - PAD.bottom, y1: PAD.top };
}

function svgOpen({ w, h }) {
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" preserveAspectRatio="none" ` +
    'xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false">';
}

function yAxis(fr, ticks, top, fmt) {
  let s = '';
  for (const v of ticks) {
    const y = fr.y0 - (v / top) * (fr.y0 - fr.y1);
    s += `<line class="grid" x1="${fr.x0}" x2="${fr.x1}" y1="${f(y)}" y2="${f(y)}"/>`;
    s += `<text class="axis" x="${fr.x0 - 6}" y="${f(y + 3.5)}" text-anchor="end">${fmt(v)}</text>`;
  }
  return s;
}

function emptyNote(fr, text) {
  return `<text class="axis empty-note" x="${f((fr.x0 + fr.x1) / 2)}" y="${f((fr.y0 + fr.y1) / 2)}" ` +
    `text-anchor="middle">${text}</text>`;
}

export function compactNumber(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(v < 10 && v % 1 ? 1 : 0)}`;
}

// Per-step token mix: one stacked bar per observation (prefill at the bottom, then decode, then
// verify) against the step token budget. `fit` scales to the tallest bar instead of the budget,
// for when small decode-only steps would be invisible under a large budget.
export function drawStepMix(box, steps, budget, fit) {
  const fr = frame(box);
  const list = Array.isArray(steps) ? steps : [];
  const total = (s) => (+s.p || 0) + (+s.d || 0) + (+s.v || 0);
  const maxTotal = list.reduce((m, s) => Math.max(m, total(s)), 0);
  const hasBudget = Number.isFinite(budget) && budget > 0;
  const scaleMax = fit || !hasBudget ? Math.max(maxTotal, 1) : Math.max(budget, maxTotal);
  const { ticks, top } = axisTicks(scaleMax);
  const yOf = (v) => fr.y0 - (v / top) * (fr.y0 - fr.y1);

  let s = svgOpen(fr) + yAxis(fr, ticks, top, compactNumber);
  if (!list.length) {
    s += emptyNote(fr, 'no engine steps yet');
  } else {
    // Fixed minimum slot count: a few steps make thin bars at the right, like a strip chart.
    const slots = Math.max(list.length, 64);
    const slotW = (fr.x1 - fr.x0) / slots;
    const barW = Math.max(1, slotW * 0.78);
    const offset = slots - list.length;
    list.forEach((st, i) => {
      const x = fr.x0 + (offset + i) * slotW + (slotW - barW) / 2;
      const n = Math.max(1, +st.n || 1);
      const title = `t=${(+st.t || 0).toFixed(2)} s: prefill ${+(+st.p || 0).toFixed(1)}, ` +
        `decode ${+(+st.d || 0).toFixed(1)}, verify ${+(+st.v || 0).toFixed(1)} tokens, ` +
        `${((+st.time_s || 0) * 1000).toFixed(1)} ms` + (n > 1 ? ` (average of ${n} steps)` : '');
      s += `<g><title>${title}</title>`;
      let base = 0;
      for (const [key, cls] of [['p', 'bar-p'], ['d', 'bar-d'], ['v', 'bar-v']]) {
        const v = Math.max(0, +st[key] || 0);
        if (v <= 0) continue;
        const yTop = yOf(Math.min(base + v, top));
        const yBot = yOf(base);
        s += `<rect class="${cls}" x="${f(x)}" y="${f(yTop)}" width="${f(barW)}" ` +
          `height="${f(Math.max(0.5, yBot - yTop))}"/>`;
        base += v;
      }
      s += '</g>';
    });
    const first = list[0].t;
    const last = list[list.length - 1].t;
    const xFirst = fr.x0 + offset * slotW;
    if (Number.isFinite(first)) {
      s += `<text class="axis" x="${f(xFirst)}" y="${fr.y0 + 16}" ` +
        `text-anchor="${offset > 8 ? 'middle' : 'start'}">t=${first.toFixed(1)} s</text>`;
    }
    if (Number.isFinite(last) && list.length > 1) {
      s += `<text class="axis" x="${fr.x1}" y="${fr.y0 + 16}" text-anchor="end">${last.toFixed(1)} s</text>`;
    }
  }
  if (hasBudget) {
    if (budget <= top) {
      const y = yOf(budget);
      s += `<line class="budget" x1="${fr.x0}" x2="${fr.x1}" y1="${f(y)}" y2="${f(y)}"/>`;
      s += `<text class="budget-label" x="${fr.x0 + 4}" y="${f(y - 4)}">budget ${budget}</text>`;
    } else {
      s += `<text class="budget-label" x="${fr.x0 + 4}" y="${fr.y1 + 10}">budget ${budget} ↑ (off scale)</text>`;
    }
  }
  s += `<line class="axis-line" x1="${fr.x0}" x2="${fr.x1}" y1="${fr.y0}" y2="${fr.y0}"/>`;
  box.innerHTML = `${s}</svg>`;
}

// A line over the last `spanS` seconds of client-side samples {t: ms since epoch, v}. Samples
// further apart than `gapS` (the tab was hidden, the server was down) are not joined.
export function drawTimeSeries(box, samples, { now = Date.now(), spanS = 120, gapS = 3.5, max = null,
  fmt = compactNumber, cls = 'series-a', empty = 'waiting for data' } = {}) {
  const fr = frame(box);
  const t0 = now - spanS * 1000;
  const pts = samples.filter((p) => p.t >= t0 && Number.isFinite(p.v));
  const peak = pts.reduce((m, p) => Math.max(m, p.v), 0);
  const { ticks, top } = max != null ? axisTicks(max, 4) : axisTicks(peak * 1.1 || 1, 4);
  const xOf = (t) => fr.x0 + ((t - t0) / (spanS * 1000)) * (fr.x1 - fr.x0);
  const yOf = (v) => fr.y0 - (Math.min(v, top) / top) * (fr.y0 - fr.y1);

  let s = svgOpen(fr) + yAxis(fr, ticks, top, fmt);
  for (let sec = spanS; sec >= 0; sec -= 30) {
    const x = xOf(now - sec * 1000);
    const anchor = sec === spanS ? 'start' : sec === 0 ? 'end' : 'middle';
    s += `<text class="axis" x="${f(x)}" y="${fr.y0 + 16}" text-anchor="${anchor}">` +
      `${sec === 0 ? 'now' : `−${sec} s`}</text>`;
  }
  if (!pts.length) {
    s += emptyNote(fr, empty);
  } else {
    const runs = [[pts[0]]];
    for (let i = 1; i < pts.length; i++) {
      if (pts[i].t - pts[i - 1].t > gapS * 1000) runs.push([]);
      runs[runs.length - 1].push(pts[i]);
    }
    for (const run of runs) {
      const line = run.map((p, i) => `${i ? 'L' : 'M'}${f(xOf(p.t))},${f(yOf(p.v))}`).join('');
      if (run.length > 1) {
        const area = `${line}L${f(xOf(run[run.length - 1].t))},${fr.y0}L${f(xOf(run[0].t))},${fr.y0}Z`;
        s += `<path class="area ${cls}" d="${area}"/>`;
        s += `<path class="line ${cls}" d="${line}"/>`;
      } else {
        s += `<circle class="dot ${cls}" cx="${f(xOf(run[0].t))}" cy="${f(yOf(run[0].v))}" r="2"/>`;
      }
    }
    const last = pts[pts.length - 1];
    s += `<circle class="dot ${cls}" cx="${f(xOf(last.t))}" cy="${f(yOf(last.v))}" r="3.5"/>`;
  }
  s += `<line class="axis-line" x1="${fr.x0}" x2="${fr.x1}" y1="${fr.y0}" y2="${fr.y0}"/>`;
  box.innerHTML = `${s}</svg>`;
}
