import { sql } from 'kysely';
import { inject } from 'vitest';
import type { DbHandle } from '../../src/db/connect.js';
import { mysqlUrlFor, openTestDatabase } from './database.js';
import { startTestNode, type TestNode } from './node.js';

/** Whether the rig has MariaDB, Redis and etcd (cluster suites need all three). */
export function clusterRigAvailable(): boolean {
  return [inject('mysqlUrl'), inject('redisUrl'), inject('etcdUrl')].every(Boolean);
}

/** The settings of node `nodeId` of a cluster on the rig's Redis and etcd, under key prefix `prefix`. */
export function clusterEnv(prefix: string, nodeId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WEIM_CLUSTER_MODE: 'cluster',
    WEIM_CLUSTER_NODE_ID: nodeId,
    WEIM_CLUSTER_REDIS_URL: inject('redisUrl')!,
    WEIM_CLUSTER_ETCD_HOSTS: inject('etcdUrl')!,
    WEIM_CLUSTER_LEASE_SECONDS: '2',
    WEIM_CLUSTER_KEY_PREFIX: prefix,
    ...extra,
  };
}

/** In-process nodes `nodeIds` on one fresh MariaDB database; `stop()` stops them, then closes the database. */
export async function startClusterNodes(prefix: string, nodeIds: string[], extra: Record<string, string> = {}) {
  const shared: DbHandle = await openTestDatabase('mysql');
  const { name } = (await sql<{ name: string }>`select database() as name`.execute(shared.db)).rows[0]!;
  const dbUrl = mysqlUrlFor(name);
  const nodes: TestNode[] = [];
  for (const id of nodeIds) {
    nodes.push(await startTestNode('mysql', { ...clusterEnv(prefix, id, extra), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: dbUrl }, { database: shared }));
  }
  return {
    shared,
    dbUrl,
    nodes,
    async stop() {
      for (const node of nodes) await node.stop();
      await shared.close();
    },
  };
}
