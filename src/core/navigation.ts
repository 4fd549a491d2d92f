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
