import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMysqlSchema } from '../db/schema-sql.js';

/** `npm run schema:dump`: regenerates database.sql from migrations/. */
const target = fileURLToPath(new URL('../../database.sql', import.meta.url));
writeFileSync(target, await renderMysqlSchema());
console.log(`wrote ${target}`);
