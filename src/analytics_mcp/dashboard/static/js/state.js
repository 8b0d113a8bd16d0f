// The view lives in the query string (site, period or from/to, filters, tab), so a view can be
// shared, bookmarked and reloaded. Filters are `f=dimension==value` (also != and ~), one per `f`.

export const PERIODS = [
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['12m', 'Last 12 months'],
];
export const TABS = ['traffic', 'commerce', 'experiments', 'segments'];
// The chart's bucket sizes (the API's `interval`): `interval=` in the URL, '' = the API's default.
export const INTERVALS = [['hour', 'Hours'], ['day', 'Days'], ['week', 'Weeks'], ['month', 'Months']];
const PERIOD_DAYS = {'7d': 7, '30d': 30, '90d': 90, '12m': 365};
const SLUG = /^[A-Za-z0-9_-]{1,64}$/;
const OPERATORS = {'==': 'is', '!=': 'is_not', '~': 'contains'};
const SYMBOLS = {is: '==', is_not: '!=', contains: '~'};
const FILTER = /^([a-z_]+)(==|!=|~)(.+)$/s;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseFilter(text) {
  const match = FILTER.exec(text);
  if (!match) return null;
  return {dimension: match[1], operator: OPERATORS[match[2]], value: match[3]};
}

export function filterKey(filter) {
  return `${filter.dimension}${SYMBOLS[filter.operator]}${filter.value}`;
}

export function readState(sites, search = location.search) {
  const q = new URLSearchParams(search);
  const state = {
    site: sites.includes(q.get('site')) ? q.get('site') : '',
    period: q.get('period') || '7d',
    from: DATE.test(q.get('from') ?? '') ? q.get('from') : '',
    to: DATE.test(q.get('to') ?? '') ? q.get('to') : '',
    filters: q.getAll('f').map(parseFilter).filter(Boolean).slice(0, 20),
    tab: TABS.includes(q.get('tab')) ? q.get('tab') : 'traffic',
    experiment: SLUG.test(q.get('experiment') ?? '') ? q.get('experiment') : '',
    interval: INTERVALS.some(([key]) => key === q.get('interval')) ? q.get('interval') : '',
  };
  const known = PERIODS.some(([key]) => key === state.period);
  if (state.period === 'custom' ? !(state.from && state.to) : !known) state.period = '7d';
  return state;
}

export function toSearch(state) {
  const q = new URLSearchParams();
  if (state.site) q.set('site', state.site);
  q.set('period', state.period);
  if (state.period === 'custom') {
    q.set('from', state.from);
    q.set('to', state.to);
  }
  for (const filter of state.filters) q.append('f', filterKey(filter));
  if (state.tab !== 'traffic') q.set('tab', state.tab);
  if (state.tab === 'experiments' && state.experiment) q.set('experiment', state.experiment);
  if (intervalChoices(state).includes(state.interval)) q.set('interval', state.interval);
  return `?${q}`;
}

function rangeDays(state) {
  if (state.period !== 'custom') return PERIOD_DAYS[state.period] ?? 1;
  return Math.round((Date.parse(state.to) - Date.parse(state.from)) / 86400000) + 1;
}

/** The bucket sizes the chart offers for this view: the API refuses hours over more than 7 days,
 * and 24h has hours only (no choice). */
export function intervalChoices(state) {
  if (state.period === '24h') return [];
  const days = rangeDays(state);
  if (days <= 7) return ['hour', 'day'];
  return days <= 31 ? ['day', 'week'] : ['day', 'week', 'month'];
}

/** The chart's buckets: the chosen size when this view offers it, else the API's default
 * (engine/periods.py: hour for 24h, day up to 92 days, week up to 366, month beyond). */
export function chartInterval(state) {
  if (intervalChoices(state).includes(state.interval)) return state.interval;
  if (state.period === '24h') return 'hour';
  const days = rangeDays(state);
  return days <= 92 ? 'day' : days <= 366 ? 'week' : 'month';
}

/** The /api/v1 query for this view; filters go as the JSON list, so any value round-trips. */
export function apiParams(state, extra = {}) {
  const q = new URLSearchParams();
  if (state.period === 'custom') {
    q.set('from', state.from);
    q.set('to', state.to);
  } else {
    q.set('period', state.period);
  }
  if (state.site) q.set('site', state.site);
  if (state.filters.length) {
    const list = state.filters.map((f) => ({dimension: f.dimension, operator: f.operator, values: [f.value]}));
    q.set('filters', JSON.stringify(list));
  }
  for (const [key, value] of Object.entries(extra)) q.set(key, String(value));
  return q;
}

/** A copy of `state` with `filter` added, replacing any filter on the same dimension. */
export function withFilter(state, filter) {
  const others = state.filters.filter((f) => f.dimension !== filter.dimension);
  return {...state, filters: [...others, filter]};
}

export function periodLabel(state) {
  if (state.period === 'custom') return `${state.from} – ${state.to}`;
  return PERIODS.find(([key]) => key === state.period)?.[1] ?? state.period;
}
