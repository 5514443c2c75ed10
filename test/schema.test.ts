import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { describe, expect, inject, it } from 'vitest';
import { renderMysqlSchema } from '../src/db/schema-sql.js';
import { openTestDatabase } from './helpers/database.js';

const databaseSql = fileURLToPath(new URL('../database.sql', import.meta.url));

describe('database.sql', () => {
  it('is what the migrations generate (run `npm run schema:dump` when this fails)', async () => {
    expect(readFileSync(databaseSql, 'utf8')).toBe(await renderMysqlSchema());
  });

  it.runIf(inject('mysqlUrl'))('creates the same tables on MariaDB as the migrations do', async () => {
    const adminUrl = inject('mysqlUrl')!;
    const fromFile = `weim_sql_${randomBytes(4).toString('hex')}`;
    const admin = await createConnection({ uri: adminUrl, multipleStatements: true });
    const migrated = await openTestDatabase('mysql');
    try {
      await admin.query(`CREATE DATABASE ${fromFile}; USE ${fromFile}; ${readFileSync(databaseSql, 'utf8')}`);
      const [migratedName] = (await migrated.db.selectNoFrom((eb) => eb.fn<string>('database').as('name')).execute()) as [{ name: string }];
      const describeSchema = async (schema: string) => {
        const [tables] = (await admin.query(
          `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`,
          [schema],
        )) as [Array<{ t: string }>, unknown];
        const out: string[] = [];
        for (const { t } of tables) {
          const [rows] = (await admin.query(`SHOW CREATE TABLE \`${schema}\`.\`${t}\``)) as [Array<Record<string, string>>, unknown];
          out.push(rows[0]!['Create Table']!.replace(/ AUTO_INCREMENT=\d+/, ''));
        }
        return out;
      };
      const expected = await describeSchema(migratedName.name);
      expect(expected.length).toBeGreaterThan(0);
      expect(await describeSchema(fromFile)).toEqual(expected);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${fromFile}`);
      await admin.end();
      await migrated.close();
    }
  });
});
