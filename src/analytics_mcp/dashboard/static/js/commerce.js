// The E-commerce view: overview tiles, revenue chart, funnel, products and revenue by source.
import {barTable, cardShell, csvLink, kpiTiles, message} from './cards.js';
import {chartPlaceholder, timeChart} from './charts.js';
import {PENDING, historyCheck, markPartial} from './comparison.js';
import {clear, el} from './dom.js';
import {change, money, num, pct} from './format.js';
import {intervalPicker} from './intervals.js';
import {failed, paintCurrent, placeholder, tilePlaceholders} from './loading.js';
import {chartInterval} from './state.js';

const TILES = [['revenue', 'Revenue'], ['transactions', 'Transactions'], ['avg_order_value', 'Average order'],
  ['conversion_rate', 'Conversion rate']];

function overviewTiles(data, pending = false) {
  const cur = data.currency;
  const tiles = [
    {key: 'revenue', label: 'Revenue', value: data.revenue, display: money(data.revenue, cur), change: change(data.revenue_change)},
    {key: 'transactions', label: 'Transactions', value: data.transactions, display: num(data.transactions), change: change(data.transactions_change)},
    {key: 'avg_order_value', label: 'Average order', value: data.avg_order_value, display: money(data.avg_order_value, cur), change: change(data.avg_order_value_change)},
    {key: 'conversion_rate', label: 'Conversion rate', value: data.conversion_rate, display: pct(data.conversion_rate), change: change(data.conversion_rate_change, {points: true})},
  ];
  return pending ? tiles.map((tile) => ({...tile, change: PENDING})) : tiles;
}

/** A card's CSV link, pointing at its REST route with this view's params (and `extra`'s, an
 * object or a function giving one when the link is set). */
function withCsv(card, {api, params}, path, extra = {}) {
  const link = csvLink(`Download ${card.root.querySelector('h2').textContent} as CSV`);
  card.head.append(link);
  const more = typeof extra === 'function' ? extra : () => extra;
  return () => { link.href = `${api.base ?? ''}${path}?${params({...more(), format: 'csv'})}`; };
}

function funnelList(steps) {
  const first = Math.max(1, steps[0]?.visitors ?? 0);
  return el('ol', {class: 'funnel'}, steps.map((step) => {
    const bar = el('span', {class: 'funnel-bar'});
    bar.style.width = `${((100 * step.visitors) / first).toFixed(2)}%`;
    return el('li', {class: 'funnel-step', dataset: {step: step.step}},
      el('div', {class: 'funnel-head'}, el('span', {class: 'funnel-label'}, step.label),
        el('span', {class: 'funnel-count'}, `${num(step.visitors)} visitors`)),
      el('div', {class: 'funnel-track'}, bar),
      el('div', {class: 'funnel-drop'}, step.dropoff_rate > 0 ? `${pct(step.dropoff_rate)} drop-off` : ''));
  }));
}

export function createCommerceView(root, context) {
  const {api, params, onFilter, onError} = context;
  const kpis = el('div', {class: 'kpis', id: 'commerce-kpis'});
  const note = el('p', {class: 'card-note', hidden: true});
  const chart = cardShell('Revenue', {wide: true, id: 'revenue-chart-card'});
  const chartBox = el('div', {class: 'chart', id: 'revenue-chart'});
  const picker = intervalPicker(context, 'revenue-interval-picker');
  const interval = () => ({interval: chartInterval(context.state())});
  chart.head.append(picker.root);
  chart.body.append(chartBox);
  const funnel = cardShell('Funnel', {id: 'card-funnel', wide: true});
  const products = cardShell('Top products', {id: 'card-products'});
  const sources = cardShell('Revenue by source', {id: 'card-revenue-sources'});
  root.append(kpis, note, chart.root, el('div', {class: 'grid'}, funnel.root, products.root, sources.root));
  const links = [withCsv(chart, context, '/api/v1/stats/ecommerce/revenue-timeseries', interval),
    withCsv(funnel, context, '/api/v1/stats/ecommerce/funnel'),
    withCsv(products, context, '/api/v1/stats/ecommerce/products', {limit: 10}),
    withCsv(sources, context, '/api/v1/stats/ecommerce/revenue-by-source', {limit: 10})];

  const paintTable = (card, view) => (rows) => {
    if (!rows.length) message(card.body, 'No data for this period.');
    else clear(card.body).append(barTable(rows, view, onFilter));
  };
  const revenue = (cur) => ({label: 'Revenue', value: (r) => r.revenue, format: (v) => money(v, cur)});
  const productsView = (cur) => ({nameLabel: 'Product', name: (r) => r.item_name,
    columns: [revenue(cur), {label: 'Quantity', value: (r) => r.quantity}, {label: 'Orders', value: (r) => r.orders}]});
  const sourcesView = (cur) => ({nameLabel: 'Source', name: (r) => r.source,
    filter: (r) => ({dimension: 'source', operator: 'is', value: r.source}),
    columns: [revenue(cur), {label: 'Transactions', value: (r) => r.transactions}]});

  /** Placeholders first; each part paints itself while `signal` is the view's current one. */
  async function refresh(signal) {
    tilePlaceholders(kpis, TILES);
    note.hidden = true;
    chartPlaceholder(chartBox);
    picker.paint();
    for (const card of [funnel, products, sources]) placeholder(card.body);
    for (const link of links) link();
    const get = (path, extra) => (s) => api.get(path, params(extra), s);
    const overview = get('/api/v1/stats/ecommerce/overview')(signal);
    const currency = overview.then((o) => o.currency, () => null);  // money still shows if this fails
    const withCurrency = (load) => (s) => Promise.all([load(s), currency]);
    const series = get('/api/v1/stats/ecommerce/revenue-timeseries', interval())(signal);
    // The tiles' changes wait for the check that the previous period is not before the site's data.
    const history = overview.then((data) => historyCheck(api, params(), data, signal)).catch(() => null);
    const errors = await Promise.all([
      paintCurrent(signal, () => overview, (data) => {
        kpiTiles(kpis, overviewTiles(data, true));
        note.hidden = !data.warnings.length;
        note.textContent = data.warnings.join(' ');
        return history.then((check) => !signal.aborted && kpiTiles(kpis, markPartial(overviewTiles(data), check)));
      }, (error) => failed(kpis, error)),
      paintCurrent(signal, withCurrency(() => series), ([rows, cur]) => timeChart(chartBox, {
        labels: rows.map((r) => r.date),
        series: [{label: cur ? `Revenue (${cur})` : 'Revenue', values: rows.map((r) => r.revenue), bars: true, format: (v) => money(v, cur)}],
        signal,
        interval: interval().interval,
      }), (error) => failed(chartBox, error)),
      paintCurrent(signal, get('/api/v1/stats/ecommerce/funnel'), (steps) => {
        clear(funnel.body).append(funnelList(steps));
      }, (error) => failed(funnel.body, error)),
      paintCurrent(signal, withCurrency(get('/api/v1/stats/ecommerce/products', {limit: 10})),
        ([rows, cur]) => paintTable(products, productsView(cur))(rows), (error) => failed(products.body, error)),
      paintCurrent(signal, withCurrency(get('/api/v1/stats/ecommerce/revenue-by-source', {limit: 10})),
        ([rows, cur]) => paintTable(sources, sourcesView(cur))(rows), (error) => failed(sources.body, error)),
    ]);
    const error = errors.find(Boolean);
    if (error && !signal.aborted) onError(error);
  }

  return {refresh};
}
