// The page's Markdown renderer (web/markdown.js) turns model output, i.e. untrusted text, into
// HTML assigned to innerHTML. Checked here without a browser: the constructs render, and random
// hostile input never yields a tag outside the renderer's own set, an event-handler attribute,
// or a link to anything but http(s)/mailto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown, safeHref } from '../../../web/markdown.js';

const ALLOWED_TAGS = new Set(['p', 'br', 'strong', 'em', 'code', 'pre', 'h1', 'h2', 'h3', 'h4',
  'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'a', 'hr', 'div', 'span', 'button', 'del',
  'table', 'thead', 'tbody', 'tr', 'th', 'td']);

function checkSafe(html, input) {
  for (const m of html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
    const [, tag, attrs] = m;
    assert.ok(ALLOWED_TAGS.has(tag.toLowerCase()), `tag <${tag}> from ${JSON.stringify(input)}`);
    assert.doesNotMatch(attrs, /\son[a-z]+\s*=/i, `event handler from ${JSON.stringify(input)}`);
    for (const h of attrs.matchAll(/href="([^"]*)"/g)) {
      assert.match(h[1], /^(https?:|mailto:)/i, `href ${h[1]} from ${JSON.stringify(input)}`);
    }
    assert.doesNotMatch(attrs, /style\s*=|src\s*=/i, `attribute from ${JSON.stringify(input)}`);
  }
}

test('Markdown constructs render to the expected elements', () => {
  const html = renderMarkdown([
    '# Title', '', 'Some **bold**, *italic* and `code`.', '', '- one', '- two', '',
    '1. first', '2. second', '', '> quoted', '', '```js', 'const a = 1 < 2;', '```', '',
    '[site](https://example.com) and [bad](javascript:alert(1))', '', '---',
  ].join('\n'));
  assert.match(html, /<h1[^>]*>Title<\/h1>/);
  assert.match(html, /<strong>bold<\/strong>/);
  assert.match(html, /<em>italic<\/em>/);
  assert.match(html, /<code>code<\/code>/);
  assert.match(html, /<ul>\s*<li>one<\/li>\s*<li>two<\/li>\s*<\/ul>/);
  assert.match(html, /<ol>/);
  assert.match(html, /<blockquote>/);
  assert.match(html, /<pre[^>]*><code[^>]*>const a = 1 &lt; 2;/);
  assert.match(html, /href="https:\/\/example.com"/);
  assert.doesNotMatch(html, /javascript:alert\(1\)"/);
  assert.match(html, /<hr/);
  checkSafe(html, 'constructs');
});

test('only http, https and mailto links get an href', () => {
  assert.ok(safeHref('https://a.b/c'));
  assert.ok(safeHref('mailto:x@y.z'));
  for (const u of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:x', 'data:text/html,x',
    'vbscript:x', '//evil.com', 'file:///etc/passwd']) {
    assert.equal(safeHref(u), null, u);
  }
});

test('random hostile input never escapes the renderer (fuzz, fixed seed)', () => {
  const pieces = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '"', "'", '<', '>',
    '&', '`', '```', '```html\n', '**', '*', '_', '[', ']', '(', ')', '](', 'javascript:alert(1)',
    'https://x.y/"onmouseover="a', '# ', '- ', '1. ', '> ', '\n', '\n\n', '|', '---', '<a href=x>',
    '</p>', '<svg onload=x>', '&lt;', '\\', 'text', ' ', '<style>', 'on', 'click=', 'mailto:a@b'];
  let seed = 12345;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 5000; ++i) {
    let s = '';
    const len = 1 + rand(24);
    for (let j = 0; j < len; ++j) s += pieces[rand(pieces.length)];
    checkSafe(renderMarkdown(s), s);
  }
});
