// Usage against the plan: one labelled <meter> per limit (events, users, segments, AI credits),
// "unlimited" for -1, and "no subscription" when the tenant has none (/api/analytics/usage/ 404s).
import {clear, el} from './dom.js';
import {num} from './format.js';

const LIMITS = [
  ['events', 'Events'],
  ['users', 'Profiles (users)'],
  ['segments', 'Active segments'],
  ['ai_credits', 'AI credits'],
];

function usageRow(key, label, {used, limit}) {
  const id = `usage-${key}`;
  const unlimited = limit < 0;
  const text = unlimited ? `${num(used)} of unlimited` : `${num(used)} of ${num(limit)}`;
  const meter = unlimited ? null : el('meter', {
    id, min: '0', max: String(Math.max(limit, 1)), value: String(Math.min(used, Math.max(limit, 1))),
    low: String(limit * 0.8), high: String(limit * 0.95), optimum: '0', 'aria-valuetext': text,
  });
  return el('div', {class: 'usage-row', dataset: {limit: key, used, max: limit}},
    el('div', {class: 'usage-line'}, el(unlimited ? 'span' : 'label', {for: unlimited ? null : id, class: 'usage-label'}, label),
      el('span', {class: used > limit && !unlimited ? 'usage-value over' : 'usage-value'}, text)),
    meter);
}

export function usageCard(body, usage) {
  if (usage == null) {
    clear(body).append(el('div', {class: 'card-empty', id: 'usage-none'},
      el('p', {}, 'No subscription.'),
      el('p', {}, 'Set one with ', el('code', {}, 'analytics-mcp plans set'), ' to see usage against its limits.')));
    return;
  }
  clear(body).append(
    el('p', {class: 'usage-plan', id: 'usage-plan'}, el('strong', {}, usage.plan_name), ` (${usage.plan_tier}) · `,
      `${usage.period_start} to ${usage.period_end}`),
    ...LIMITS.map(([key, label]) => usageRow(key, label, usage[key])));
}
