// Cards: KPI tiles, and breakdown tables with bars whose rows add a filter when clicked.
import {clear, el} from './dom.js';
import {short} from './format.js';

/** items: [{key, label, value, display, change: {text, tone, title}}] */
export function kpiTiles(container, items) {
  clear(container);
  for (const item of items) {
    container.append(el('div', {class: 'kpi', dataset: {metric: item.key}},
      el('div', {class: 'kpi-label'}, item.label),
      el('div', {class: 'kpi-value', dataset: {value: item.value ?? ''}}, item.display),
      item.change && el('div', {class: `kpi-change ${item.change.tone}`, title: item.change.title},
        item.change.text)));
  }
}

export function cardShell(title, {wide = false, id} = {}) {
  const head = el('div', {class: 'card-head'}, el('h2', {}, title));
  const body = el('div', {class: 'card-body'});
  const root = el('section', {class: wide ? 'card wide' : 'card', id}, head, body);
  return {root, head, body};
}

export function message(body, text, kind = 'empty') {
  clear(body).append(el('p', {class: `card-${kind}`}, text));
}

/**
 * A table ranked by its first column. view: {name(row), sub(row)?, columns: [{label, value(row),
 * format?}], filter(row) -> {dimension, operator, value} | null, nameLabel}
 */
export function barTable(rows, view, onFilter) {
  const max = Math.max(1, ...rows.map((row) => view.columns[0].value(row) ?? 0));
  const head = el('tr', {}, el('th', {}, view.nameLabel),
    view.columns.map((c) => el('th', {class: 'num'}, c.label)));
  const body = rows.map((row) => tableRow(row, view, max, onFilter));
  return el('table', {class: 'bars'}, el('thead', {}, head), el('tbody', {}, body));
}

function tableRow(row, view, max, onFilter) {
  const share = (100 * (view.columns[0].value(row) ?? 0)) / max;
  const bar = el('span', {class: 'bar', 'aria-hidden': 'true'});
  bar.style.width = `${share.toFixed(2)}%`;
  const name = view.name(row);
  const filter = view.filter?.(row);
  const label = filter
    ? el('button', {type: 'button', class: 'row-link', title: `Filter by ${name}`, onclick: () => onFilter(filter)}, name)
    : el('span', {class: 'row-name', title: name}, name);
  const sub = view.sub?.(row);
  const cells = view.columns.map((c) => el('td', {class: 'num'}, (c.format ?? short)(c.value(row))));
  return el('tr', {}, el('td', {class: 'name-cell'}, bar, label, sub && el('span', {class: 'row-sub'}, sub)), cells);
}

/**
 * A card with tabs, each {key, label, load(signal) -> rows, view}. `refresh()` reloads the
 * active tab; a tab switch loads only that tab.
 */
export function breakdownCard(title, tabs, onFilter, options = {}) {
  const shell = cardShell(title, options);
  let active = tabs[0];
  let controller = null;
  const buttons = tabs.map((tab) => el('button', {
    type: 'button', class: 'mini-tab', dataset: {tab: tab.key},
    onclick: () => { active = tab; paint(); refresh(); },
  }, tab.label));
  if (tabs.length > 1) shell.head.append(el('div', {class: 'mini-tabs'}, buttons));

  function paint() {
    buttons.forEach((b, i) => b.classList.toggle('active', tabs[i] === active));
  }

  async function refresh() {
    controller?.abort();
    controller = new AbortController();
    const tab = active;
    shell.root.classList.add('loading');
    try {
      const rows = await tab.load(controller.signal);
      if (tab !== active) return;
      if (!rows.length) message(shell.body, 'No data for this period.');
      else clear(shell.body).append(barTable(rows, tab.view, onFilter));
    } catch (error) {
      if (error.name !== 'AbortError') message(shell.body, error.message, 'error');
    } finally {
      shell.root.classList.remove('loading');
    }
  }

  paint();
  return {root: shell.root, refresh};
}
