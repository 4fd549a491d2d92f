import type { Site } from './sites.ts';

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;' };

/** Escape a value for a double-quoted HTML attribute. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&"'<>]/g, (char) => HTML_ESCAPES[char] as string);
}

/**
 * One `<script>` tag of the loader. `referrerpolicy="origin"` makes the browser tell the
 * receiving site which page loaded the token whatever the page's own policy, so the
 * receiver can refuse a token embedded by any other site (login CSRF).
 */
export function scriptTag(destination: Site, basePath: string, token: string, nonce: string | undefined): string {
  const nonceAttribute = nonce === undefined ? '' : ` nonce="${escapeAttribute(nonce)}"`;
  return `<script src="${escapeAttribute(`${destination.origin}${basePath}/${token}.js`)}" async referrerpolicy="origin"${nonceAttribute}></script>`;
}
