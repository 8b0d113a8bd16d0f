// The E-commerce view: overview tiles, revenue chart, funnel, products and revenue by source.
import {barTable, cardShell, kpiTiles, message} from './cards.js';
import {timeChart} from './charts.js';
import {clear, el} from './dom.js';
import {change, money, num, pct} from './format.js';

function overviewTiles(data) {
  const cur = data.currency;
  return [
    {key: 'revenue', label: 'Revenue', value: data.revenue, display: money(data.revenue, cur), change: change(data.revenue_change)},
    {key: 'transactions', label: 'Transactions', value: data.transactions, display: num(data.transactions), change: change(data.transactions_change)},
    {key: 'avg_order_value', label: 'Average order', value: data.avg_order_value, display: money(data.avg_order_value, cur), change: change(data.avg_order_value_change)},
    {key: 'conversion_rate', label: 'Conversion rate', value: data.conversion_rate, display: pct(data.conversion_rate), change: change(data.conversion_rate_change, {points: true})},
  ];
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

export function createCommerceView(root, {api, params, onFilter, onError}) {
  const kpis = el('div', {class: 'kpis', id: 'commerce-kpis'});
  const note = el('p', {class: 'card-note', hidden: true});
  const chart = cardShell('Revenue', {wide: true, id: 'revenue-chart-card'});
  const chartBox = el('div', {class: 'chart', id: 'revenue-chart'});
  chart.body.append(chartBox);
  const funnel = cardShell('Funnel', {id: 'card-funnel', wide: true});
  const products = cardShell('Top products', {id: 'card-products'});
  const sources = cardShell('Revenue by source', {id: 'card-revenue-sources'});
  root.append(kpis, note, chart.root, el('div', {class: 'grid'}, funnel.root, products.root, sources.root));

  const table = async (card, path, view, signal) => {
    const rows = await api.get(path, params({limit: 10}), signal);
    if (!rows.length) message(card.body, 'No data for this period.');
    else clear(card.body).append(barTable(rows, view, onFilter));
  };

  async function refresh(signal) {
    try {
      const overview = await api.get('/api/v1/stats/ecommerce/overview', params(), signal);
      const cur = overview.currency;
      kpiTiles(kpis, overviewTiles(overview));
      note.hidden = !overview.warnings.length;
      note.textContent = overview.warnings.join(' ');
      const revenue = {label: 'Revenue', value: (r) => r.revenue, format: (v) => money(v, cur)};
      await Promise.all([
        api.get('/api/v1/stats/ecommerce/revenue-timeseries', params(), signal).then((rows) => timeChart(chartBox, {
          labels: rows.map((r) => r.date),
          series: [{label: `Revenue (${cur})`, values: rows.map((r) => r.revenue), bars: true, format: (v) => money(v, cur)}],
        })),
        api.get('/api/v1/stats/ecommerce/funnel', params(), signal).then((steps) => {
          clear(funnel.body).append(funnelList(steps));
        }),
        table(products, '/api/v1/stats/ecommerce/products', {nameLabel: 'Product', name: (r) => r.item_name,
          columns: [revenue, {label: 'Quantity', value: (r) => r.quantity}, {label: 'Orders', value: (r) => r.orders}]}, signal),
        table(sources, '/api/v1/stats/ecommerce/revenue-by-source', {nameLabel: 'Source', name: (r) => r.source,
          filter: (r) => ({dimension: 'source', operator: 'is', value: r.source}),
          columns: [revenue, {label: 'Transactions', value: (r) => r.transactions}]}, signal),
      ]);
    } catch (error) {
      if (error.name !== 'AbortError') onError(error);
    }
  }

  return {refresh};
}
