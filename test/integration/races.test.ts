/**
 * Issue 4's race tests on every store: two sites in two processes share a session, and
 * overlapping requests through both change it (test/helpers/race.ts). connect-redis runs
 * the same races and loses the updates, which shows that the races are real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { describeRaces } from '../helpers/race.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-server.ts';
import { startRedis, startRedisCluster, type RedisClusterServers, type RedisServer } from '../helpers/redis-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'shared-session-races-'));
let redis: RedisServer | undefined;
let cluster: RedisClusterServers | undefined;
let database: TestDatabase | undefined;
after(async () => {
  await Promise.all([redis?.stop(), cluster?.stop(), database?.drop()]);
  rmSync(dir, { recursive: true, force: true });
});

describeRaces('SqliteStore', () => join(dir, 'sessions.sqlite'));
describeRaces('FileStore', () => `file:${join(dir, 'files')}`);
describeRaces('RedisStore', async () => {
  redis = await startRedis();
  return redis.url;
});
describeRaces('RedisStore on a 3-master cluster', async () => {
  cluster = await startRedisCluster();
  return `redis-cluster://${cluster.ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
});
describeRaces('PostgresStore', async () => {
  database = await createTestDatabase();
  return database.connectionString;
});
// The status quo beside ours: connect-redis 10 on the same Redis writes whole records.
describeRaces(
  'connect-redis 10',
  () => `connect-redis+${redis!.url}`,
  'lost',
);
