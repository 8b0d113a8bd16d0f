// Line and bar charts with uPlot (pinned, installed by `make setup`, served from our own origin).
// Without it, charts say so and everything else works.
import {clear, el} from './dom.js';
import {short} from './format.js';

const VENDOR = '/dashboard/static/vendor/uPlot.esm.js';
const charts = new WeakMap();
const DAY = 86400;
// Daily buckets never get sub-day ticks (uPlot would label 7 days with hours on a wide chart).
// These are uPlot's own day, month (30 d) and year (365 d) steps, so month ticks still align.
const DAY_INCRS = [1, 2, 3, 4, 5, 7, 10, 15, 30, 60, 90, 180, 365, 730].map((days) => days * DAY);
// Week and month buckets are ticked at their own starts (Mondays, 1sts), every n-th one so the
// labels keep the spacing uPlot found: its increments count days from 1970-01-01, a Thursday, and
// would tick every 5 days or every 7 from a Thursday.
const BUCKET_SECONDS = {week: 7 * DAY, month: 30 * DAY};
let loading;

export function loadChartLibrary() {
  loading ??= import(VENDOR).then((module) => module.default).catch(() => null);
  return loading;
}

/**
 * Bucket labels -> epoch seconds of their wall-clock time: "2026-02-12", or the site-local hour
 * "2026-02-12T14:00:00+01:00" (shown as 14:00 whatever the browser's zone).
 */
export function bucketTime(label) {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}))?/.exec(label);
  if (!match) return NaN;
  const [, y, m, d, h] = match;
  return Date.UTC(+y, +m - 1, +d, h ? +h : 0) / 1000;
}

export const PALETTE = ['#6366f1', '#14b8a6', '#f59e0b', '#ef4444', '#8b5cf6', '#0ea5e9'];

function seriesOptions(uPlot, spec, index) {
  const color = spec.color ?? PALETTE[index % PALETTE.length];
  const options = {
    label: spec.label,
    stroke: color,
    width: 2,
    value: (_u, v) => (v == null ? '—' : spec.format ? spec.format(v) : short(v)),
    points: {show: false},
  };
  if (spec.fill) options.fill = `${color}22`;
  if (spec.dash) options.dash = [6, 4];
  if (spec.bars) {
    options.paths = uPlot.paths.bars({size: [0.7, 40]});
    options.fill = `${color}cc`;
  }
  return options;
}

/** A colour of the theme (css/dashboard.css, css/dark.css): charts follow the light or dark scheme. */
function themed(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** A loading placeholder where a chart will be (the previous chart is removed, not left standing). */
export function chartPlaceholder(container) {
  destroyChart(container);
  clear(container).append(el('div', {class: 'chart-placeholder skeleton', role: 'status', 'aria-label': 'Loading chart'}));
}

/** A uPlot hook shading the last bucket, which is still running ("so far"): its dip is not a drop. */
function shadeLastBucket(color, text) {
  return (u) => {
    const xs = u.data[0];
    if (xs.length < 2) return;
    const left = u.valToPos((xs[xs.length - 2] + xs[xs.length - 1]) / 2, 'x', true);
    const {top, height, left: plotLeft, width} = u.bbox;
    const right = plotLeft + width;
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = color;
    ctx.fillRect(left, top, right - left, height);
    ctx.fillStyle = text;
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.fillText('so far', right - 4 * devicePixelRatio, top + 12 * devicePixelRatio);
    ctx.restore();
  };
}

/** uPlot `splits` for buckets of about `seconds`: the drawn buckets' own times, also given to
 * `drawn` (the chart box's data-ticks lists them as days, for whoever checks the axis). */
function bucketSplits(seconds, drawn) {
  return (u, _axis, min, max, incr) => {
    const every = Math.max(1, Math.round(incr / seconds));
    const ticks = u.data[0].filter((x) => x >= min && x <= max).filter((_x, i) => i % every === 0);
    drawn(ticks);
    return ticks;
  };
}

/** The x axis: days never get sub-day ticks, weeks and months are ticked at their starts (a
 * month by its name), hours as uPlot likes. */
function timeAxis(interval, hourly, colors, drawn) {
  const axis = {stroke: colors.axis, grid: {show: false}, ticks: {stroke: colors.tick}};
  if (hourly) return axis;
  axis.incrs = DAY_INCRS;
  if (BUCKET_SECONDS[interval]) axis.splits = bucketSplits(BUCKET_SECONDS[interval], drawn);
  if (interval === 'month') axis.values = (_u, splits) => splits.map(monthName);
  return axis;
}

/** A month tick (x: UTC midnight of its 1st, as bucketTime reads labels): "Mar", with the year
 * under the first tick and under January's, as uPlot's day ticks do. */
function monthName(x, index) {
  const day = new Date(x * 1000);
  const name = day.toLocaleString('en-US', {month: 'short', timeZone: 'UTC'});
  return index === 0 || day.getUTCMonth() === 0 ? `${name}\n${day.getUTCFullYear()}` : name;
}

// How the legend names a bucket: by its first day (a week's Monday, a month's 1st) or local hour.
const BUCKET_NAMES = {hour: '{MMM} {D}, {HH}:00', day: '{MMM} {D}, {YYYY}', week: 'Week of {MMM} {D}, {YYYY}', month: '{MMMM} {YYYY}'};

/**
 * Draw a time chart in `container`: `labels` are bucket labels, `series` [{label, values, color,
 * fill, bars, dash, format}]; `unfinished`: the last bucket is still running (shaded, "so far");
 * `interval`: the buckets' size (hour, day, week, month; default: hours when labels have times).
 * Replaces any chart drawn there before; nothing is drawn once `signal` (the view's) is aborted.
 */
export async function timeChart(container, {labels, series, height = 240, signal = null, unfinished = false, interval = null}) {
  const uPlot = await loadChartLibrary();
  if (signal?.aborted) return null;
  destroyChart(container);
  clear(container);
  delete container.dataset.ticks;
  if (!uPlot) {
    container.append(el('p', {class: 'chart-missing'},
      'Charts are unavailable: the uPlot files are missing. Run `make setup` to install them.'));
    return null;
  }
  const hourly = labels.some((label) => label.includes('T'));
  const axis = themed('--chart-axis', '#6b7280');
  const grid = themed('--chart-grid', '#eef0f4');
  const tick = themed('--chart-tick', '#e5e7eb');
  const options = {
    width: Math.max(container.clientWidth, 200),
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: {x: {time: true}, y: {range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1]}},
    series: [{value: BUCKET_NAMES[interval ?? (hourly ? 'hour' : 'day')]}, ...series.map((s, i) => seriesOptions(uPlot, s, i))],
    axes: [
      timeAxis(interval, hourly, {axis, tick}, (ticks) => {
        container.dataset.ticks = ticks.map((x) => new Date(x * 1000).toISOString().slice(0, 10)).join(' ');
      }),
      {stroke: axis, grid: {stroke: grid}, ticks: {show: false}, values: (_u, ticks) => ticks.map(short), size: 56},
    ],
    cursor: {drag: {x: false, y: false}},
    legend: {live: true},
    hooks: unfinished ? {drawAxes: [shadeLastBucket(themed('--chart-unfinished', '#6366f114'), axis)]} : {},
  };
  const data = [labels.map(bucketTime), ...series.map((s) => s.values)];
  const chart = new uPlot(options, data, container);
  const observer = new ResizeObserver(() => {
    if (container.clientWidth > 0) chart.setSize({width: container.clientWidth, height});
  });
  observer.observe(container);
  charts.set(container, {chart, observer});
  return chart;
}

export function destroyChart(container) {
  const drawn = charts.get(container);
  if (!drawn) return;
  drawn.observer.disconnect();
  drawn.chart.destroy();
  charts.delete(container);
}
