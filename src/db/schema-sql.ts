import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type CompiledQuery,
} from 'kysely';
import { migrations } from '../../migrations/index.js';

/**
 * Renders the MySQL schema that the migrations create, by running every migration's `up` against
 * a Kysely that compiles MySQL SQL but executes nothing. database.sql is this text; a test fails
 * when the committed file differs.
 */
export async function renderMysqlSchema(): Promise<string> {
  const statements: string[] = [];
  const db = new Kysely<any>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new MysqlIntrospector(k),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
    log: (event) => {
      if (event.level === 'query') statements.push(inline(event.query));
    },
  });
  const parts = ['-- weim MySQL 8 / MariaDB 10.11 schema.', '-- Generated from migrations/ by `npm run schema:dump`; do not edit by hand.', ''];
  for (const [name, migration] of Object.entries(migrations)) {
    statements.length = 0;
    await migration.up(db);
    parts.push(`-- ${name}`);
    for (const statement of statements) parts.push(`${statement};`);
    parts.push('');
  }
  await db.destroy();
  return parts.join('\n');
}

function inline(query: CompiledQuery): string {
  if (query.parameters.length > 0) {
    throw new Error(`migration DDL must not use bound parameters: ${query.sql}`);
  }
  return query.sql;
}
