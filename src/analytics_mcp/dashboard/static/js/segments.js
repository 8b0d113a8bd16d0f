// The Segments view: the tenant's customer segments with 30-day sparklines, the overlap pairs, the
// activations with their latest syncs and usage against the plan. One read of
// /dashboard/api/segments, which answers what /api/analytics/{segments,overlap,activations,usage}/
// answer (dashboard/segments.py). Not tied to the period or site pickers: these are tenant-wide.
import {cardShell, message} from './cards.js';
import {clear, el} from './dom.js';
import {num, pct} from './format.js';
import {paintCurrent, placeholder} from './loading.js';
import {sparkline} from './sparkline.js';
import {usageCard} from './usage.js';

const DOCS = 'docs/platform.md';

/** A table that scrolls sideways inside its card on a phone (a focusable region named by `titleId`). */
function table(id, titleId, headers, rows) {
  const head = el('tr', {}, headers.map(([label, numeric]) => el('th', {scope: 'col', class: numeric ? 'num' : null}, label)));
  return el('div', {class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': titleId},
    el('table', {class: 'plain', id}, el('thead', {}, head), el('tbody', {}, rows)));
}

const cell = (value, kind = null) => el('td', {class: kind}, value);
const when = (iso) => (iso ? iso.replace('T', ' ').replace(/:\d\dZ$/, ' UTC') : 'never');

function trendLabel(points) {
  if (points.length < 2) return 'No trend yet: computed on fewer than 2 days';
  const [first, last] = [points[0], points[points.length - 1]];
  return `Members from ${num(first.count)} on ${first.day} to ${num(last.count)} on ${last.day}`;
}

function segmentRow(segment) {
  const points = segment.trend;
  return el('tr', {dataset: {segment: segment.id}},
    el('th', {scope: 'row'}, segment.name),
    cell(num(segment.member_count), 'num'),
    el('td', {class: 'trend-cell'}, points.length >= 2
      ? sparkline(points.map((p) => p.count), trendLabel(points))
      : el('span', {class: 'muted', title: trendLabel(points)}, '—')),
    cell(when(segment.last_computed_at), 'when'));
}

function emptySegments(body) {
  clear(body).append(el('div', {class: 'card-empty', id: 'segments-empty'},
    el('p', {}, 'No segments yet.'),
    el('p', {}, 'Create one with ', el('code', {}, 'analytics-mcp segments add'),
      ' or the admin API (', el('code', {}, 'POST /api/v1/segments'),
      ' with an admin token), then compute it with ', el('code', {}, 'analytics-mcp segments compute'),
      '. See ', el('code', {}, DOCS), '.')));
}

function paintSegments(body, segments, total) {
  if (!segments.length) return emptySegments(body);
  const headers = [['Segment'], ['Members', true], ['30-day trend'], ['Last computed']];
  // The overview's total_members: distinct customers, so a customer in three segments counts once.
  const summary = el('p', {class: 'muted', id: 'segments-total'},
    `${num(total)} customers in at least one segment (each counted once)`);
  clear(body).append(summary, table('segments-table', 'segments-title', headers, segments.map(segmentRow)));
}

function paintOverlap(body, pairs) {
  if (!pairs.length) return message(body, 'No overlap: it needs two computed segments that share members.');
  const headers = [['Segment A'], ['Segment B'], ['Shared', true], ['Overlap', true]];
  const rows = pairs.map((p) => el('tr', {dataset: {pair: `${p.seg_a_id}-${p.seg_b_id}`}},
    cell(p.seg_a_name), cell(p.seg_b_name), cell(num(p.overlap), 'num'), cell(pct(p.overlap_pct), 'num')));
  clear(body).append(table('overlap-table', 'overlap-title', headers, rows),
    el('p', {class: 'card-foot'}, 'Overlap = shared members / the smaller segment\'s members.'));
}

function syncRows(activation) {
  if (!activation.sync_logs.length) return [el('tr', {}, el('td', {colspan: '4', class: 'muted'}, 'No sync yet'))];
  return activation.sync_logs.map((log) => el('tr', {class: `sync-${log.status}`},
    cell(when(log.synced_at), 'when'), cell(el('span', {class: `status status-${log.status}`}, log.status)),
    cell(num(log.user_count), 'num'), cell(log.error_message || '—')));
}

function activationBlock(a) {
  const id = `activation-${a.id}`;
  const rate = a.success_rate == null ? 'no syncs yet' : `${a.success_rate}% of the last syncs succeeded`;
  return el('article', {class: 'activation', id, dataset: {activation: a.id}},
    el('h3', {id: `${id}-title`}, `${a.segment_name} → ${a.connector_type}`),
    el('p', {class: 'activation-meta'},
      el('span', {class: `status status-${a.status}`}, a.status), ` · ${num(a.member_count)} members synced · ${rate}`,
      ` · last sync ${when(a.last_synced_at)}`),
    a.last_error ? el('p', {class: 'card-error activation-error'}, `Last error: ${a.last_error}`) : null,
    table(`${id}-logs`, `${id}-title`, [['Synced at'], ['Status'], ['Users', true], ['Error']], syncRows(a)));
}

function paintActivations(body, activations) {
  if (!activations.length) {
    return message(body, 'No activations: attach a connector to a segment with analytics-mcp activations add.');
  }
  clear(body).append(...activations.map(activationBlock));
}

export function createSegmentsView(root, {api, onError}) {
  const cards = {
    segments: cardShell('Segments', {wide: true, id: 'card-segments'}),
    overlap: cardShell('Segment overlap', {id: 'card-overlap'}),
    usage: cardShell('Usage this billing period', {id: 'card-usage'}),
    activations: cardShell('Activations', {wide: true, id: 'card-activations'}),
  };
  for (const [key, card] of Object.entries(cards)) card.head.querySelector('h2').id = `${key}-title`;
  root.append(el('div', {class: 'grid segments-grid'}, Object.values(cards).map((c) => c.root)));

  async function refresh(signal) {
    for (const card of Object.values(cards)) placeholder(card.body, 3);
    await paintCurrent(signal, (s) => api.get('/dashboard/api/segments', '', s), (data) => {
      paintSegments(cards.segments.body, data.segments, data.total_members);
      paintOverlap(cards.overlap.body, data.overlap);
      usageCard(cards.usage.body, data.usage);
      paintActivations(cards.activations.body, data.activations);
    }, (error) => {
      for (const card of Object.values(cards)) clear(card.body);
      onError(error);
    });
  }
  return {refresh};
}
