// The Traffic view: KPI tiles, visitors/pageviews chart and breakdown cards, all from /api/v1
// (plus /dashboard/api for channels and goals, which the REST API does not have).
import {breakdownCard, cardShell, kpiTiles} from './cards.js';
import {chartPlaceholder, timeChart} from './charts.js';
import {el} from './dom.js';
import {change, duration, num, pct} from './format.js';
import {failed, paintCurrent, tilePlaceholders} from './loading.js';
import {createOnboarding} from './onboarding.js';
import {createRealtimeCard} from './realtime.js';

const languageNames = new Intl.DisplayNames(['en'], {type: 'language'});
const regionNames = new Intl.DisplayNames(['en'], {type: 'region'});
const visitors = {label: 'Visitors', value: (r) => r.visitors};
const is = (dimension, value) => (value == null ? null : {dimension, operator: 'is', value});

function languageName(code) {
  if (!code) return 'Unknown';
  try {
    return languageNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** "🇩🇪 Germany" for "DE": the flag is the code's two regional indicator symbols. */
export function countryName(code) {
  if (!code) return 'Unknown';
  const flag = String.fromCodePoint(...[...code].map((c) => 0x1f1a5 + c.charCodeAt(0)));
  let name = code;
  try {
    name = regionNames.of(code) ?? code;
  } catch { /* not a region Intl knows: the code itself */ }
  return `${flag} ${name}`;
}

const VIEWS = {
  pages: {nameLabel: 'Page', name: (r) => r.pathname, filter: (r) => is('page', r.pathname),
    columns: [visitors, {label: 'Pageviews', value: (r) => r.pageviews},
      {label: 'Time on page', value: (r) => r.avg_duration, format: duration}]},
  sources: {nameLabel: 'Source', name: (r) => r.referrer_source,
    sub: (r) => (r.referrer && r.referrer !== r.referrer_source ? r.referrer : null),
    filter: (r) => is('source', r.referrer_source), columns: [visitors]},
  channels: {nameLabel: 'Channel', name: (r) => r.channel, filter: (r) => is('channel', r.channel), columns: [visitors]},
  campaigns: {nameLabel: 'Campaign', name: (r) => r.utm_campaign ?? '(no campaign)',
    sub: (r) => [r.utm_source, r.utm_medium].filter(Boolean).join(' / ') || null,
    filter: (r) => is('utm_campaign', r.utm_campaign),
    columns: [visitors, {label: 'Pageviews', value: (r) => r.pageviews}]},
  devices: {nameLabel: 'Device', name: (r) => r.device_type, filter: (r) => is('device', r.device_type), columns: [visitors]},
  browsers: {nameLabel: 'Browser', name: (r) => r.browser, filter: (r) => is('browser', r.browser), columns: [visitors]},
  os: {nameLabel: 'Operating system', name: (r) => r.os, filter: (r) => is('os', r.os), columns: [visitors]},
  languages: {nameLabel: 'Language', name: (r) => languageName(r.language), sub: (r) => r.language,
    filter: (r) => is('language', r.language), columns: [visitors]},
  countries: {nameLabel: 'Country', name: (r) => countryName(r.country), sub: (r) => r.country,
    filter: (r) => is('country', r.country),
    columns: [visitors, {label: 'Visits', value: (r) => r.visits}, {label: 'Pageviews', value: (r) => r.pageviews}]},
  goals: {nameLabel: 'Goal', name: (r) => r.name, filter: goalTarget,
    sub: (r) => (r.type === 'url' ? `${r.config.match_type} ${r.config.path}` : `event ${r.config.event_name}`),
    columns: [{label: 'Uniques', value: (r) => r.visitors}, {label: 'Completions', value: (r) => r.completions},
      {label: 'Conversion', value: (r) => r.conversion_rate, format: pct}]},
};

/** Where a goal row leads: its site, and its page where the filter grammar says it exactly
 * (exact path: page is; prefix: page contains). An event goal has no filter: its site only. */
export function goalTarget(goal) {
  const {match_type: match, path} = goal.config;
  const page = goal.type !== 'url' ? null
    : match === 'exact' ? is('page', path) : match === 'prefix' ? {dimension: 'page', operator: 'contains', value: path} : null;
  return {site: goal.site, filter: page};
}

// Goals come in the order they were created; the card ranks them like every other card.
const byUniques = (goals) => [...goals].sort((a, b) => b.visitors - a.visitors || b.completions - a.completions);

const TILES = [['visitors', 'Unique visitors'], ['visits', 'Total visits'], ['pageviews', 'Total pageviews'],
  ['views_per_visit', 'Views per visit'], ['bounce_rate', 'Bounce rate'], ['avg_duration', 'Visit duration']];

export function overviewTiles(data) {
  return [
    {key: 'visitors', label: 'Unique visitors', value: data.visitors, display: num(data.visitors), change: change(data.visitors_change)},
    {key: 'visits', label: 'Total visits', value: data.visits, display: num(data.visits), change: change(data.visits_change)},
    {key: 'pageviews', label: 'Total pageviews', value: data.pageviews, display: num(data.pageviews), change: change(data.pageviews_change)},
    {key: 'views_per_visit', label: 'Views per visit', value: data.views_per_visit, display: data.views_per_visit.toFixed(2), change: change(data.views_per_visit_change)},
    {key: 'bounce_rate', label: 'Bounce rate', value: data.bounce_rate, display: pct(data.bounce_rate), change: change(data.bounce_rate_change, {points: true, lowerIsBetter: true})},
    {key: 'avg_duration', label: 'Visit duration', value: data.avg_duration, display: duration(data.avg_duration), change: change(data.avg_duration_change)},
  ];
}

export function createTrafficView(root, {api, params, onFilter, onError, state, sites, onLive, onGoal}) {
  const load = (path, extra = {}) => (signal) => api.get(path, params(extra), signal);
  const top = (path) => load(path, {limit: 10});
  const kpis = el('div', {class: 'kpis', id: 'kpis'});
  const chart = cardShell('Visitors and pageviews', {wide: true, id: 'main-chart-card'});
  const chartBox = el('div', {class: 'chart', id: 'main-chart'});
  chart.body.append(chartBox);
  const tab = (key, label, loader) => ({key, label, load: loader, view: VIEWS[key]});
  // Under "All sites" (of several) a goal names its site: two "Purchase" goals are told apart.
  const goalsView = {...VIEWS.goals, tag: (r) => (!state().site && sites.length > 1 ? r.site : null)};
  const cards = [
    breakdownCard('Top pages', [tab('pages', 'Pages', top('/api/v1/stats/pages'))], onFilter, {id: 'card-pages'}),
    breakdownCard('Sources', [
      tab('sources', 'Sources', top('/api/v1/stats/referrers')),
      tab('channels', 'Channels', top('/dashboard/api/channels')),
      tab('campaigns', 'Campaigns', top('/api/v1/stats/campaigns')),
    ], onFilter, {id: 'card-sources'}),
    breakdownCard('Devices', [
      tab('devices', 'Devices', load('/api/v1/stats/devices')),
      tab('browsers', 'Browsers', top('/api/v1/stats/browsers')),
      tab('os', 'OS', top('/api/v1/stats/operating-systems')),
    ], onFilter, {id: 'card-devices'}),
    breakdownCard('Countries', [
      tab('countries', 'Countries', top('/api/v1/stats/countries')),
      tab('languages', 'Languages', top('/api/v1/stats/languages')),
    ], onFilter, {id: 'card-countries'}),
    breakdownCard('Goals', [{key: 'goals', label: 'Goals', view: goalsView,
      load: async (signal) => byUniques((await api.get('/dashboard/api/goals', params(), signal)).goals)}],
    onGoal, {wide: true, id: 'card-goals'}),
  ];
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
      if (all.pageviews) return;
      content.hidden = true;
      onboarding.wait(domain, signal);
    }, () => null);
  }

  /** Placeholders first, then every part paints itself while `signal` is the view's current one. */
  async function refresh(signal) {
    onboarding.hide();
    content.hidden = false;
    const live = realtime.refresh(signal);
    tilePlaceholders(kpis, TILES);
    chartPlaceholder(chartBox);
    const overview = paintCurrent(signal, (s) => api.get('/api/v1/stats/overview', params(), s),
      (data) => {
        kpiTiles(kpis, overviewTiles(data));
        if (data.pageviews === 0) checkNew(signal);
      }, (error) => failed(kpis, error));
    const series = paintCurrent(signal, (s) => api.get('/api/v1/stats/timeseries', params(), s), (rows) => timeChart(chartBox, {
      labels: rows.map((r) => r.date),
      series: [
        {label: 'Visitors', values: rows.map((r) => r.visitors), fill: true},
        {label: 'Pageviews', values: rows.map((r) => r.pageviews)},
      ],
      signal,
    }), (error) => failed(chartBox, error));
    const errors = await Promise.all([overview, series, live, ...cards.map((c) => c.refresh(signal))]);
    const error = errors.find(Boolean);
    if (error && !signal.aborted) onError(error);
  }

  return {refresh};
}
