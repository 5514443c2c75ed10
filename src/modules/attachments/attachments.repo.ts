import type { Executor } from '../../db/database.js';
import type { NewUpload, UploadRow } from './attachments.table.js';

/** Queries on `uploads`. Each takes the executor first so it joins the caller's transaction. */
export async function insertUpload(db: Executor, upload: NewUpload): Promise<number> {
  const result = await db.insertInto('uploads').values(upload).executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export async function findUploadByKey(db: Executor, objectKey: string): Promise<UploadRow | undefined> {
  return db.selectFrom('uploads').selectAll().where('object_key', '=', objectKey).executeTakeFirst();
}
