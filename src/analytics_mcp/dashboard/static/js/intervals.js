// The chart's bucket size buttons (Hours, Days, Weeks, Months: those the view offers), one
// picker per chart; every chart reads the same `interval` of the view (state.js).
import {clear, el} from './dom.js';
import {INTERVALS, chartInterval, intervalChoices} from './state.js';

export function intervalPicker(context, id) {
  const root = el('div', {class: 'mini-tabs', id, role: 'group', 'aria-label': 'Chart buckets'});
  function paint() {
    const view = context.state();
    const offered = intervalChoices(view);
    const shown = chartInterval(view);
    root.hidden = offered.length < 2;
    clear(root).append(...INTERVALS.filter(([key]) => offered.includes(key)).map(([key, label]) => el('button', {
      type: 'button', class: key === shown ? 'mini-tab active' : 'mini-tab', dataset: {interval: key},
      'aria-pressed': String(key === shown), onclick: () => context.onInterval(key),
    }, label)));
  }
  return {root, paint};
}
