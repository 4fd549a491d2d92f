import type { RequestFacts } from './contract.ts';

/**
 * True for a top-level GET navigation of a page: what a visitor does by typing a URL,
 * following a link or being redirected. Browsers say so in Fetch Metadata
 * (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`); older ones send neither,
 * and then `Accept: text/html` is the best sign. Prefetches and prerenders are not
 * visits: the visitor may never see them.
 */
export function isTopLevelNavigation(facts: RequestFacts): boolean {
  if (facts.method !== 'GET') return false;
  if (facts.header('sec-purpose') !== undefined || facts.header('purpose') !== undefined) return false;
  const mode = facts.header('sec-fetch-mode');
  if (mode !== undefined) return mode === 'navigate' && facts.header('sec-fetch-dest') === 'document';
  return facts.header('accept')?.includes('text/html') ?? false;
}

/**
 * False only when Fetch Metadata says the request is not a top-level navigation: the hop's
 * steps carry tokens and set cookies, so an image, a frame or a script that points at one
 * must not run it. Browsers without Fetch Metadata navigate as before.
 */
export function mayBeNavigation(facts: RequestFacts): boolean {
  const dest = facts.header('sec-fetch-dest');
  const mode = facts.header('sec-fetch-mode');
  if (dest === undefined && mode === undefined) return true;
  return dest === 'document' && mode === 'navigate';
}

/**
 * True when Fetch Metadata says this is a classic `<script>` loaded by another site's page:
 * the one request the push answers. Anything else (a navigation or a link, an image, a
 * frame, a fetch) could carry a token planted by someone else (login CSRF), and a browser
 * that sends no Fetch Metadata gets no push at all: it shares through the hop.
 */
export function isCrossSiteScriptLoad(facts: RequestFacts): boolean {
  const site = facts.header('sec-fetch-site');
  return facts.header('sec-fetch-dest') === 'script' && facts.header('sec-fetch-mode') === 'no-cors' && (site === 'cross-site' || site === 'same-site');
}

// A browser sends Mozilla/5.0 in User-Agent; crawlers and scripts either do not, or say so.
const BOT = /bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|monitor|lighthouse|curl|wget|python|httpclient|okhttp|java\//i;

/** True when the request comes from a browser, not a crawler or a script: only browsers hop. */
export function looksLikeBrowser(facts: RequestFacts): boolean {
  const agent = facts.header('user-agent');
  return agent !== undefined && agent.startsWith('Mozilla/') && !BOT.test(agent);
}

/**
 * True for browsers that can keep the push's cookie: Chromium-based ones (Chrome, Edge,
 * Opera, Samsung Internet), which allow third-party cookies unless the visitor turned them
 * off. Safari and every iOS browser (WebKit) block them, and Firefox partitions them, so
 * that a voucher set there is never seen on a direct visit: pushing to those would only
 * cost requests, and under Safari's tracking prevention it classifies the sites.
 */
export function acceptsThirdPartyCookies(facts: RequestFacts): boolean {
  const agent = facts.header('user-agent');
  return agent !== undefined && agent.includes('Chrome/') && !agent.includes('Firefox/');
}
