// Number, duration, money and change formatting for cards and tables.

const whole = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', {notation: 'compact', maximumFractionDigits: 1});

export function num(value) {
  if (value == null) return '—';
  return whole.format(value);
}

/** Short form for table cells: 1,234 then 12.3K. */
export function short(value) {
  if (value == null) return '—';
  return Math.abs(value) >= 10000 ? compact.format(value) : whole.format(value);
}

export function pct(value) {
  return value == null ? '—' : `${value.toFixed(1)}%`;
}

export function duration(seconds) {
  if (seconds == null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function money(value, currency) {
  if (value == null) return '—';
  try {
    return new Intl.NumberFormat('en-US', {style: 'currency', currency: currency || 'EUR'}).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency ?? ''}`.trim();
  }
}

/**
 * A *_change value as {text, tone}. `points`: the change is in percentage points (rates).
 * `lowerIsBetter`: a drop is good news (bounce rate).
 */
export function change(value, {points = false, lowerIsBetter = false} = {}) {
  if (value == null) return {text: '—', tone: 'flat', title: 'No data in the previous period'};
  const arrow = value > 0 ? '↑' : value < 0 ? '↓' : '→';
  const unit = points ? ' pp' : '%';
  const good = lowerIsBetter ? value < 0 : value > 0;
  const tone = value === 0 ? 'flat' : good ? 'good' : 'bad';
  return {text: `${arrow} ${Math.abs(value).toFixed(1)}${unit}`, tone, title: 'vs the previous period'};
}
