// Tool results as visuals: headline metrics as mini KPI cards, rows with a date as a line chart,
// other row lists as compact tables. Every string is set as text.
import {timeChart} from '../charts.js';
import {el} from '../dom.js';
import {change, duration, money, num, pct} from '../format.js';

const SKIP = new Set(['definitions', 'range', 'comparison', 'tenant', 'truncated', 'warnings', 'recent_completions']);
const MAX_ROWS = 15;
const MAX_COLUMNS = 6;
const METRICS = {
  visitors: ['Visitors', num], visits: ['Visits', num], pageviews: ['Pageviews', num],
  views_per_visit: ['Views / visit', (v) => v.toFixed(2)], bounce_rate: ['Bounce rate', pct, true],
  avg_duration: ['Visit duration', duration], revenue: ['Revenue', 'money'], transactions: ['Transactions', num],
  avg_order_value: ['Avg. order', 'money'], conversion_rate: ['Conversion', pct, true],
};

const label = (key) => key.replace(/_/g, ' ');
const isRow = (value) => value && typeof value === 'object' && !Array.isArray(value);
const isScalar = (value) => value == null || ['string', 'number', 'boolean'].includes(typeof value);

function metricTiles(data) {
  const keys = Object.keys(METRICS).filter((key) => typeof data[key] === 'number');
  if (!keys.length || Array.isArray(data.rows)) return null;
  return el('div', {class: 'mini-kpis'}, keys.map((key) => {
    const [title, fmt, points] = METRICS[key];
    const shown = fmt === 'money' ? money(data[key], data.currency) : fmt(data[key]);
    const delta = data[`${key}_change`] === undefined ? null
      : change(data[`${key}_change`], {points: Boolean(points), lowerIsBetter: key === 'bounce_rate'});
    return el('div', {class: 'mini-kpi'}, el('span', {class: 'mini-kpi-label'}, title),
      el('strong', {}, shown), delta && el('span', {class: `kpi-change ${delta.tone}`}, delta.text));
  }));
}

/** [title, rows] for every list of row objects in the result (top level or one level down). */
function sections(data) {
  if (Array.isArray(data)) return [['', data]];
  const out = [];
  for (const [key, value] of Object.entries(data)) {
    if (SKIP.has(key)) continue;
    if (Array.isArray(value) && value.some(isRow)) out.push([key === 'rows' ? '' : label(key), value]);
    else if (isRow(value) && Array.isArray(value.rows)) out.push([label(key), value.rows]);
  }
  return out;
}

function cell(key, value) {
  if (value == null) return '—';
  if (typeof value === 'number') {
    if (key.endsWith('rate')) return pct(value);
    if (key === 'avg_duration') return duration(value);
    return Number.isInteger(value) ? num(value) : value.toFixed(2);
  }
  return String(value);
}

function rowsTable(rows) {
  const columns = Object.keys(rows[0]).filter((key) => !SKIP.has(key) && rows.every((r) => isScalar(r[key])))
    .filter((key) => key !== 'id' && key !== 'goal_id').slice(0, MAX_COLUMNS);
  const shown = rows.slice(0, MAX_ROWS);
  const numeric = new Set(columns.filter((c) => rows.some((r) => typeof r[c] === 'number')));
  const align = (c) => (numeric.has(c) ? 'num' : null);
  return el('div', {class: 'tool-table-wrap'}, el('table', {class: 'tool-table'},
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', {class: align(c)}, label(c))))),
    el('tbody', {}, shown.map((row) => el('tr', {}, columns.map((c) => el('td', {class: align(c)}, cell(c, row[c]))))))),
  rows.length > MAX_ROWS && el('p', {class: 'tool-more'}, `… and ${rows.length - MAX_ROWS} more rows`));
}

function rowsChart(rows) {
  const keys = Object.keys(rows[0]).filter((key) => key !== 'date' && rows.every((r) => typeof r[key] === 'number'));
  const box = el('div', {class: 'chart chat-chart'});
  // Drawn once the box is in the document (uPlot measures its width).
  requestAnimationFrame(() => timeChart(box, {
    labels: rows.map((r) => r.date), height: 180,
    series: keys.map((key, i) => ({label: label(key), values: rows.map((r) => r[key]), fill: i === 0})),
  }));
  return box;
}

/** A node showing a tool's structured output, or null when there is nothing to show. */
export function renderToolResult(data) {
  if (data == null || typeof data !== 'object') return null;
  const parts = [metricTiles(data)];
  for (const [title, rows] of sections(data)) {
    if (!rows.length || !isRow(rows[0])) continue;
    const dated = typeof rows[0].date === 'string' && rows.length > 1;
    parts.push(el('div', {class: 'tool-section'}, title && el('h4', {}, title), dated ? rowsChart(rows) : rowsTable(rows)));
  }
  const shown = parts.filter(Boolean);
  return shown.length ? el('div', {class: 'tool-result'}, shown) : null;
}
