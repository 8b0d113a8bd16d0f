// The filter bar: every filter of the view as a chip (click to change it, × to remove it) and a
// form that adds or changes one: any dimension of the engine's filter grammar, is / is not /
// contains, one value. The filters live in the URL (state.js), so add, change, remove and reload
// all go through `navigate`.
import {$, clear, el} from './dom.js';

export const DIMENSION_LABELS = {
  page: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', source: 'Source', referrer: 'Referrer',
  channel: 'Channel', device: 'Device', browser: 'Browser', os: 'OS', language: 'Language', country: 'Country',
  utm_source: 'UTM source', utm_medium: 'UTM medium', utm_campaign: 'Campaign', utm_content: 'UTM content',
  utm_term: 'UTM term',
};
export const OPERATOR_LABELS = {is: 'is', is_not: 'is not', contains: 'contains'};
const MAX_FILTERS = 20;

const options = (labels, chosen) => Object.entries(labels).map(([value, label]) =>
  el('option', {value, selected: value === chosen}, label));

/** `view()` the current state, `navigate(state)` goes to another one. */
export function createFilterBar(root, {view, navigate}) {
  let editing = null;  // the filter being changed, 'new' for the add form, null when closed

  function open(filter) {
    editing = filter;
    paint();
    $('#filter-value', root)?.focus();
  }

  function apply(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const filter = {dimension: form.dimension.value, operator: form.operator.value, value: form.value.value.trim()};
    if (!filter.value) return form.value.focus();
    const state = view();
    // Changing a filter replaces it in place; adding replaces one of the same dimension and operator.
    const same = (f) => (editing === 'new' ? f.dimension === filter.dimension && f.operator === filter.operator : f === editing);
    const kept = state.filters.filter((f) => !same(f));
    const at = editing === 'new' ? kept.length : state.filters.indexOf(editing);
    kept.splice(at, 0, filter);
    editing = null;
    navigate({...state, filters: kept});
  }

  function editor(filter) {
    const current = filter === 'new' ? {dimension: 'page', operator: 'is', value: ''} : filter;
    return el('form', {class: 'filter-form', id: 'filter-form', onsubmit: apply},
      el('label', {class: 'sr-only', for: 'filter-dimension'}, 'Dimension'),
      el('select', {id: 'filter-dimension', name: 'dimension'}, options(DIMENSION_LABELS, current.dimension)),
      el('label', {class: 'sr-only', for: 'filter-operator'}, 'Operator'),
      el('select', {id: 'filter-operator', name: 'operator'}, options(OPERATOR_LABELS, current.operator)),
      el('label', {class: 'sr-only', for: 'filter-value'}, 'Value'),
      el('input', {id: 'filter-value', name: 'value', type: 'text', value: current.value, maxlength: '500',
        placeholder: 'Value', autocomplete: 'off', required: true}),
      el('button', {type: 'submit', class: 'btn btn-small btn-primary'}, filter === 'new' ? 'Add' : 'Apply'),
      el('button', {type: 'button', class: 'btn btn-small btn-ghost', onclick: () => { editing = null; paint(); }}, 'Cancel'));
  }

  function chip(filter) {
    const state = view();
    const remove = () => navigate({...state, filters: state.filters.filter((f) => f !== filter)});
    const label = `${DIMENSION_LABELS[filter.dimension] ?? filter.dimension} ${OPERATOR_LABELS[filter.operator]}`;
    return el('span', {class: 'chip', dataset: {dimension: filter.dimension, operator: filter.operator}},
      el('button', {type: 'button', class: 'chip-edit', title: 'Change this filter', onclick: () => open(filter)},
        el('span', {class: 'chip-dim'}, label), ' ', el('span', {class: 'chip-value', title: filter.value}, filter.value)),
      el('button', {type: 'button', class: 'chip-remove', 'aria-label': `Remove filter ${label} ${filter.value}`, onclick: remove}, '×'));
  }

  function paint() {
    const {filters} = view();
    if (editing !== null && editing !== 'new' && !filters.includes(editing)) editing = null;
    clear(root).append(...filters.map((f) => (f === editing ? editor(f) : chip(f))));
    if (editing === 'new') root.append(editor('new'));
    else if (filters.length < MAX_FILTERS) {
      root.append(el('button', {type: 'button', class: 'btn btn-small btn-ghost add-filter', id: 'add-filter', onclick: () => open('new')}, '+ Filter'));
    }
    if (filters.length > 1) {
      root.append(el('button', {type: 'button', class: 'btn btn-ghost btn-small', onclick: () => navigate({...view(), filters: []})}, 'Clear all'));
    }
  }

  return {paint};
}
