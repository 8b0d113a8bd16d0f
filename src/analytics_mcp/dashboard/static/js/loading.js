// What keeps a view honest. Every change of period, site, filter or tab first replaces the view's
// numbers with placeholders (so nothing is ever shown under a label it does not belong to), then
// each part of the view loads and paints itself only while its request is still the view's
// current one: main.js aborts the previous view's signal, and an answer that arrives after that
// (out of order, or retried after a 429) is dropped. A part that fails says so in its own place.
import {append, clear, el} from './dom.js';

export function isAbort(error) {
  return error?.name === 'AbortError';
}

/** Skeleton lines in a card body while its rows load. */
export function placeholder(body, lines = 5) {
  clear(body).append(el('div', {class: 'placeholder', 'aria-busy': 'true', role: 'status', 'aria-label': 'Loading'},
    Array.from({length: lines}, () => el('span', {class: 'skeleton-line'}))));
}

/** KPI tiles with their labels and no value yet: `tiles` is [[key, label]]. */
export function tilePlaceholders(container, tiles) {
  container.setAttribute('aria-busy', 'true');
  append(clear(container), tiles.map(([key, label]) => el('div', {class: 'kpi', dataset: {metric: key}},
    el('div', {class: 'kpi-label'}, label),
    el('div', {class: 'kpi-value skeleton', 'aria-label': 'Loading'}),
    el('div', {class: 'kpi-change skeleton'}))));
}

/** Why a part of the view has no numbers, in words a person can act on. */
export function failureText(error) {
  return `Could not load these numbers: ${error.message}`;
}

/** A failure shown where the numbers would be (a card body, a chart, the tile row). */
export function failed(container, error) {
  container.removeAttribute('aria-busy');
  clear(container).append(el('p', {class: 'card-error', role: 'alert'}, failureText(error)));
}

/**
 * Load one part of a view and paint it while `signal` is live; a failure goes to `fail` (not an
 * abort: the view moved on, and the next view paints this part). Returns the error, or null.
 */
export async function paintCurrent(signal, load, paint, fail) {
  try {
    const data = await load(signal);
    if (signal.aborted) return null;
    await paint(data);
    return null;
  } catch (error) {
    if (signal.aborted || isAbort(error)) return null;
    fail(error);
    return error;
  }
}

/** A signal aborted when `outer` is, or when the returned `abort` is called. */
export function childSignal(outer) {
  const controller = new AbortController();
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', () => controller.abort(outer.reason), {once: true});
  return controller;
}
