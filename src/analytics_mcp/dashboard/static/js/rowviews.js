// How each report's rows show in a card table: the name, a line under it, the numbers, and the
// filter a click on the name adds (cards.js barTable reads these).
import {duration, pct} from './format.js';

const languageNames = new Intl.DisplayNames(['en'], {type: 'language'});
const regionNames = new Intl.DisplayNames(['en'], {type: 'region'});
const visitors = {label: 'Visitors', value: (r) => r.visitors};
const visits = {label: 'Visits', value: (r) => r.visits};
const events = {label: 'Events', value: (r) => r.events};
export const is = (dimension, value) => (value == null ? null : {dimension, operator: 'is', value});

function languageName(code) {
  if (!code) return 'Unknown';
  try {
    return languageNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** The English name of a country code ("DE" -> "Germany"), or the code itself. */
export function regionName(code) {
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;  // not a region Intl knows
  }
}

/** "🇩🇪 Germany" for "DE": the flag is the code's two regional indicator symbols. */
export function countryName(code) {
  if (!code) return 'Unknown';
  const flag = String.fromCodePoint(...[...code].map((c) => 0x1f1a5 + c.charCodeAt(0)));
  return `${flag} ${regionName(code)}`;
}

/** Where a goal row leads: its site, and its page where the filter grammar says it exactly
 * (exact path: page is; prefix: page contains). An event goal has no filter: its site only. */
export function goalTarget(goal) {
  const {match_type: match, path} = goal.config;
  const page = goal.type !== 'url' ? null
    : match === 'exact' ? is('page', path) : match === 'prefix' ? {dimension: 'page', operator: 'contains', value: path} : null;
  return {site: goal.site, filter: page};
}

const page = (dimension) => ({nameLabel: 'Page', name: (r) => r.pathname, filter: (r) => is(dimension, r.pathname)});

export const VIEWS = {
  pages: {...page('page'), columns: [visitors, {label: 'Pageviews', value: (r) => r.pageviews},
    {label: 'Time on page', value: (r) => r.avg_duration, format: duration}]},
  entry_pages: {...page('entry_page'), columns: [visitors, visits,
    {label: 'Bounce rate', value: (r) => r.bounce_rate, format: pct}]},
  exit_pages: {...page('exit_page'), columns: [visitors, visits]},
  scroll: {...page('page'), columns: [{label: 'Scroll depth', value: (r) => r.scroll_depth, format: (v) => `${v}%`},
    {label: 'Pageviews', value: (r) => r.pageviews}]},
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
    filter: (r) => is('country', r.country), columns: [visitors, visits, {label: 'Pageviews', value: (r) => r.pageviews}]},
  goals: {nameLabel: 'Goal', name: (r) => r.name, filter: goalTarget,
    sub: (r) => (r.type === 'url' ? `${r.config.match_type} ${r.config.path}` : `event ${r.config.event_name}`),
    columns: [{label: 'Uniques', value: (r) => r.visitors}, {label: 'Completions', value: (r) => r.completions},
      {label: 'Conversion', value: (r) => r.conversion_rate, format: pct}]},
  // A click on an event opens its properties (cards: `drill`), not a filter: the grammar has no event dimension.
  custom_events: {nameLabel: 'Event', name: (r) => r.name, filter: (r) => ({drill: r.name}), columns: [visitors, events]},
  properties: {nameLabel: 'Value', name: (r) => r.value ?? '(none)', sub: (r) => r.property, columns: [events]},
  links: {nameLabel: 'URL', name: (r) => r.value ?? '(none)', columns: [events]},
  not_found: {nameLabel: 'Path', name: (r) => r.value ?? '(none)', filter: (r) => is('page', r.value), columns: [events]},
};
