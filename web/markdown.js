// Safe Markdown -> HTML for model output. The renderer never passes input through as markup:
// every piece of source text is HTML-escaped before it is placed between tags this file writes,
// and links get an href only for http, https and mailto URLs. That makes it safe to assign the
// result to innerHTML whatever the model (or a prompt injection) produces.
//
// Supported: paragraphs (single newlines are line breaks, as chat users expect), ATX headings,
// **bold**, *italic*, ~~strike~~, `code`, fenced code blocks (with a language label and a Copy
// button), nested ordered/unordered lists, blockquotes, links and bare URLs, horizontal rules and
// GFM tables. An unterminated fence renders as an open code block, so a streaming reply looks
// right mid-way.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESC[c]);
}

// Private-use characters delimit placeholders for already-rendered inline HTML; input copies of
// them are dropped so model output can never forge one.
const PH_OPEN = '\uE000';
const PH_CLOSE = '\uE001';
const PH_RE = /\uE000(\d+)\uE001/g;

export function safeHref(url) {
  const u = url.trim();
  if (/^(https?:\/\/|mailto:)[^\s<>"'`]+$/i.test(u)) return u;
  return null;
}

function linkHtml(href, innerHtml) {
  return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${innerHtml}</a>`;
}

function emphasis(escaped) {
  return escaped
    .replace(/\*\*\*(?=\S)([^*]*?\S)\*\*\*/g, '<strong><em>$1</em></strong>')
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/(^|[^*\w])\*([^\s*](?:[^*]*?[^\s*])?)\*(?!\*)/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_([^\s_](?:[^_]*?[^\s_])?)_(?!\w)/g, '$1<em>$2</em>')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>');
}

// Inline spans: code spans, links and autolinks are rendered first into placeholders (their
// contents must not see the emphasis rules: URLs are full of underscores), the rest is escaped,
// emphasised, and the placeholders are put back.
export function renderInline(src, { links = true } = {}) {
  const parts = [];
  const hold = (html) => `${PH_OPEN}${parts.push(html) - 1}${PH_CLOSE}`;
  let text = String(src).replace(/[\uE000\uE001]/g, '');

  text = text.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, ticks, code) => {
    const body = /^ .* $/.test(code) && code.trim() ? code.slice(1, -1) : code;
    return hold(`<code>${escapeHtml(body)}</code>`);
  });

  if (links) {
    // [text](url "title") — a nested pair of parentheses in the URL is allowed (Wikipedia links).
    // Images become plain links: the page loads nothing the model names.
    text = text.replace(
      /!?\[([^\]\n]+)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))+)>?(?:\s+"[^"]*")?\s*\)/g,
      (whole, label, url) => {
        const href = safeHref(url);
        const inner = renderInline(label, { links: false });
        return hold(href ? linkHtml(href, inner) : inner);
      },
    );
    text = text.replace(/<((?:https?:\/\/|mailto:)[^\s<>]+)>/gi, (whole, url) => {
      const href = safeHref(url);
      return href ? hold(linkHtml(href, escapeHtml(url))) : whole;
    });
    text = text.replace(/\bhttps?:\/\/[^\s<>"'`\uE000\uE001]+/gi, (url) => {
      // Trailing punctuation usually ends the sentence, not the URL.
      let u = url;
      let tail = '';
      for (;;) {
        const m = /[.,;:!?*_'")\]]$/.exec(u);
        if (!m) break;
        if (m[0] === ')' && (u.match(/\(/g) || []).length >= (u.match(/\)/g) || []).length) break;
        tail = m[0] + tail;
        u = u.slice(0, -1);
      }
      const href = safeHref(u);
      return href ? hold(linkHtml(href, escapeHtml(u))) + tail : url;
    });
  }

  let html = emphasis(escapeHtml(text));
  // Placeholders can nest (a code span inside a link label), so restore until none are left.
  for (let i = 0; i < 4 && html.includes(PH_OPEN); i++) {
    html = html.replace(PH_RE, (_, n) => parts[Number(n)] ?? '');
  }
  return html;
}

const RE_FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const RE_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RE_HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const RE_QUOTE = /^ {0,3}> ?(.*)$/;
const RE_LIST = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
const RE_TABLE_SEP = /^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$/;

function indentOf(line) {
  return line.match(/^ */)[0].length;
}

function expandTabs(line) {
  return line.replace(/^\t+/, (t) => '    '.repeat(t.length));
}

function isBlockStart(line) {
  return RE_FENCE.test(line) || RE_HEADING.test(line) || RE_HR.test(line) || RE_QUOTE.test(line);
}

function listMarker(line) {
  const m = RE_LIST.exec(line);
  if (!m) return null;
  const ordered = /\d/.test(m[2]);
  return {
    indent: m[1].length,
    ordered,
    start: ordered ? parseInt(m[2], 10) : 1,
    // Where the item's text starts; continuation lines are dedented by this much.
    contentIndent: m[3] == null ? m[1].length + m[2].length + 1 : line.indexOf(m[3], m[1].length + m[2].length),
    text: m[3] ?? '',
  };
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cur = '';
  let inCode = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (c === '`') {
      inCode = !inCode;
      cur += c;
    } else if (c === '|' && !inCode) {
      cells.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  cells.push(cur.trim());
  return cells;
}

function codeBlockHtml(lang, code) {
  const label = lang.replace(/[^\w+#.-]/g, '').slice(0, 24);
  return (
    '<div class="code-block">' +
    `<div class="code-head"><span class="code-lang">${escapeHtml(label || 'text')}</span>` +
    '<button type="button" class="copy-btn" aria-label="Copy code">Copy</button></div>' +
    `<pre><code${label ? ` data-lang="${escapeHtml(label)}"` : ''}>${escapeHtml(code)}</code></pre>` +
    '</div>'
  );
}

function renderBlocks(lines, tight = false) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];

    if (!line.trim()) {
      i++;
      continue;
    }

    let m = RE_FENCE.exec(line);
    if (m) {
      const fence = m[1];
      const indent = indentOf(line);
      const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
      const body = [];
      i++;
      while (i < lines.length) {
        const l = lines[i];
        if (close.test(l)) {
          i++;
          break;
        }
        // Fences indented in a list item carry that indentation on every line.
        body.push(l.slice(Math.min(indent, indentOf(l))));
        i++;
      }
      out.push(codeBlockHtml(m[2] || '', body.join('\n')));
      continue;
    }

    m = RE_HEADING.exec(line);
    if (m) {
      const level = m[1].length;
      out.push(`<h${level}>${renderInline(m[2] || '')}</h${level}>`);
      i++;
      continue;
    }

    if (RE_HR.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }

    if (RE_QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && lines[i].trim()) {
        const q = RE_QUOTE.exec(lines[i]);
        // Lazy continuation: a plain line right after a quote line still belongs to it.
        if (!q && (isBlockStart(lines[i]) || listMarker(lines[i]))) break;
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push(`<blockquote>${renderBlocks(inner)}</blockquote>`);
      continue;
    }

    const first = listMarker(line);
    if (first) {
      const items = [];
      let cur = null;
      while (i < lines.length) {
        const l = lines[i];
        const mk = listMarker(l);
        if (mk && mk.indent <= first.indent + 1 && mk.ordered === first.ordered) {
          cur = [mk.text];
          cur.contentIndent = mk.contentIndent;
          items.push(cur);
          i++;
          continue;
        }
        if (mk && mk.indent <= first.indent + 1) break; // a list of the other kind
        if (!l.trim()) {
          // A blank line ends the list unless the next text continues an item.
          let j = i + 1;
          while (j < lines.length && !lines[j].trim()) j++;
          if (j >= lines.length) break;
          const nk = listMarker(lines[j]);
          const continues =
            indentOf(lines[j]) >= Math.min(cur.contentIndent, first.indent + 2) ||
            (nk && nk.indent <= first.indent + 1 && nk.ordered === first.ordered);
          if (!continues) break;
          cur.push('');
          i++;
          continue;
        }
        if (indentOf(l) > first.indent + 1) {
          cur.push(l.slice(Math.min(cur.contentIndent, indentOf(l))));
          i++;
          continue;
        }
        if (isBlockStart(l) || mk) break;
        cur.push(l.trim()); // lazy continuation of the item's paragraph
        i++;
      }
      const tag = first.ordered ? 'ol' : 'ul';
      const start = first.ordered && first.start !== 1 ? ` start="${first.start}"` : '';
      // An item with a blank line inside is "loose": its paragraphs keep their <p>.
      const body = items.map((it) => `<li>${renderBlocks(it, !it.some((l, k) => k > 0 && k < it.length - 1 && l === ''))}</li>`).join('');
      out.push(`<${tag}${start}>${body}</${tag}>`);
      continue;
    }

    if (line.includes('|') && i + 1 < lines.length && RE_TABLE_SEP.test(lines[i + 1]) &&
        lines[i + 1].includes('-')) {
      const head = splitRow(line);
      const aligns = splitRow(lines[i + 1]).map((c) =>
        c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : '');
      if (aligns.length === head.length || lines[i + 1].includes('|')) {
        i += 2;
        const rows = [];
        while (i < lines.length && lines[i].trim() && lines[i].includes('|')) {
          rows.push(splitRow(lines[i]));
          i++;
        }
        const cell = (tag, text, k) => {
          const a = aligns[k] ? ` style="text-align:${aligns[k]}"` : '';
          return `<${tag}${a}>${renderInline(text)}</${tag}>`;
        };
        const thead = `<tr>${head.map((c, k) => cell('th', c, k)).join('')}</tr>`;
        const tbody = rows
          .map((r) => `<tr>${head.map((_, k) => cell('td', r[k] ?? '', k)).join('')}</tr>`)
          .join('');
        out.push(`<div class="table-wrap"><table><thead>${thead}</thead><tbody>${tbody}</tbody></table></div>`);
        continue;
      }
    }

    // Paragraph: runs until a blank line or the start of another block.
    const para = [line.trim()];
    i++;
    while (i < lines.length && lines[i].trim() && !isBlockStart(lines[i]) && !listMarker(lines[i])) {
      para.push(lines[i].trim());
      i++;
    }
    const html = para.map((p) => renderInline(p)).join('<br>');
    out.push(tight ? html : `<p>${html}</p>`);
  }
  return out.join(tight ? '' : '\n');
}

export function renderMarkdown(src) {
  const lines = String(src ?? '').replace(/\r\n?/g, '\n').split('\n').map(expandTabs);
  return renderBlocks(lines);
}
