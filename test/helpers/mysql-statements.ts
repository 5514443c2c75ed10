import { tracingChannel } from 'node:diagnostics_channel';

interface QueryContext {
  query: string;
  database: string;
}

/**
 * Records every statement mysql2 sends to `database` while `work` runs (transaction control
 * included: each one is a round trip), from mysql2's own `mysql2:query` diagnostics channel (or
 * `mysql2:execute`, prepared statements), so nothing between Kysely and the server is replaced.
 */
export async function recordStatements<T>(database: string, work: () => Promise<T>, kind: 'query' | 'execute' = 'query'): Promise<{ result: T; statements: string[] }> {
  const channel = tracingChannel<QueryContext>(`mysql2:${kind}`);
  const statements: string[] = [];
  const handlers = {
    start(context: QueryContext) {
      if (context.database === database) statements.push(context.query);
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  channel.subscribe(handlers);
  try {
    return { result: await work(), statements };
  } finally {
    channel.unsubscribe(handlers);
  }
}

/** The leading verb(s) of each statement, lower-cased: `begin`, `select`, `insert`, … */
export function verbs(statements: readonly string[]): string[] {
  return statements.map((s) => s.trim().split(/\s+/)[0]!.toLowerCase());
}
