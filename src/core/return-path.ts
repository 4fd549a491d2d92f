/**
 * The path a hop returns to, made safe: a path on `origin` and nothing else. Refuses
 * anything a browser could read as another origin (`//evil`, `/\\evil`, `/.//evil` after
 * dot-segment removal, control characters), so the hop is never an open redirect.
 */
export function safeReturnPath(candidate: string, origin: string): string | undefined {
  if (!candidate.startsWith('/') || hasUnsafeCharacter(candidate)) return undefined;
  let url: URL;
  try {
    url = new URL(candidate, origin);
  } catch {
    return undefined;
  }
  if (url.origin !== origin) return undefined;
  const path = `${url.pathname}${url.search}`;
  return path.startsWith('//') || path.length > 2048 ? undefined : path;
}

function hasUnsafeCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // Control characters could split headers; a backslash reads as a slash in URLs.
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/** Append the marker that stops the next navigation from hopping again (after a refused hop). */
export function withSkipMarker(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${SKIP_PARAMETER}=1`;
}

/** The query parameter of {@link withSkipMarker}. */
export const SKIP_PARAMETER = 'shared-session-skip';
