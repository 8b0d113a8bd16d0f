// The Experiments view: one A/B experiment's variants (the numbers of GET /api/v1/metrics/variants,
// which answers without the data envelope and needs the admin scope: owners and admins), its
// sample-ratio check and its daily trend, for the dashboard's date range.
import {barTable, cardShell, message} from './cards.js';
import {chartPlaceholder, timeChart} from './charts.js';
import {clear, el} from './dom.js';
import {num} from './format.js';
import {failureText, isAbort, placeholder} from './loading.js';

const DAY_MS = 86400000;
const DOCS = 'docs/ab-testing.md';

function isoDay(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function shiftDays(day, days) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The dashboard's period as the /metrics routes' inclusive start_date / end_date. */
export function dateRange(state, today = isoDay(new Date())) {
  if (state.period === 'custom') return {start_date: state.from, end_date: state.to};
  if (state.period === '24h') return {start_date: shiftDays(today, -1), end_date: today};
  if (state.period === '12m') {
    const [y, m, d] = today.split('-').map(Number);
    const yearAgo = new Date(Date.UTC(y - 1, m - 1, d)).toISOString().slice(0, 10);
    return {start_date: shiftDays(yearAgo, 1), end_date: today};
  }
  const days = Number.parseInt(state.period, 10) || 7;
  return {start_date: shiftDays(today, 1 - days), end_date: today};
}

const rate = (v) => (v == null ? '—' : `${v.toFixed(2)}%`);
const signed = (v) => (v > 0 ? `+${v.toFixed(1)}` : v.toFixed(1));
const text = (v) => v;

function uplift(row) {
  if (row.is_control) return 'baseline';
  if (row.relative_uplift == null) return '—';
  const interval = row.relative_uplift_ci_low == null
    ? '' : ` (${signed(row.relative_uplift_ci_low)} to ${signed(row.relative_uplift_ci_high)})`;
  return `${signed(row.relative_uplift)}%${interval}`;
}

function beatsControl(row) {
  if (row.is_control || row.probability_to_beat_control == null) return '—';
  return `${(row.probability_to_beat_control * 100).toFixed(1)}%`;
}

const VARIANTS = {
  nameLabel: 'Variant',
  name: (r) => r.variant_slug,
  sub: (r) => (r.is_control && r.variant_slug !== 'control' ? 'control' : null),
  columns: [
    {label: 'Visitors', value: (r) => r.visitors, format: num},
    {label: 'Views', value: (r) => r.views, format: num},
    {label: 'Clicks', value: (r) => r.clicks, format: num},
    {label: 'Conversions', value: (r) => r.conversions, format: num},
    {label: 'Conv. rate', value: (r) => r.conversion_rate, format: rate},
    {label: 'Uplift (95% CI)', value: uplift, format: text},
    {label: 'P(beats control)', value: beatsControl, format: text},
  ],
};

function trendSeries(stats, key) {
  return stats.map((s) => ({label: s.variant_slug, values: s.trend.map((p) => p[key]), fill: s.is_control}));
}

function emptyState(body) {
  clear(body).append(el('div', {class: 'card-empty', id: 'experiments-empty'},
    el('p', {}, 'No A/B experiments yet.'),
    el('p', {}, 'Create one with ', el('code', {}, 'analytics-mcp experiments add --site … --slug …'),
      ', add the tracking snippet to your pages, and its variants show up here. See ', el('code', {}, DOCS), '.')));
}

export function createExperimentsView(root, {api, state, onExperiment, onError}) {
  const select = el('select', {id: 'experiment-select', 'aria-label': 'Experiment'});
  select.addEventListener('change', () => onExperiment(select.value));
  const picker = el('label', {class: 'experiment-picker'}, el('span', {}, 'Experiment'), select);
  const card = cardShell('Variants', {wide: true, id: 'card-variants'});
  card.head.append(picker);
  const srm = el('p', {class: 'notice warn', id: 'srm-warning', role: 'alert', hidden: true});
  const views = cardShell('Views per day', {id: 'card-trend-views'});
  const viewsBox = el('div', {class: 'chart', id: 'experiment-views-chart'});
  views.body.append(viewsBox);
  const conversions = cardShell('Conversions per day', {id: 'card-trend-conversions'});
  const conversionsBox = el('div', {class: 'chart', id: 'experiment-conversions-chart'});
  conversions.body.append(conversionsBox);
  const charts = el('div', {class: 'grid'}, views.root, conversions.root);
  root.append(srm, card.root, charts);

  function paintSelect(experiments, chosen) {
    clear(select).append(...experiments.map((e) => el('option', {value: e.slug},
      `${e.name || e.slug} · ${e.site}${e.status === 'running' ? '' : ` (${e.status})`}`)));
    select.value = chosen.slug;
  }

  function pick(experiments, wanted) {
    return experiments.find((e) => e.slug === wanted)
      ?? experiments.findLast((e) => e.status === 'running')
      ?? experiments.at(-1);
  }

  /** Placeholders first; nothing is painted once `signal` (this view's) is aborted. */
  async function refresh(signal) {
    const view = state();
    srm.hidden = true;
    placeholder(card.body, 3);
    chartPlaceholder(viewsBox);
    chartPlaceholder(conversionsBox);
    try {
      const siteParams = new URLSearchParams(view.site ? {site: view.site} : {});
      const experiments = await api.get('/api/v1/experiments', siteParams, signal);
      if (signal.aborted) return;
      picker.hidden = !experiments.length;
      charts.hidden = !experiments.length;
      if (!experiments.length) return emptyState(card.body);
      const chosen = pick(experiments, view.experiment);
      paintSelect(experiments, chosen);
      const query = new URLSearchParams({...dateRange(view), experiment: chosen.slug});
      const report = await api.get('/api/v1/metrics/variants', query, signal, {raw: true});
      if (signal.aborted) return;
      const ratio = report.sample_ratio_mismatch;
      if (ratio?.mismatch) {
        const split = ratio.variants.map((v) => `${v.variant_slug} ${num(v.visitors)} (expected ${num(Math.round(v.expected_visitors))})`);
        srm.textContent = `Sample ratio mismatch (p = ${ratio.p_value}): the visitors' split ${split.join(', ')} does not match the variant weights, so these results may be biased. Check the assignment and tracking before trusting them.`;
        srm.hidden = false;
      }
      card.root.dataset.start = report.start_date;
      card.root.dataset.end = report.end_date;
      if (!report.stats.some((s) => s.visitors || s.views)) message(card.body, `No visitors in ${report.experiment.name} between ${report.start_date} and ${report.end_date}.`);
      else clear(card.body).append(barTable(report.stats, VARIANTS, () => {}, {scroll: true}));
      const labels = report.stats[0]?.trend.map((p) => p.date) ?? [];
      await Promise.all([
        timeChart(viewsBox, {labels, series: trendSeries(report.stats, 'views'), signal}),
        timeChart(conversionsBox, {labels, series: trendSeries(report.stats, 'conversions'), height: 240, signal}),
      ]);
    } catch (error) {
      if (signal.aborted || isAbort(error)) return;
      charts.hidden = true;
      if (error.status === 403) {
        message(card.body, 'Viewing A/B experiment results needs an owner or admin of this account: ask one of them to open this tab, or to change your role.', 'error');
      } else {
        message(card.body, failureText(error), 'error');
        onError(error);
      }
    }
  }

  return {refresh};
}
