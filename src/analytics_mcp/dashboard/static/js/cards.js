// Cards: KPI tiles, and breakdown tables with bars whose rows add a filter when clicked.
import {append, clear, el} from './dom.js';
import {short} from './format.js';
import {childSignal, failed, paintCurrent, placeholder} from './loading.js';

/** items: [{key, label, value, display, change: {text, tone, title}}] */
export function kpiTiles(container, items) {
  container.removeAttribute('aria-busy');
  clear(container);
  for (const item of items) {
    container.append(el('div', {class: 'kpi', dataset: {metric: item.key}},
      el('div', {class: 'kpi-label'}, item.label),
      el('div', {class: 'kpi-value', dataset: {value: item.value ?? ''}}, item.display),
      item.change && el('div', {class: `kpi-change ${item.change.tone}`, title: item.change.title},
        item.change.text)));
  }
}

/** A "CSV" link (its href is set by the card: the REST route of its rows with format=csv). */
export function csvLink(label = null) {
  return el('a', {class: 'csv-link', download: '', title: 'Download these rows as CSV', 'aria-label': label}, 'CSV');
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
 * format?}], filter(row) -> {dimension, operator, value} | null (what `onFilter` gets), tag(row)?
 * (a label beside the name, e.g. a goal's site), nameLabel}. On a phone a row
 * shows its name on a line of its own, the numbers below it (CSS); `scroll`: a wide table that
 * keeps its columns and scrolls sideways inside its card instead.
 */
export function barTable(rows, view, onFilter, {scroll = false} = {}) {
  const max = Math.max(1, ...rows.map((row) => view.columns[0].value(row) ?? 0));
  const head = el('tr', {}, el('th', {}, view.nameLabel),
    view.columns.map((c) => el('th', {class: 'num'}, c.label)));
  const body = rows.map((row) => tableRow(row, view, max, onFilter));
  const table = el('table', {class: scroll ? 'bars' : 'bars stackable'}, el('thead', {}, head), el('tbody', {}, body));
  return scroll ? el('div', {class: 'table-scroll'}, table) : table;
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
  const tag = view.tag?.(row);
  const cells = view.columns.map((c) => el('td', {class: 'num'}, (c.format ?? short)(c.value(row))));
  return el('tr', {}, el('td', {class: 'name-cell'}, bar, label, tag && el('span', {class: 'row-site'}, tag),
    sub && el('span', {class: 'row-sub'}, sub)), cells);
}

/**
 * A card with tabs, each {key, label, load(signal) -> rows, view, csv?() -> URL of the same rows as
 * CSV (the REST route with format=csv), paint?(body, rows) (instead of the table)}. `refresh(signal)`
 * shows placeholders and reloads the active tab (the view's `signal` cancels it); a tab switch loads
 * only that tab; `show(tab)` opens a tab that has no button (a drill-down). Resolves to the error it
 * showed, or null.
 */
export function breakdownCard(title, tabs, onFilter, options = {}) {
  const shell = cardShell(title, options);
  let active = tabs[0];
  let controller = null;
  let viewSignal = null;
  const buttons = tabs.map((tab) => el('button', {
    type: 'button', class: 'mini-tab', dataset: {tab: tab.key},
    onclick: () => show(tab),
  }, tab.label));
  const download = csvLink();
  if (tabs.length > 1) shell.head.append(el('div', {class: 'mini-tabs'}, buttons));
  shell.head.append(download);

  function paint() {
    buttons.forEach((b, i) => {
      b.classList.toggle('active', tabs[i] === active);
      b.setAttribute('aria-pressed', String(tabs[i] === active));
    });
    download.hidden = !active.csv;
    if (active.csv) {
      download.href = active.csv();
      download.setAttribute('aria-label', `Download ${title}: ${active.label} as CSV`);
    }
  }

  function show(tab) {
    active = tab;
    paint();
    return refresh(viewSignal);
  }

  function refresh(signal) {
    viewSignal = signal;
    controller?.abort();
    controller = childSignal(signal);
    const tab = active;
    paint();
    placeholder(shell.body);
    return paintCurrent(controller.signal, tab.load, (rows) => {
      if (!rows.length) {
        message(shell.body, tab.empty ?? 'No data for this period.');
        append(shell.body, [tab.before?.()]);
      }
      else if (tab.paint) return tab.paint(clear(shell.body), rows);
      else append(clear(shell.body), [tab.before?.(), barTable(rows, tab.view, onFilter)]);
      return null;
    }, (error) => failed(shell.body, error));
  }

  paint();
  return {root: shell.root, refresh, show, tabs};
}
