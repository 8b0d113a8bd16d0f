// Dashboard entry point: reads the view from the URL, wires the controls, renders the active view.
import {createApi} from './api.js';
import {initChat} from './chat/panel.js';
import {createCommerceView} from './commerce.js';
import {$, append, clear, el} from './dom.js';
import {createExperimentsView} from './experiments.js';
import {createFilterBar} from './filterbar.js';
import {failureText} from './loading.js';
import {createSegmentsView} from './segments.js';
import {PERIODS, apiParams, periodLabel, readState, toSearch, withFilter} from './state.js';
import {createTrafficView} from './traffic.js';

const boot = JSON.parse($('#boot').textContent);
let state = readState(boot.sites);
let controller = null;
const notice = $('#notice');

function showNotice(text, kind = 'error', retry = false) {
  notice.hidden = false;
  notice.className = `notice ${kind}`;
  append(clear(notice), [text, retry && el('button', {type: 'button', class: 'btn btn-small notice-retry', onclick: render}, 'Retry')]);
}

function navigate(next) {
  state = next;
  history.pushState(null, '', toSearch(state));
  render();
}

const api = createApi({onNotice: showNotice, base: boot.share?.base ?? ''});  // a share link reads through its own base
const filterBar = createFilterBar($('#filter-bar'), {view: () => state, navigate});
const context = {
  api,
  params: (extra) => apiParams(state, extra),
  onFilter: (filter) => navigate(withFilter(state, filter)),
  onError: (error) => showNotice(failureText(error), 'error', true),
  state: () => state,
  onExperiment: (experiment) => navigate({...state, experiment}),
  onInterval: (interval) => navigate({...state, interval}),
  sites: boot.sites,
  onLive: () => render(),
  onGoal: ({site, filter}) => navigate(filter ? withFilter({...state, site}, filter) : {...state, site}),
};
const views = {
  traffic: createTrafficView($('#view-traffic'), context),
  commerce: createCommerceView($('#view-commerce'), context),
  ...(boot.share ? {} : {experiments: createExperimentsView($('#view-experiments'), context)}),  // not shared
  ...(boot.share ? {} : {segments: createSegmentsView($('#view-segments'), context)}),  // tenant-wide: not shared
};

function paintSites() {
  const select = $('#site-select');
  clear(select).append(el('option', {value: ''}, `All sites (${boot.sites.length})`),
    ...boot.sites.map((domain) => el('option', {value: domain}, domain)));
  select.value = state.site;
  select.addEventListener('change', () => navigate({...state, site: select.value}));
}

function paintPeriods() {
  const picker = clear($('#period-picker'));
  const choices = [...PERIODS.map(([key]) => key), 'custom'];
  for (const key of choices) {
    picker.append(el('button', {
      type: 'button', class: key === state.period ? 'period active' : 'period', dataset: {period: key},
      'aria-pressed': String(key === state.period),
      onclick: () => (key === 'custom' ? openCustom() : navigate({...state, period: key, from: '', to: ''})),
    }, key === 'custom' ? 'Custom' : key));
  }
  $('#custom-range').hidden = state.period !== 'custom';
  if (state.period === 'custom') {  // a range from the URL (a shared link, a reload) shows in the boxes
    $('#custom-from').value = state.from;
    $('#custom-to').value = state.to;
  }
  $('#range-label').textContent = periodLabel(state);
}

function isoDay(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function openCustom() {
  const today = new Date();
  $('#custom-from').value = state.from || isoDay(new Date(today.getTime() - 29 * 86400000));
  $('#custom-to').value = state.to || isoDay(today);
  $('#custom-range').hidden = false;
  $('#custom-from').focus();
}

function wireCustomRange() {
  $('#custom-range').addEventListener('submit', (event) => {
    event.preventDefault();
    const from = $('#custom-from').value;
    const to = $('#custom-to').value;
    if (!from || !to || from > to) return showNotice('Choose a start date on or before the end date.');
    navigate({...state, period: 'custom', from, to});
  });
}

function paintTabs() {
  for (const button of document.querySelectorAll('#report-tabs .tab')) {
    const active = button.dataset.tab === state.tab;
    button.classList.toggle('active', active);
    button.setAttribute('aria-pressed', String(active));
  }
  for (const key of Object.keys(views)) $(`#view-${key}`).hidden = state.tab !== key;
}

/** Abort the previous view's requests (their late answers are dropped), then paint this one. */
function render() {
  controller?.abort();
  controller = new AbortController();
  notice.hidden = true;
  $('#site-select').value = state.site;
  paintPeriods();
  filterBar.paint();
  paintTabs();
  (views[state.tab] ?? views.traffic).refresh(controller.signal);
}

function start() {
  if (!boot.charts) {
    $('.page').prepend(el('p', {class: 'notice warn', id: 'charts-missing'},
      'Charts are unavailable: the pinned uPlot files are missing from the server. Run `make setup` to install them; numbers and tables still work.'));
  }
  paintSites();
  wireCustomRange();
  for (const button of document.querySelectorAll('#report-tabs .tab')) {
    button.addEventListener('click', () => navigate({...state, tab: button.dataset.tab}));
  }
  window.addEventListener('popstate', () => {
    state = readState(boot.sites);
    render();
  });
  if (!boot.share) initChat({button: $('#ai-button'), panel: $('#chat-panel'), boot, site: () => state.site});
  render();
}

start();
