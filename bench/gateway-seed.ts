import bcrypt from 'bcrypt';
import type { Db } from '../src/db/database.js';
import { TokenService } from '../src/modules/auth/index.js';
import { Role } from '../src/modules/groups/groups.table.js';

/** What the load needs from the seeded database: user ids (index = socket), friend pairs, the group. */
export interface Seeded {
  userIds: number[];
  /** Friend pairs as indexes into `userIds`; both `friends` rows exist for each. */
  pairs: Array<[number, number]>;
  groupId: number;
  /** One signed JWT per user, same index as `userIds`. */
  tokens: string[];
}

const CHUNK = 1000;

/**
 * Seeds a migrated, empty database directly (HTTP register would spend minutes in bcrypt): `n`
 * users sharing one precomputed bcrypt hash, the friend pairs (0,1), (2,3), … with both rows,
 * and one group holding the first `groupSize` users (all `n` by default; user 0 owns it).
 */
export async function seedDatabase(db: Db, n: number, now = Date.now(), groupSize = n): Promise<Omit<Seeded, 'tokens'>> {
  const passwordHash = await bcrypt.hash('bench-password', 10);
  return db.transaction().execute(async (trx) => {
    for (let start = 0; start < n; start += CHUNK) {
      const rows = [];
      for (let i = start; i < Math.min(n, start + CHUNK); i++) {
        rows.push({ username: `bench_${String(i).padStart(7, '0')}`, password_hash: passwordHash, nickname: `bench ${i}`, created_at: now, updated_at: now });
      }
      await trx.insertInto('users').values(rows).execute();
    }
    const users = await trx.selectFrom('users').select(['id', 'username']).orderBy('id').execute();
    if (users.length !== n) throw new Error(`seed: expected ${n} bench users, found ${users.length} users (is the database fresh?)`);
    const userIds = users.map((u) => Number(u.id));

    const pairs: Array<[number, number]> = [];
    for (let i = 0; i + 1 < n; i += 2) pairs.push([i, i + 1]);
    for (let start = 0; start < pairs.length; start += CHUNK / 2) {
      const rows = pairs.slice(start, start + CHUNK / 2).flatMap(([a, b]) => [
        { user_id: userIds[a]!, friend_id: userIds[b]!, created_at: now },
        { user_id: userIds[b]!, friend_id: userIds[a]!, created_at: now },
      ]);
      await trx.insertInto('friends').values(rows).execute();
    }

    const group = await trx
      .insertInto('groups')
      .values({ name: 'bench', owner_id: userIds[0]!, member_count: groupSize, created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    const groupId = Number(group.insertId);
    for (let start = 0; start < groupSize; start += CHUNK) {
      const rows = userIds.slice(start, Math.min(groupSize, start + CHUNK)).map((userId, k) => ({ group_id: groupId, user_id: userId, role: start + k === 0 ? Role.Owner : Role.Member, joined_at: now }));
      await trx.insertInto('group_members').values(rows).execute();
    }
    return { userIds, pairs, groupId };
  });
}

/** Signs one token per user exactly as the server's TokenService does (HS256, issuer weim, sub, jti). */
export function issueTokens(db: Db, secret: string, userIds: readonly number[]): string[] {
  const tokens = new TokenService(db, { secret, ttlSeconds: 24 * 3600 });
  return userIds.map((id) => tokens.issue(id));
}
