/*
 * analytics-mcp A/B metrics: the client of the A/B metrics API (docs/ab-testing.md) as a ready script.
 *
 *   <script defer src="https://stats.example.com/js/metrics.js" data-site="example.com"></script>
 *
 * Options (attributes of the script tag): data-site (default: this page's host without www.),
 * data-experiment (an experiment slug, when the site runs several), data-api (default: the
 * script's origin + /api/v1), data-manual (do not send the page_view on load).
 *
 * On load it fetches the site's running experiment, assigns a variant by weight and keeps it in
 * localStorage (`variant_id`, the key a hand-written client reads too), so a visitor sees the same variant
 * on every visit. The variant's slug is set as <html data-variant="..."> for CSS, and announced
 * with the `abmetrics:variant` event. Unlike our cookieless tracker, this script stores ids in
 * localStorage: every tracking call carries a `visitor_id`, used only for the experiment's counts.
 *
 *   abMetrics.track('click', { element_id: 'hero-cta' });   // also window.track, if free
 *   abMetrics.ready.then(function (variant) { ... });       // {id, slug, weight} or null
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var API_BASE = script.getAttribute('data-api') || origin + '/api/v1';
  var site = script.getAttribute('data-site') || location.hostname.replace(/^www\./, '');
  var experiment = script.getAttribute('data-experiment');

  function storage(name) {
    try {
      var s = window[name];
      s.setItem('__abm', '1');
      s.removeItem('__abm');
      return s;
    } catch (e) {
      var memory = {}; // private mode: keep ids for this page only
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; }
      };
    }
  }
  var local = storage('localStorage');
  var tab = storage('sessionStorage');

  function randomId(prefix) {
    return prefix + Math.random().toString(36).substr(2, 9); // vis_ / sess_ + 9 base-36 characters (docs/ab-testing.md)
  }

  // Generate or retrieve the visitor ID (kept in localStorage)
  function getVisitorId() {
    var id = local.getItem('visitor_id');
    if (!id) {
      id = randomId('vis_');
      local.setItem('visitor_id', id);
    }
    return id;
  }

  // Session ID per tab (kept across the tab's page loads)
  var sessionId = tab.getItem('ab_session_id') || randomId('sess_');
  tab.setItem('ab_session_id', sessionId);

  function pick(variants) {
    var total = 0, i;
    for (i = 0; i < variants.length; i++) total += variants[i].weight;
    var r = Math.random() * total;
    for (i = 0; i < variants.length; i++) {
      r -= variants[i].weight;
      if (r < 0) return variants[i];
    }
    return variants[variants.length - 1];
  }

  function assign(config) {
    if (!config || !config.variants || !config.variants.length) {
      local.removeItem('variant_id'); // no running experiment: stop attributing events
      return null;
    }
    var stored = parseInt(local.getItem('variant_id'), 10);
    var chosen = null;
    for (var i = 0; i < config.variants.length; i++) {
      if (config.variants[i].id === stored) chosen = config.variants[i];
    }
    chosen = chosen || pick(config.variants);
    local.setItem('variant_id', String(chosen.id));
    local.setItem('variant_slug', chosen.slug);
    document.documentElement.setAttribute('data-variant', chosen.slug);
    window.dispatchEvent(new CustomEvent('abmetrics:variant', { detail: chosen }));
    return chosen;
  }

  var query = '?site=' + encodeURIComponent(site) + (experiment ? '&experiment=' + encodeURIComponent(experiment) : '');
  var ready = fetch(API_BASE + '/metrics/experiment' + query, { credentials: 'omit' })
    .then(function (r) { return r.status === 404 ? null : r.ok ? r.json() : undefined; })
    .then(function (config) { return config === undefined ? null : assign(config); })
    .catch(function () { return null; });

  // Track event (POST /metrics/track, docs/ab-testing.md): waits for the variant; without a running experiment, sends nothing.
  function track(eventType, eventData) {
    return ready.then(function () {
      var variantId = parseInt(local.getItem('variant_id'), 10);
      if (!variantId) return;
      return fetch(API_BASE + '/metrics/track', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        credentials: 'omit',
        keepalive: true, // still delivered when the page is being left (clicks on links)
        body: JSON.stringify({
          variant_id: variantId,
          event_type: eventType,
          event_data: eventData || {},
          session_id: sessionId,
          visitor_id: getVisitorId()
        })
      }).catch(function () {});
    });
  }

  window.abMetrics = { track: track, ready: ready, visitorId: getVisitorId, sessionId: sessionId };
  if (typeof window.track !== 'function') window.track = track;
  if (!script.hasAttribute('data-manual')) {
    track('page_view', { path: location.pathname, referrer: document.referrer || undefined });
  }
})();
