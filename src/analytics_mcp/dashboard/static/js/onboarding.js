// A site without any pageview yet: instead of empty charts, the tracker snippet for its domain and
// a live check that polls the realtime route until the first pageview arrives, then asks for the
// numbers (`onLive`). Headless and automated browsers are dropped as bots, so it says how to test.
import {clear, el} from './dom.js';
import {isAbort} from './loading.js';
import {REALTIME, repeat} from './realtime.js';

export const POLL_MS = 3_000;

function snippet(domain) {
  return `<script defer data-domain="${domain}" src="${location.origin}/js/script.js"></script>`;
}

export function createOnboarding({api, onLive}) {
  const root = el('section', {class: 'card wide onboarding', id: 'onboarding', hidden: true});

  function paint(domain) {
    const code = el('code', {}, snippet(domain));
    const copy = el('button', {type: 'button', class: 'btn btn-small', onclick: async () => {
      await navigator.clipboard?.writeText(code.textContent).catch(() => null);
      copy.textContent = 'Copied';
    }}, 'Copy');
    clear(root).append(
      el('h2', {}, `Set up ${domain}`),
      el('p', {}, 'No pageview has arrived for this site yet. Add this line to every page, inside <head>:'),
      el('div', {class: 'snippet'}, el('pre', {}, code), copy),
      el('p', {class: 'waiting', role: 'status', id: 'waiting'}, el('span', {class: 'pulse', 'aria-hidden': 'true'}),
        `Waiting for the first pageview on ${domain}… This page switches to the numbers when it arrives.`),
      el('h3', {}, 'Testing it'),
      el('ul', {}, [
        'Open your site in a normal browser window (Chrome, Firefox, Safari, Edge), on a phone or a computer.',
        'Headless and automated browsers (Playwright, Puppeteer, Selenium, curl, monitoring services) are dropped as bots and never counted.',
        'An ad or tracker blocker can stop the script: try a private window without extensions.',
      ].map((text) => el('li', {}, text))),
    );
  }

  /** Show the onboarding for `domain` and poll until a pageview of it is in the realtime window. */
  function wait(domain, signal) {
    paint(domain);
    root.hidden = false;
    const params = new URLSearchParams({site: domain, limit: '1'});
    return repeat(signal, POLL_MS, async (s) => {
      try {
        const now = await api.get(REALTIME, params, s);
        if (now.pages.length && !s.aborted) onLive();
      } catch (error) {
        if (!isAbort(error)) root.querySelector('#waiting')?.classList.add('failed');
      }
    });
  }

  function hide() {
    root.hidden = true;
  }

  return {root, wait, hide};
}
