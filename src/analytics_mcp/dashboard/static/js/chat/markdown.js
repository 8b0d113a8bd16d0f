// A deliberately small Markdown renderer for the chat's answers, built with DOM APIs only: raw HTML
// is shown as text, images become their alt text (no remote fetches), links must be http(s).
// Supports paragraphs, headings, lists, tables, block quotes, fenced code, **bold**, *italic*,
// `code` and [links](https://...).
import {el} from '../dom.js';

const INLINE = new RegExp([
  /(`+)([\s\S]*?)\1/.source, // 1,2 code
  /\*\*(?=\S)([\s\S]+?)\*\*/.source, // 3 bold
  /__(?=\S)([\s\S]+?)__/.source, // 4 bold
  /\*(?=\S)([\s\S]+?)\*/.source, // 5 italic
  /(?<![\w])_(?=\S)([\s\S]+?)_(?![\w])/.source, // 6 italic
  /!\[([^\]]*)\]\([^)]*\)/.source, // 7 image -> alt text
  /\[([^\]]+)\]\(\s*([^)\s]+)(?:\s+"[^"]*")?\s*\)/.source, // 8,9 link
].join('|'), 'g');

export function safeHref(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

export function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) out.push(el('code', {}, m[2]));
    else if (m[3] !== undefined || m[4] !== undefined) out.push(el('strong', {}, inline(m[3] ?? m[4])));
    else if (m[5] !== undefined || m[6] !== undefined) out.push(el('em', {}, inline(m[5] ?? m[6])));
    else if (m[7] !== undefined) out.push(m[7] ? `[image: ${m[7]}]` : '');
    else out.push(link(m[8], m[9]));
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function link(label, href) {
  const safe = safeHref(href);
  if (!safe) return inline(label);
  return el('a', {href: safe, rel: 'noopener noreferrer nofollow', target: '_blank'}, inline(label));
}

const BLOCK_START = /^(```|#{1,6}\s|>\s?|\s*[-*+]\s+|\s*\d+[.)]\s+|\s*\|)/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

function cells(line) {
  return line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
}

function table(lines) {
  const [head, , ...body] = lines;
  return el('table', {class: 'md-table'},
    el('thead', {}, el('tr', {}, cells(head).map((c) => el('th', {}, inline(c))))),
    el('tbody', {}, body.map((row) => el('tr', {}, cells(row).map((c) => el('td', {}, inline(c)))))));
}

function list(lines, ordered) {
  const marker = ordered ? /^\s*\d+[.)]\s+/ : /^\s*[-*+]\s+/;
  return el(ordered ? 'ol' : 'ul', {}, lines.map((line) => el('li', {}, inline(line.replace(marker, '')))));
}

function take(lines, i, test) {
  const out = [];
  while (i < lines.length && test(lines[i])) out.push(lines[i++]);
  return out;
}

/** Markdown text -> array of block nodes. */
export function markdown(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    if (line.startsWith('```')) {
      const body = take(lines, i + 1, (l) => !l.startsWith('```'));
      blocks.push(el('pre', {}, el('code', {}, body.join('\n'))));
      i += body.length + 2;
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(6, line.indexOf(' ') + 2);
      blocks.push(el(`h${level}`, {class: 'md-heading'}, inline(line.replace(/^#+\s+/, ''))));
      i++;
    } else if (RULE.test(line)) {
      blocks.push(el('hr'));
      i++;
    } else if (line.trim().startsWith('|') && TABLE_RULE.test(lines[i + 1] ?? '')) {
      const rows = take(lines, i, (l) => l.trim().startsWith('|'));
      blocks.push(table(rows));
      i += rows.length;
    } else if (/^\s*[-*+]\s+/.test(line) || /^\s*\d+[.)]\s+/.test(line)) {
      const ordered = /^\s*\d+[.)]\s+/.test(line);
      const items = take(lines, i, (l) => (ordered ? /^\s*\d+[.)]\s+/ : /^\s*[-*+]\s+/).test(l));
      blocks.push(list(items, ordered));
      i += items.length;
    } else if (/^>\s?/.test(line)) {
      const quoted = take(lines, i, (l) => /^>\s?/.test(l));
      blocks.push(el('blockquote', {}, markdown(quoted.map((l) => l.replace(/^>\s?/, '')).join('\n'))));
      i += quoted.length;
    } else {
      const para = [line, ...take(lines, i + 1, (l) => l.trim() && !BLOCK_START.test(l) && !RULE.test(l))];
      const parts = para.flatMap((l, n) => (n ? [el('br'), ...inline(l)] : inline(l)));
      blocks.push(el('p', {}, parts));
      i += para.length;
    }
  }
  return blocks;
}
