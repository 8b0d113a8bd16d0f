// The Traffic view: KPI tiles, the visitors/pageviews chart with the previous period, and the
// breakdown cards, all from /api/v1 (plus /dashboard/api for channels and goals, which the REST
// API does not have). Every card downloads its rows as CSV from the same route (format=csv).
import {createEventsCard, restTab} from './behaviour.js';
import {breakdownCard, cardShell, csvLink, kpiTiles} from './cards.js';
import {chartPlaceholder, timeChart} from './charts.js';
import {PENDING, loadPrevious, markPartial} from './comparison.js';
import {el} from './dom.js';
import {change, duration, num, pct} from './format.js';
import {intervalPicker} from './intervals.js';
import {failed, paintCurrent, tilePlaceholders} from './loading.js';
import {createOnboarding} from './onboarding.js';
import {createRealtimeCard} from './realtime.js';
import {VIEWS} from './rowviews.js';
import {chartInterval} from './state.js';
import {paintWorldMap} from './worldmap.js';

// Goals come in the order they were created; the card ranks them like every other card.
const byUniques = (goals) => [...goals].sort((a, b) => b.visitors - a.visitors || b.completions - a.completions);

const TILES = [['visitors', 'Unique visitors'], ['visits', 'Total visits'], ['pageviews', 'Total pageviews'],
  ['views_per_visit', 'Views per visit'], ['bounce_rate', 'Bounce rate'], ['avg_duration', 'Visit duration']];

export function overviewTiles(data, pending = false) {
  const tile = (key, label, display, delta) => ({key, label, value: data[key], display, change: pending ? PENDING : delta});
  return [
    tile('visitors', 'Unique visitors', num(data.visitors), change(data.visitors_change)),
    tile('visits', 'Total visits', num(data.visits), change(data.visits_change)),
    tile('pageviews', 'Total pageviews', num(data.pageviews), change(data.pageviews_change)),
    tile('views_per_visit', 'Views per visit', data.views_per_visit.toFixed(2), change(data.views_per_visit_change)),
    tile('bounce_rate', 'Bounce rate', pct(data.bounce_rate), change(data.bounce_rate_change, {points: true, lowerIsBetter: true})),
    tile('avg_duration', 'Visit duration', duration(data.avg_duration), change(data.avg_duration_change)),
  ];
}

function trafficCards(context) {
  const {api, params, onFilter, state, sites, onGoal} = context;
  const top = (path) => ({path, extra: {limit: 10}});
  const tab = (key, label, source, view = VIEWS[key]) => restTab(context, key, label, view, source);
  const map = {...tab('map', 'Map', {path: '/api/v1/stats/countries', extra: {limit: 100}}, VIEWS.countries),
    paint: (body, rows) => paintWorldMap(body, rows, onFilter)};
  // Under "All sites" (of several) a goal names its site: two "Purchase" goals are told apart.
  const goalsView = {...VIEWS.goals, tag: (r) => (!state().site && sites.length > 1 ? r.site : null)};
  const goals = {...tab('goals', 'Goals', {path: '/dashboard/api/goals'}, goalsView),
    load: async (signal) => byUniques((await api.get('/dashboard/api/goals', params(), signal)).goals)};
  return [
    breakdownCard('Top pages', [tab('pages', 'Pages', top('/api/v1/stats/pages')),
      tab('entry_pages', 'Entry', top('/api/v1/stats/entry-pages')),
      tab('exit_pages', 'Exit', top('/api/v1/stats/exit-pages')),
      tab('scroll', 'Scroll depth', top('/api/v1/stats/scroll-depth'))], onFilter, {id: 'card-pages'}),
    breakdownCard('Sources', [tab('sources', 'Sources', top('/api/v1/stats/referrers')),
      tab('channels', 'Channels', top('/dashboard/api/channels')),
      tab('campaigns', 'Campaigns', top('/api/v1/stats/campaigns'))], onFilter, {id: 'card-sources'}),
    breakdownCard('Devices', [tab('devices', 'Devices', {path: '/api/v1/stats/devices'}),
      tab('browsers', 'Browsers', top('/api/v1/stats/browsers')),
      tab('os', 'OS', top('/api/v1/stats/operating-systems'))], onFilter, {id: 'card-devices'}),
    breakdownCard('Countries', [map, tab('countries', 'Countries', top('/api/v1/stats/countries')),
      tab('languages', 'Languages', top('/api/v1/stats/languages'))], onFilter, {id: 'card-countries'}),
    createEventsCard(context),
    breakdownCard('Goals', [goals], onGoal, {wide: true, id: 'card-goals'}),
  ];
}

/** The chart card: current period, previous period (dashed) and the running bucket shaded. */
function mainChart(context) {
  const chart = cardShell('Visitors and pageviews', {wide: true, id: 'main-chart-card'});
  const box = el('div', {class: 'chart', id: 'main-chart'});
  const download = csvLink('Download visitors and pageviews as CSV');
  const picker = intervalPicker(context, 'interval-picker');
  chart.head.append(picker.root, download);
  chart.body.append(box);

  function draw(rows, previous, signal) {
    const series = [
      {label: 'Visitors', values: rows.map((r) => r.visitors), fill: true},
      {label: 'Pageviews', values: rows.map((r) => r.pageviews)},
    ];
    if (previous) {
      const label = previous.partial ? 'Visitors, previous period (before the site’s data)' : 'Visitors, previous period';
      series.push({label, values: rows.map((_r, i) => previous.rows[i]?.visitors ?? null), dash: true, color: '#94a3b8'});
    }
    const unfinished = context.state().period !== 'custom';
    const interval = chartInterval(context.state());
    return timeChart(box, {labels: rows.map((r) => r.date), series, signal, unfinished, interval});
  }

  function refresh(signal) {
    chartPlaceholder(box);
    picker.paint();
    const query = context.params({interval: chartInterval(context.state()), format: 'csv'});
    download.href = `${context.api.base ?? ''}/api/v1/stats/timeseries?${query}`;
  }

  return {root: chart.root, box, draw, refresh};
}

/** Performance marks for bench/dashboard.py: 'traffic-numbers' once the tiles and the chart show
 * this view's numbers, 'traffic-complete' once every card has answered too. */
function marks(signal, numbers, cards) {
  const mark = (name) => !signal.aborted && performance.mark(name);
  Promise.all(numbers).then(() => mark('traffic-numbers'));
  Promise.all([...numbers, ...cards]).then(() => mark('traffic-complete'));
}

export function createTrafficView(root, context) {
  const {api, params, onError, state, sites, onLive} = context;
  const kpis = el('div', {class: 'kpis', id: 'kpis'});
  const chart = mainChart(context);
  const cards = trafficCards(context);
  const realtime = createRealtimeCard({api, params});
  const onboarding = createOnboarding({api, onLive});
  const content = el('div', {class: 'view-content'}, realtime.root, kpis, chart.root,
    el('div', {class: 'grid'}, cards.map((c) => c.root)));
  root.append(onboarding.root, content);

  /** No pageview in range: if the site (the chosen one, or the only one) has none in a year either,
   * it is new: show how to install the tracker and wait for the first pageview. */
  function checkNew(signal) {
    const view = state();
    const domain = view.site || (sites.length === 1 ? sites[0] : '');
    if (!domain || view.filters.length) return;
    const year = new URLSearchParams({site: domain, period: '12m'});
    paintCurrent(signal, (s) => api.get('/api/v1/stats/overview', year, s), (all) => {
      if (all.pageviews || all.visits) return;  // events without pageviews (a shop backend): not new
      content.hidden = true;
      onboarding.wait(domain, signal);
    }, () => null);
  }

  /** Placeholders first, then every part paints itself while `signal` is the view's current one.
   * The tiles' changes wait for the previous period's check (never a "+23,720%" first). */
  async function refresh(signal) {
    onboarding.hide();
    content.hidden = false;
    const live = realtime.refresh(signal);
    tilePlaceholders(kpis, TILES);
    chart.refresh(signal);
    const base = params();
    const overview = api.get('/api/v1/stats/overview', base, signal);
    const interval = chartInterval(state());
    const series = api.get('/api/v1/stats/timeseries', params({interval}), signal);
    // Without the check (it failed, or the view moved on) the changes show as the API gives them.
    const previous = overview.then((data) => loadPrevious(api, base, data, signal, interval)).catch(() => null);
    let numbers;
    const shown = new Promise((resolve) => { numbers = resolve; });
    const tiles = paintCurrent(signal, () => overview, (data) => {
      kpiTiles(kpis, overviewTiles(data, true));
      numbers();
      if (data.pageviews === 0) checkNew(signal);
      return previous.then((prev) => !signal.aborted && kpiTiles(kpis, markPartial(overviewTiles(data), prev)));
    }, (error) => failed(kpis, error));
    let chartDrawn;
    const drawnFirst = new Promise((resolve) => { chartDrawn = resolve; });
    const drawn = paintCurrent(signal, () => series, async (rows) => {
      await chart.draw(rows, null, signal);
      chartDrawn();
      const prev = await previous;
      if (prev && !signal.aborted) await chart.draw(rows, prev, signal);
    }, (error) => failed(chart.box, error));
    const cardsDone = cards.map((c) => c.refresh(signal));
    marks(signal, [shown, drawnFirst], cardsDone);
    const errors = await Promise.all([tiles, drawn, live, ...cardsDone]);
    const error = errors.find(Boolean);
    if (error && !signal.aborted) onError(error);
  }

  return {refresh};
}
