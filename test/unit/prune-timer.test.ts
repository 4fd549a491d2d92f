import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PruneTimers, pruneSettings } from '../../src/stores/prune-timer.ts';

/** A prune that takes `ms` and counts its runs, and how many of them ever ran at once. */
function slowTask(ms: number) {
  const task = {
    runs: 0,
    running: 0,
    mostAtOnce: 0,
    run: async (): Promise<void> => {
      task.runs++;
      task.running++;
      task.mostAtOnce = Math.max(task.mostAtOnce, task.running);
      await sleep(ms);
      task.running--;
    },
  };
  return task;
}

/** A `failed` for timers whose runs never fail: collects what would be reported. */
function noFailures() {
  const failures: unknown[] = [];
  return { failures, failed: (error: unknown) => void failures.push(error) };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(5);
}

describe('prune timers', () => {
  it('validates the intervals: seconds, 0 for off, defaults 600 and 5', () => {
    assert.deepEqual(pruneSettings({}), { pruneMs: 600_000, claimPruneMs: 5000 });
    assert.deepEqual(pruneSettings({ pruneIntervalSeconds: 0, claimPruneIntervalSeconds: 0.5 }), { pruneMs: 0, claimPruneMs: 500 });
    assert.throws(() => pruneSettings({ claimPruneIntervalSeconds: -1 }), { code: 'ERR_SHARED_SESSION_OPTION', message: /claimPruneIntervalSeconds/ });
    assert.throws(() => pruneSettings({ pruneIntervalSeconds: Number.NaN }), { code: 'ERR_SHARED_SESSION_OPTION', message: /pruneIntervalSeconds/ });
  });

  it('runs both prunes again and again, never a run over the one before', async () => {
    const all = slowTask(30);
    const claims = slowTask(30);
    const { failures, failed } = noFailures();
    const timers = new PruneTimers({ pruneMs: 10, claimPruneMs: 5 }, { all: all.run, claims: claims.run }, failed);
    await until(() => all.runs >= 3 && claims.runs >= 3);
    timers.stop();
    assert.deepEqual([all.mostAtOnce, claims.mostAtOnce, failures], [1, 1, []]);
  });

  it('starts no run after stop(), and none of a timer set to 0', async () => {
    const all = slowTask(0);
    const claims = slowTask(0);
    const { failures, failed } = noFailures();
    const timers = new PruneTimers({ pruneMs: 0, claimPruneMs: 5 }, { all: all.run, claims: claims.run }, failed);
    await until(() => claims.runs >= 2);
    timers.stop();
    const stoppedAt = claims.runs;
    await sleep(100);
    assert.deepEqual([all.runs, claims.runs, failures], [0, stoppedAt, []]);
  });

  it('reports a failed run and runs again', async () => {
    const failures: unknown[] = [];
    let runs = 0;
    const timers = new PruneTimers(
      { pruneMs: 0, claimPruneMs: 5 },
      { all: () => Promise.resolve(), claims: () => Promise.reject(new Error(`prune ${++runs} failed`)) },
      (error) => failures.push(error),
    );
    await until(() => failures.length >= 2);
    timers.stop();
    assert.match(String(failures[1]), /prune 2 failed/);
  });

  it('never keeps a process alive', async () => {
    const script = `
      import { PruneTimers } from ${JSON.stringify(new URL('../../src/stores/prune-timer.ts', import.meta.url).href)};
      new PruneTimers({ pruneMs: 10, claimPruneMs: 10 }, { all: async () => {}, claims: async () => {} }, () => {});
      console.log('started');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.deepEqual([code, out.trim()], [0, 'started']);
  });
});
