// A small inline SVG line of a series (no axes), for a table cell. Built with the SVG DOM, no
// markup parsing and no inline styles (CSP): colours come from CSS (.sparkline).
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 120;
const HEIGHT = 28;
const PAD = 2;

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** Points of `values` spread over the box, the lowest at the bottom (a flat series mid-height). */
export function sparkPoints(values, width = WIDTH, height = HEIGHT) {
  const low = Math.min(...values);
  const span = Math.max(...values) - low;
  const step = values.length > 1 ? (width - 2 * PAD) / (values.length - 1) : 0;
  return values.map((v, i) => {
    const y = span ? height - PAD - ((v - low) / span) * (height - 2 * PAD) : height / 2;
    return `${(PAD + i * step).toFixed(1)},${y.toFixed(1)}`;
  });
}

/** An <svg role="img"> named by `label` (the numbers in words, for screen readers and tests). */
export function sparkline(values, label) {
  const svg = svgNode('svg', {class: 'sparkline', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label});
  const points = sparkPoints(values);
  svg.append(svgNode('title', {}), svgNode('polyline', {class: 'sparkline-line', points: points.join(' ')}));
  svg.firstChild.textContent = label;
  const [x, y] = points[points.length - 1].split(',');
  svg.append(svgNode('circle', {class: 'sparkline-dot', cx: x, cy: y, r: 2.2}));
  return svg;
}
