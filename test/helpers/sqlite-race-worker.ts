// A worker thread for the SQLite start-up race test: for every round it waits at a shared
// gate, then opens a new SqliteStore on that round's new file, at the same instant as the
// other workers, and reports the errors.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from 'shared-session/sqlite';

const { gate, dir, rounds } = workerData as { gate: Int32Array; dir: string; rounds: number };
const errors: string[] = [];
parentPort?.postMessage('ready');
for (let round = 1; round <= rounds; round++) {
  Atomics.wait(gate, 0, round - 1);
  try {
    new SqliteStore({ path: `${dir}/${round}.sqlite`, pruneIntervalSeconds: 0 }).close();
  } catch (error) {
    errors.push(`round ${round}: ${error instanceof Error ? error.message : String(error)}`);
  }
  Atomics.add(gate, 1, 1);
}
parentPort?.postMessage(errors);
