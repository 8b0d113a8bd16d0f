/* analytics-mcp tracker: no cookies, no storage, no fingerprinting.
   <script defer data-domain="example.com" src="https://stats.example.com/js/script.js"></script>
   Options on the tag: data-domain (default: location.hostname), data-api (default: <script origin>/api/event),
   data-hash="true" (hash routing: #fragment changes are pageviews). */
(function () {
  "use strict";
  var w = window, d = document, loc = location, nav = navigator;
  var tag = d.currentScript || d.querySelector('script[src*="/js/script"]');
  var attr = function (name) { return tag && tag.getAttribute(name); };
  var domain = attr("data-domain") || loc.hostname;
  var api = attr("data-api") || (tag && tag.src ? new URL(tag.src).origin : loc.origin) + "/api/event";
  var hashMode = attr("data-hash") === "true";
  var FILES = /\.(pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|csv|epub|zip|rar|7z|gz|tgz|bz2|xz|tar|dmg|pkg|exe|msi|deb|rpm|apk|iso|mp3|wav|flac|ogg|m4a|mp4|mov|avi|wmv|mkv|webm)$/i;

  // document.referrer describes how the visitor reached the page that loaded us; after an SPA
  // navigation there is no new referrer, so later events send null.
  var referrer = d.referrer || null;
  var lastKey = null; // the page counted last, so the same page twice in a row is one pageview
  var page = null; // {url, engaged, since, scroll} of the current pageview, for engagement
  var userId = null; // set by identify(): sent with this page's later events, never stored

  function uid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID(); // only in secure contexts
    var b = new Uint8Array(16), s = "";
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.random() * 256;
    for (var j = 0; j < 16; j++) s += (b[j] + 256).toString(16).slice(1);
    return s;
  }

  // One POST; `body` is fixed JSON (same event_id), so any retry is idempotent on the server.
  // text/plain keeps it a "simple" request: no CORS preflight.
  function deliver(body, done, tries) {
    if (!tries && nav.sendBeacon && nav.sendBeacon(api, new Blob([body], { type: "text/plain" }))) return done();
    fetch(api, { method: "POST", body: body, keepalive: true, credentials: "omit",
                 headers: { "Content-Type": "text/plain" } })
      .then(function (r) { if (r.status === 429 || r.status >= 500) throw r; done(); })
      .catch(function () {
        tries = (tries || 0) + 1;
        if (tries < 3) setTimeout(function () { deliver(body, done, tries); }, 1000 * tries * tries);
        else done();
      });
  }

  function send(name, o) {
    o = o || {};
    var done = typeof o.callback === "function" ? o.callback : function () {};
    if (w.__analyticsDisabled || loc.protocol === "file:") return done();
    var e = { name: name, url: o.url || loc.href, domain: domain, referrer: referrer,
              event_id: uid(), language: nav.language };
    if (userId) e.user_id = userId;
    ["props", "revenue", "transaction_id", "items", "engagement_ms", "scroll_depth", "traits"].forEach(function (k) {
      if (o[k] != null) e[k] = o[k];
    });
    if (typeof o.interactive === "boolean") e.interactive = o.interactive;
    if (hashMode) e.hash = true; // the server reads the path from the #fragment
    deliver(JSON.stringify(e), done);
  }

  // ---- engagement: visible time and deepest scroll of the current pageview ----
  function scrolled() {
    var el = d.documentElement, b = d.body || el;
    var h = Math.max(el.scrollHeight, b.scrollHeight, el.offsetHeight, b.offsetHeight);
    var seen = (w.scrollY || el.scrollTop || 0) + w.innerHeight;
    return h ? Math.min(100, Math.round((seen / h) * 100)) : 0;
  }
  function visible() { return d.visibilityState === "visible"; }

  // Reports the visible time since the last report (each slice once) and the max scroll so far.
  // `left`: the page is going away (pagehide fires before the visibility changes), stop the clock.
  function flush(left) {
    if (!page) return;
    var now = Date.now();
    if (page.since) page.engaged += now - page.since;
    page.since = visible() && left !== true ? now : 0;
    page.scroll = Math.max(page.scroll, scrolled());
    if (page.engaged > 0) {
      send("engagement", { url: page.url, engagement_ms: Math.round(page.engaged), scroll_depth: page.scroll });
      page.engaged = 0;
    }
  }

  function key() { return loc.pathname + (hashMode ? loc.hash : ""); }

  function pageview() {
    lastKey = key();
    // Scroll starts at 0, not scrolled(): right after an SPA navigation the old page's layout and
    // position are still there. Scroll events and flush() measure the new page.
    page = { url: loc.href, engaged: 0, since: visible() ? Date.now() : 0, scroll: 0 };
    send("pageview");
  }

  function navigated() {
    if (key() === lastKey) return;
    flush(); // close the old page first
    referrer = null;
    pageview();
  }

  // ---- automatic events ----
  function clicked(ev) {
    if (ev.type === "auxclick" && ev.button !== 1) return; // middle click opens links too
    var t = ev.target, a = t.closest && t.closest("a[href]");
    var tagged = t.closest && t.closest("[data-analytics-event]");
    if (tagged && tagged.tagName !== "FORM" && ev.type === "click") custom(tagged);
    if (!a || !/^https?:$/.test(a.protocol)) return;
    if (a.hasAttribute("download") || FILES.test(a.pathname)) {
      // The query string of a download link often carries signed tokens: leave it out.
      send("File Download", { props: { url: a.origin + a.pathname } });
    } else if (a.host !== loc.host) {
      send("Outbound Link: Click", { props: { url: a.href } });
    }
  }

  // data-analytics-event="Signup" data-analytics-prop-plan="pro" -> Signup {plan: "pro"}
  function custom(el) {
    var props = {}, any = false, p = "data-analytics-prop-";
    for (var i = 0; i < el.attributes.length; i++) {
      var at = el.attributes[i];
      if (at.name.indexOf(p) === 0) { props[at.name.slice(p.length)] = at.value; any = true; }
    }
    analytics(el.getAttribute("data-analytics-event"), any ? { props: props } : {});
  }

  function submitted(ev) {
    // getAttribute, not f.id: an <input name="id"> would shadow the form's own property.
    var f = ev.target, props = { path: loc.pathname }, id = f.getAttribute("id") || f.getAttribute("name");
    if (id) props.form = id;
    send("Form: Submission", { props: props });
    if (f.hasAttribute("data-analytics-event")) custom(f);
  }

  // ---- public API: analytics(name, {props, revenue, interactive, callback, transaction_id, items}) ----
  function analytics(name, options) {
    if (name === "identify") identify(options && options.user_id, options && options.traits);
    else if (typeof name === "string" && name) send(name, options);
  }

  // analytics.identify("customer-42", {plan: "pro"}): the site's own id for this visitor (docs/platform.md).
  // Kept in memory for this page only; call it on every page where the visitor is known.
  function identify(id, traits) {
    if (typeof id !== "string" || !id) return;
    userId = id;
    send("identify", traits && typeof traits === "object" ? { traits: traits } : {});
  }
  analytics.identify = identify;

  function start() {
    if (w.analytics && w.analytics.live) return; // the script was included twice
    var queued = (w.analytics && w.analytics.q) || [];
    analytics.live = true;
    w.analytics = analytics;
    var isIdentify = function (q) { return q[0] === "identify"; };
    // Queued identify calls first, so the first pageview is already identified.
    for (var i = 0; i < queued.length; i++) if (isIdentify(queued[i])) analytics.apply(null, queued[i]);
    pageview();
    for (var j = 0; j < queued.length; j++) if (!isIdentify(queued[j])) analytics.apply(null, queued[j]);

    var push = history.pushState;
    history.pushState = function () {
      var r = push.apply(this, arguments);
      navigated();
      return r;
    };
    w.addEventListener("popstate", navigated);
    if (hashMode) w.addEventListener("hashchange", navigated);
    // Restored from the back/forward cache: the visitor is looking at the page again.
    w.addEventListener("pageshow", function (e) { if (e.persisted) pageview(); });

    d.addEventListener("visibilitychange", function () {
      if (!visible()) flush();
      else if (page && !page.since) page.since = Date.now();
    });
    w.addEventListener("pagehide", function () { flush(true); });
    w.addEventListener("scroll", function () {
      if (page) page.scroll = Math.max(page.scroll, scrolled());
    }, { passive: true });

    d.addEventListener("click", clicked, true);
    d.addEventListener("auxclick", clicked, true);
    d.addEventListener("submit", submitted, true);

    var notFound = function () {
      var m = d.querySelector('meta[name="analytics:404"]');
      // Not a visitor action, so it must not turn a bounce into an engaged visit.
      if (m && m.getAttribute("content") === "true") {
        send("404", { props: { path: loc.pathname }, interactive: false });
      }
    };
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", notFound);
    else notFound();
  }

  // A prerendered page may never be shown: count it only once the visitor sees it.
  if (d.prerendering) d.addEventListener("prerenderingchange", start, { once: true });
  else start();
})();
