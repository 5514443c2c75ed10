import { createConnection } from 'mysql2/promise';

/** One stored message (the scenario does no withdraws: each seq of a conversation is one row). */
export interface StoredRow { convId: number; seq: number; id: number; senderId: number; createdAt: number; withdrawSeq: number | null }

/** What the database says happened: the source of truth the devices are checked against. */
export interface Truth {
  /** convId → seq → row. */
  messages: Map<number, Map<number, StoredRow>>;
  /** userId → convId → first seq the user may see (1, or joined_seq + 1 in a group). */
  convsOf: Map<number, Map<number, number>>;
  /** convId → member user ids. */
  membersOf: Map<number, number[]>;
  /** `g<groupId>` or `f<lowerUserId>-<higherUserId>` → convId (conversations that exist). */
  convOf?: Map<string, number>;
  /** convId → seqs taken by stream events that are not messages or withdraws (group events, edits, reactions). */
  eventSeqs?: Map<number, Set<number>>;
}

/**
 * Reads the truth straight from MariaDB (mysql2, no weim code): `messages`, `conversations` and
 * `group_members` (migrations/0005, 0006). A friend conversation's members are user_lo/user_hi
 * from seq 1; a group conversation's are the group's members from their joined_seq + 1.
 */
export async function readTruth(dbUrl: string): Promise<Truth> {
  const db = await createConnection({ uri: dbUrl, connectTimeout: 10_000 });
  try {
    const [rows] = await db.query('SELECT id, conversation_id, seq, sender_id, created_at, withdraw_seq FROM messages');
    const [convs] = await db.query('SELECT id, user_lo, user_hi, group_id FROM conversations');
    const [members] = await db.query('SELECT group_id, user_id, joined_seq FROM group_members');
    const [events] = await db.query('SELECT conversation_id, seq FROM group_events UNION ALL SELECT conversation_id, seq FROM message_edits UNION ALL SELECT conversation_id, seq FROM reaction_events');
    const truth: Truth = { messages: new Map(), convsOf: new Map(), membersOf: new Map(), convOf: new Map(), eventSeqs: new Map() };
    for (const e of events as Array<Record<string, unknown>>) {
      const convId = Number(e.conversation_id);
      let seqs = truth.eventSeqs!.get(convId);
      if (!seqs) truth.eventSeqs!.set(convId, (seqs = new Set()));
      seqs.add(Number(e.seq));
    }
    for (const r of rows as Array<Record<string, unknown>>) {
      const row: StoredRow = {
        convId: Number(r.conversation_id), seq: Number(r.seq), id: Number(r.id), senderId: Number(r.sender_id),
        createdAt: Number(r.created_at), withdrawSeq: r.withdraw_seq === null ? null : Number(r.withdraw_seq),
      };
      let bySeq = truth.messages.get(row.convId);
      if (!bySeq) truth.messages.set(row.convId, (bySeq = new Map()));
      bySeq.set(row.seq, row);
    }
    const byGroup = new Map<number, Array<{ userId: number; joinedSeq: number }>>();
    for (const m of members as Array<Record<string, unknown>>) {
      const list = byGroup.get(Number(m.group_id)) ?? [];
      list.push({ userId: Number(m.user_id), joinedSeq: Number(m.joined_seq) });
      byGroup.set(Number(m.group_id), list);
    }
    const add = (userId: number, convId: number, from: number) => {
      let convs = truth.convsOf.get(userId);
      if (!convs) truth.convsOf.set(userId, (convs = new Map()));
      convs.set(convId, from);
      truth.membersOf.set(convId, [...(truth.membersOf.get(convId) ?? []), userId]);
    };
    for (const c of convs as Array<Record<string, unknown>>) {
      const convId = Number(c.id);
      truth.convOf!.set(c.group_id !== null ? `g${Number(c.group_id)}` : `f${Number(c.user_lo)}-${Number(c.user_hi)}`, convId);
      if (c.group_id !== null) {
        for (const m of byGroup.get(Number(c.group_id)) ?? []) add(m.userId, convId, m.joinedSeq + 1);
      } else {
        add(Number(c.user_lo), convId, 1);
        add(Number(c.user_hi), convId, 1);
      }
    }
    return truth;
  } finally {
    await db.end();
  }
}
