// The country map: the vendored SVG world map (@svg-maps/world, a path per ISO 3166-1 country,
// `make vendor`) shaded by visitors. Loaded on first use only (1.2 MB); a click on a country
// filters by it, like a click on its row in the list.
import {el} from './dom.js';
import {num} from './format.js';
import {regionName} from './rowviews.js';

const MAP = '/dashboard/static/vendor/world-map.js';
const SVG = 'http://www.w3.org/2000/svg';
let loading;

function loadMap() {
  loading ??= import(MAP).then((module) => module.default).catch(() => null);
  return loading;
}

function svgNode(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

/** 0..1 -> one of five shades (CSS classes, so light and dark themes pick their own colours). */
function shade(share) {
  return share <= 0 ? 0 : Math.min(5, 1 + Math.floor(share * 4.999));
}

/** Paint the map of `rows` (/stats/countries) into `body`; `onFilter` gets country is XX. */
export async function paintWorldMap(body, rows, onFilter) {
  const map = await loadMap();
  if (!map) {
    body.append(el('p', {class: 'chart-missing'}, 'The map is unavailable: its file is missing. Run `make setup` to install it.'));
    return;
  }
  const located = rows.filter((r) => r.country);  // visitors of unknown country have no place on it
  const byCode = new Map(located.map((r) => [r.country.toLowerCase(), r]));
  const max = Math.max(1, ...located.map((r) => r.visitors));
  const known = located.length;
  const svg = svgNode('svg', {viewBox: map.viewBox, class: 'world-map', role: 'img',
    'aria-label': `Map of visitors by country: ${known} ${known === 1 ? 'country' : 'countries'}`});
  for (const location of map.locations) {
    const row = byCode.get(location.id);
    const path = svgNode('path', {d: location.path, class: `land shade-${row ? shade(row.visitors / max) : 0}`,
      'data-country': location.id.toUpperCase()});
    const title = svgNode('title', {});
    title.textContent = `${regionName(location.id.toUpperCase())}: ${num(row?.visitors ?? 0)} visitors`;
    path.append(title);
    if (row) path.addEventListener('click', () => onFilter({dimension: 'country', operator: 'is', value: row.country}));
    svg.append(path);
  }
  body.append(el('div', {class: 'map-box'}, svg),
    el('p', {class: 'map-legend'}, el('span', {class: 'legend-scale', 'aria-hidden': 'true'},
      [1, 2, 3, 4, 5].map((n) => el('span', {class: `legend-step shade-${n}`}))),
    ` 1 – ${num(max)} visitors`));
}
