// The previous period, read honestly: its buckets for the chart (the range the overview's
// *_change numbers compare with, in the chart's interval), and whether it starts before the
// site's history does.
// A previous period the site did not exist for makes changes like "+23,720%": the tiles say
// "new" instead, with the reason in their title.
const DAY = 86400000;
const HISTORY_DAYS = 1830;  // how far back "any earlier data?" looks (the API's longest range)

const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (label) => Date.parse(`${label.slice(0, 10)}T00:00:00Z`);

/** The range an overview (`report`: its `range` and `comparison`) compares with: {from, to}, or
 * null for 24h (the previous hours are not a from/to of whole days). */
export function previousRange(report) {
  if (!report?.comparison || report.range.interval === 'hour') return null;
  return {from: report.comparison.date_from, to: report.comparison.date_to};
}

/** The days before `range.from` the history check reads. */
export function historyRange(range) {
  const start = dayMs(range.from);
  return {from: iso(start - HISTORY_DAYS * DAY), to: iso(start - DAY)};
}

/** Query params of the same view (site, filters) over another range: `base` is apiParams(...). */
export function overRange(base, range, {filters = true} = {}) {
  const q = new URLSearchParams(base);
  q.delete('period');
  q.set('from', range.from);
  q.set('to', range.to);
  if (!filters) q.delete('filters');
  return q;
}

/** Whether no event (unfiltered: the site's history) came before the range the overview
 * `report` compares with: {range, partial}, or null for 24h. */
export async function historyCheck(api, base, report, signal) {
  const range = previousRange(report);
  if (!range) return null;
  const before = await api.get('/api/v1/stats/overview', overRange(base, historyRange(range), {filters: false}), signal);
  return {range, partial: before.visitors === 0 && before.pageviews === 0};
}

/** The previous period's series (in `interval` buckets, matched to the current ones by position)
 * with the history check: {range, rows, partial} or null. */
export async function loadPrevious(api, base, report, signal, interval) {
  const range = previousRange(report);
  if (!range) return null;
  const query = overRange(base, range);
  query.set('interval', interval);
  const [rows, check] = await Promise.all([
    api.get('/api/v1/stats/timeseries', query, signal),
    historyCheck(api, base, report, signal),
  ]);
  return {...check, rows};
}

/** A change still being checked against the site's history (tiles show it greyed). */
export const PENDING = {text: '…', tone: 'flat pending', title: 'Comparing with the previous period'};

/** Tiles' changes replaced by "new" when the previous period starts before the site's data. */
export function markPartial(tiles, previous) {
  if (!previous?.partial) return tiles;
  const title = `The previous period (${previous.range.from} – ${previous.range.to}) starts before this site's first recorded visit, so there is nothing fair to compare with.`;
  return tiles.map((tile) => ({...tile, change: {text: 'new', tone: 'flat', title, partial: true}}));
}
