import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { login, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { settle } from './helpers/ws.js';

/** Small deterministic PRNG (mulberry32) so a failing interleaving can be replayed by its seed. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(testDialects())('property: random sends, withdraws, disconnects and reconnects on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_PRESENCE_COALESCE_MS: '50' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  for (const seed of [11, 2024, 7, 99]) {
    it(`every device ends holding exactly the stored stream (seed ${seed})`, async () => {
      const random = prng(seed);
      const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
      const users = await Promise.all([0, 1, 2].map(() => registerUser(t.api)));
      for (const [i, a] of users.entries()) {
        for (const b of users.slice(i + 1)) {
          await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
          await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
        }
      }
      const group = (await post(t.api, '/im/group/create', { name: `p${seed}` }, { token: users[0]!.token })).data.group;
      for (const u of users.slice(1)) {
        const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
        await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: users[0]!.token });
      }
      const devices = await Promise.all(users.flatMap((u) => [u.token, null].map(async (token) => ({
        user: u,
        device: new SyncDevice(t.url, token ?? (await login(t.api, u.username))),
      }))));
      await Promise.all(devices.map((d) => d.device.connect()));
      const sent = new Map<number, number[]>(users.map((u) => [u.user.id, []]));

      const step = async () => {
        const roll = random();
        const u = pick(users);
        if (roll < 0.35) {
          const to = pick(users.filter((o) => o !== u));
          const own = devices.filter((d) => d.user === u);
          const viaSocket = random() < 0.5 ? own.find((d) => d.device.socket) : undefined;
          if (viaSocket) await viaSocket.device.sendOverSocket(0, to.user.id, `s${random()}`);
          else sent.get(u.user.id)!.push(await pick(own).device.sendOverHttp(t.api, '/im/chat/send/user', { to_uid: to.user.id, type: 0, body: `h${random()}` }));
        } else if (roll < 0.6) {
          const own = devices.filter((d) => d.user === u);
          sent.get(u.user.id)!.push(await pick(own).device.sendOverHttp(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: `g${random()}` }));
        } else if (roll < 0.68) {
          const mine = sent.get(u.user.id)!;
          if (mine.length === 0) return;
          const id = pick(mine);
          const row = await t.dbh.db.selectFrom('messages').select('ope').where('id', '=', id).executeTakeFirstOrThrow();
          await post(t.api, row.ope === 1 ? '/im/chat/withdraw/group' : '/im/chat/withdraw/user', { message_id: id }, { token: u.token });
        } else if (roll < 0.74) {
          const stranger = await registerUser(t.api);
          await post(t.api, '/im/friend/add/request', { f_uid: u.user.id, reason: 'p' }, { token: stranger.token });
        } else if (roll < 0.87) {
          const online = devices.filter((d) => d.device.socket);
          if (online.length > 0) pick(online).device.disconnect();
        } else {
          const offline = devices.filter((d) => !d.device.socket);
          if (offline.length > 0) await pick(offline).device.connect();
        }
      };
      for (let round = 0; round < 60; round++) await Promise.all([step(), step(), step()]);

      for (const d of devices) if (!d.device.socket) await d.device.connect();
      await settle(300);

      for (const { user, device } of devices) {
        const conversations = await t.dbh.db
          .selectFrom('conversations')
          .select(['id', 'last_seq', 'group_id'])
          .where((eb) => eb.or([eb('user_lo', '=', user.user.id), eb('user_hi', '=', user.user.id), eb('group_id', '=', group.id)]))
          .execute();
        for (const c of conversations) await device.waitFor(`c${c.id}`, Number(c.last_seq));
        const { event_seq } = await t.dbh.db.selectFrom('users').select('event_seq').where('id', '=', user.user.id).executeTakeFirstOrThrow();
        await device.waitFor('e', Number(event_seq));
        await settle(50);
        const held = device.heldByStream();
        // A group's stream starts for a member where they joined (group join events take seqs before it).
        const joined = await t.dbh.db.selectFrom('group_members').select('joined_seq').where('group_id', '=', group.id).where('user_id', '=', user.user.id).executeTakeFirstOrThrow();
        for (const c of conversations) {
          const start = c.group_id === null ? 0 : Number(joined.joined_seq);
          expect(held.get(`c${c.id}`), `user ${user.user.id} conversation ${c.id}: 0 lost`).toEqual(Array.from({ length: Number(c.last_seq) - start }, (_, i) => start + i + 1));
        }
        expect(held.get('e'), `user ${user.user.id} events`).toEqual(Array.from({ length: Number(event_seq) }, (_, i) => i + 1));
        expect(device.faults, 'nothing sent twice').toEqual([]);
        // Frames carry what the database stored at their seq.
        for (const r of device.received.filter((x) => x.frame.Cmd === 6 || x.frame.Cmd === 10)) {
          const row = await t.dbh.db.selectFrom('messages').select(['id', 'seq']).where('id', '=', r.frame.Id!).executeTakeFirstOrThrow();
          expect(Number(row.seq)).toBe(r.seq);
        }
      }
      for (const d of devices) d.device.disconnect();
    });
  }
});
