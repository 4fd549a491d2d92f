import assert from 'node:assert/strict';
import type { SiteProcess } from './sites.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What some site processes log from now on. */
export interface LogWatch {
  /** Resolves once one of the sites logged a line containing `text` since the watch began; fails after a bounded wait. */
  expect(text: string): Promise<void>;
}

/**
 * Watch what `sites` log from this call on, so that a line an earlier test caused never
 * counts. A site logs an event through a pipe, after its response: the line is waited for
 * (up to 10 s, for a loaded machine), never timed.
 */
export function watchLogs(sites: readonly SiteProcess[]): LogWatch {
  const marks = sites.map((site) => site.output.length);
  const since = (): string[] => sites.flatMap((site, index) => site.output.slice(marks[index]));
  return {
    async expect(text) {
      for (let i = 0; i < 400 && !since().some((line) => line.includes(text)); i++) await sleep(25);
      assert.ok(since().some((line) => line.includes(text)), `logged: ${text}`);
    },
  };
}
