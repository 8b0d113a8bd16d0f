// Realtime: "N current visitors" (an event in the last 5 minutes) with a pulsing dot, read again
// every 30 s while its view is current. The view's signal stops the timer and drops a late answer,
// so a site change never shows the previous site's number: the count goes back to a placeholder
// first, like every other part of the view.
import {el} from './dom.js';
import {num} from './format.js';
import {failureText, paintCurrent} from './loading.js';

export const REFRESH_MS = 30_000;
export const REALTIME = '/api/v1/stats/realtime';

/** The realtime route's query for this view: its site and filters (no period: it ends now). */
export function realtimeParams(params) {
  const q = params({limit: 5});
  for (const key of ['period', 'from', 'to']) q.delete(key);
  return q;
}

/** Call `tick(signal)` now and every `every` ms until `signal` aborts. */
export function repeat(signal, every, tick) {
  let timer = null;
  signal.addEventListener('abort', () => clearTimeout(timer), {once: true});
  const run = async () => {
    const result = await tick(signal);
    if (!signal.aborted) timer = setTimeout(run, every);
    return result;
  };
  return run();
}

export function createRealtimeCard({api, params}) {
  const count = el('span', {class: 'realtime-count'});
  const label = el('span', {class: 'realtime-label'});
  const root = el('div', {class: 'realtime', id: 'realtime', role: 'status', 'aria-live': 'polite'},
    el('span', {class: 'pulse', 'aria-hidden': 'true'}), count, label);

  function show(visitors) {
    root.classList.toggle('loading', visitors == null);
    root.dataset.value = visitors ?? '';
    count.textContent = visitors == null ? '–' : num(visitors);
    label.textContent = visitors === 1 ? ' current visitor' : ' current visitors';
  }

  function refresh(signal) {
    show(null);
    root.removeAttribute('title');
    return repeat(signal, REFRESH_MS, (s) => paintCurrent(s, (inner) => api.get(REALTIME, realtimeParams(params), inner),
      (data) => {
        show(data.visitors);
        root.title = data.pages.length ? `Now on ${data.pages.map((p) => p.pathname).join(', ')}` : '';
      },
      (error) => {
        show(null);
        root.classList.add('failed');
        root.title = failureText(error);
      }));
  }

  return {root, refresh};
}
