/**
 * HTTP load against the bench server (autocannon, 10 connections), and the A/B/A/B pairs
 * that every HTTP case of the table is made of.
 */
import autocannon from 'autocannon';
import { Client } from '../test/helpers/http.ts';

/** One row of the table (and of the JSON). */
export interface Row {
  readonly group: string;
  readonly name: string;
  readonly unit: string;
  readonly values: number[];
  /** Per-round ratio to the group's baseline. */
  readonly ratios?: number[];
  /** Per-pair ratio of the server's CPU time per request, baseline over variant: the same cost, without the machine's noise. */
  readonly cpuRatios?: number[];
  /** Redirects the measured navigation took (the hop cases). */
  readonly redirects?: number;
  readonly target?: string;
  readonly note?: string;
}

/** How long and how often to measure, and where the server listens. */
export interface Run {
  readonly quick: boolean;
  readonly rounds: number;
  readonly seconds: number;
  /** Each variant's port on 127.0.0.1, and `control` (the server's CPU time). */
  readonly ports: Readonly<Record<string, number>>;
}

/** Requests per HTTP case in a quick run. */
const QUICK_REQUESTS = 200;

export interface Load {
  readonly port: number;
  readonly host: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** A fresh path for every request (single-use tokens). */
  readonly nextPath?: () => string;
  /** The status every response must have: a benchmark of errors measures nothing. */
  readonly expectStatus: number;
}

export interface Variant {
  readonly name: string;
  readonly load: Load;
  readonly target?: string | undefined;
  readonly note?: string | undefined;
}

async function serverCpuMicros(run: Run): Promise<number> {
  const response = await new Client().fetch(`http://127.0.0.1:${run.ports.control}/`);
  return (JSON.parse(response.body) as { cpuMicros: number }).cpuMicros;
}

interface Measured {
  /** Requests per second. */
  readonly rps: number;
  /** The server's CPU time per request, µs. */
  readonly cpu: number;
}

/** Requests per second of one autocannon run against one variant, and the server's CPU time per request. */
async function measure(run: Run, load: Load): Promise<Measured> {
  const cpuBefore = await serverCpuMicros(run);
  const result = await autocannon({
    url: `http://127.0.0.1:${load.port}${load.path ?? '/'}`,
    connections: 10,
    // Quick runs (the test command's smoke run) send a fixed number of requests, and
    // autocannon checks for the end every 20 ms: by duration, a run takes at least a second.
    ...(run.quick ? { amount: QUICK_REQUESTS, sampleInt: 20 } : { duration: run.seconds }),
    headers: { host: load.host, ...load.headers },
    ...(load.nextPath
      ? {
          requests: [
            {
              setupRequest: (request) => {
                request.path = load.nextPath!();
                return request;
              },
            },
          ],
        }
      : {}),
  });
  const cpu = ((await serverCpuMicros(run)) - cpuBefore) / Math.max(1, result.requests.total);
  const bad = load.expectStatus === 200 ? result.non2xx : result['2xx'];
  if (result.errors > 0 || (load.expectStatus === 200 ? bad : result.non2xx - result['4xx'] + bad) > 0) {
    throw new Error(`${load.host}${load.path ?? ''}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.requests.total}`);
  }
  // Requests over the run's own wall time (autocannon's per-second average needs whole seconds).
  const elapsedSeconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  return { rps: result.requests.total / Math.max(elapsedSeconds, 0.001), cpu };
}

/**
 * A/B/A/B: each variant measured right after its own run of the baseline, round after
 * round, and its ratio taken to that baseline: on these machines speed changes within
 * seconds, so only neighbouring measurements compare.
 */
export async function pairs(run: Run, group: string, baselineName: string, baseline: Load, variants: readonly Variant[]): Promise<Row[]> {
  // BENCH_CASE=<index> runs one variant alone (no baseline), for a CPU profile of just that path.
  const alone = process.env.BENCH_CASE === undefined ? undefined : Number(process.env.BENCH_CASE);
  const base: number[] = [];
  const results = variants.map(() => ({ values: [] as number[], ratios: [] as number[], cpuRatios: [] as number[] }));
  for (let round = 0; round < run.rounds; round++) {
    for (const [index, variant] of variants.entries()) {
      if (alone !== undefined && alone !== index) continue;
      const a = alone === undefined ? await measure(run, baseline) : { rps: 1, cpu: 1 };
      const b = await measure(run, variant.load);
      base.push(a.rps);
      results[index]!.values.push(b.rps);
      results[index]!.ratios.push(b.rps / a.rps);
      results[index]!.cpuRatios.push(a.cpu / b.cpu);
    }
  }
  return [
    { group, name: baselineName, unit: 'req/s', values: base.length ? base : [0] },
    ...variants.map((variant, index) => ({
      group,
      name: variant.name,
      unit: 'req/s',
      values: results[index]!.values.length ? results[index]!.values : [0],
      ratios: results[index]!.ratios.length ? results[index]!.ratios : [0],
      cpuRatios: results[index]!.cpuRatios.length ? results[index]!.cpuRatios : [0],
      ...(variant.target ? { target: variant.target } : {}),
      ...(variant.note ? { note: variant.note } : {}),
    })),
  ];
}
