// The Events card: custom events (a click opens an event's properties), and the tracker's own
// events read as lists: outbound link clicks and file downloads by URL, 404s by path. All from
// /api/v1/stats/custom-events and /api/v1/stats/event-properties.
import {breakdownCard} from './cards.js';
import {el} from './dom.js';
import {VIEWS} from './rowviews.js';

const PROPERTIES = '/api/v1/stats/event-properties';

/** event-properties' nested answer as rows: one per (property, value), `key` alone if given. */
export function propertyRows(answer, key = null) {
  return answer.properties.filter((p) => key == null || p.key === key)
    .flatMap((p) => p.values.map((v) => ({property: p.key, value: v.value, events: v.events})));
}

/** source: {path, extra} -> the tab's load and csv. */
export function restTab({api, params}, key, label, view, {path, extra = {}}, shape = (rows) => rows) {
  return {
    key, label, view,
    load: async (signal) => shape(await api.get(path, params(extra), signal)),
    csv: () => `${api.base ?? ''}${path}?${params({...extra, format: 'csv'})}`,
  };
}

export function createEventsCard(context) {
  const ofEvent = (key, label, event, prop, view, empty) => ({
    ...restTab(context, key, label, view, {path: PROPERTIES, extra: {event, limit: 10}}, (a) => propertyRows(a, prop)),
    empty,
  });
  const tabs = [
    restTab(context, 'custom_events', 'Events', VIEWS.custom_events, {path: '/api/v1/stats/custom-events', extra: {limit: 10}}),
    ofEvent('outbound', 'Outbound links', 'Outbound Link: Click', 'url', VIEWS.links, 'No outbound link clicks in this period.'),
    ofEvent('downloads', 'Downloads', 'File Download', 'url', VIEWS.links, 'No file downloads in this period.'),
    ofEvent('not_found', '404 pages', '404', 'path', VIEWS.not_found, 'No 404 pages in this period.'),
  ];
  tabs[0].empty = 'No custom events in this period.';
  let card = null;

  /** An event's properties, with the way back to the list of events. */
  function drill(name) {
    const tab = restTab(context, 'event_properties', name, VIEWS.properties,
      {path: PROPERTIES, extra: {event: name, limit: 10}}, (a) => propertyRows(a));
    tab.empty = `“${name}” was sent without properties in this period.`;
    tab.before = () => el('p', {class: 'drill-head'},
      el('button', {type: 'button', class: 'btn btn-small btn-ghost', onclick: () => card.show(tabs[0])}, '← All events'),
      el('span', {class: 'drill-name'}, `Properties of “${name}”`));
    return card.show(tab);
  }

  card = breakdownCard('Events', tabs, (target) => (target.drill ? drill(target.drill) : context.onFilter(target)),
    {wide: true, id: 'card-events'});
  return card;
}
