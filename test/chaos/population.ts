import { randomBytes } from 'node:crypto';
import { login, post } from '../helpers/http.js';
import { Device } from './device.js';

/** A user of the scenario: who they are, whom they write to, and which node each device calls home. */
export interface ChaosUser {
  index: number;
  id: number;
  username: string;
  token: string;
  friends: number[];
  groups: number[];
}

export interface Population {
  users: ChaosUser[];
  devices: Device[];
  /** Send targets of each device, in the order it cycles through them. */
  targets: Map<Device, Array<{ toId: number; ope: 0 | 1 }>>;
  groupIds: number[];
  /**
   * What each device homed on n2 writes in the kill burst, one message each, and nothing else
   * ever writes to: friends of its own on the other nodes (see populate). What n2 stored of the
   * burst but never pushed can reach the other nodes' sockets only through the survivors' repair
   * on its death: no later message in the conversation reveals the gap.
   */
  burstTargets: Map<Device, Array<{ toId: number; ope: 0 | 1 }>>;
  /** The user ids of each burst-only friendship. */
  burstPairs: Array<[number, number]>;
}

/** Homes: a user's first device on node u % 3, the second (users < twoDeviceUsers) on (u + 1) % 3. */
export const homeOf = (userIndex: number, deviceIndex: number) => (userIndex + deviceIndex) % 3;
/** The node SIGKILLed by the kill fault (n2). */
export const KILLED_NODE = 1;

async function ok<T>(what: string, call: Promise<{ code: number; msg: string; data: T }>): Promise<T> {
  const r = await call;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.code} ${r.msg}`);
  return r.data;
}

/**
 * Registers `users` users over HTTP (spread over the nodes), makes friends along a ring (u, u+1)
 * plus a chord (u, u + users/2) for every third u (each user has 2 or 3 friends, and ring
 * neighbours are homed on different nodes), and 3 groups where user u is in group
 * floor(u / 3) % 3 (so each group spans all nodes). Then one Device per user and a second one for
 * users 0..twoDeviceUsers-1 (logged in again: a session of its own), on another node.
 * Groups are complete before any message is sent, so every member's history starts at seq 1.
 *
 * For the kill burst only: each user with a device homed on n2 gets `burstFriends` more friends
 * whose first device is homed elsewhere, friendships the steady traffic never uses. Each gets one
 * message per kill (a second one, stored later by a resend, would reveal a gap the first left).
 */
export async function populate(apis: string[], wsUrls: string[], users: number, twoDeviceUsers: number, burstFriends: number): Promise<Population> {
  const tag = randomBytes(3).toString('hex');
  const api = (u: number) => apis[u % apis.length]!;
  const people: ChaosUser[] = [];
  for (let u = 0; u < users; u += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, users - u) }, async (_, k) => {
      const index = u + k;
      const username = `ch${tag}_${index}`;
      const data = await ok('register', post<{ t: string; user: { id: number } }>(api(index), '/register', { username, password: 'secret123' }));
      return { index, id: data.user.id, username, token: data.t, friends: [], groups: [] } as ChaosUser;
    }));
    people.push(...batch);
  }
  const pairs: Array<[number, number]> = [];
  for (let u = 0; u < users; u++) pairs.push([u, (u + 1) % users]);
  for (let u = 0; u < users / 2; u += 3) pairs.push([u, u + Math.floor(users / 2)]);
  for (const [a, b] of pairs) {
    const [ua, ub] = [people[a]!, people[b]!];
    if (ua.friends.includes(b)) continue;
    await ok('friend request', post(api(a), '/im/friend/add/request', { f_uid: ub.id }, { token: ua.token }));
    await ok('friend accept', post(api(b), '/im/friend/add/handle', { f_uid: ua.id, status: 1 }, { token: ub.token }));
    ua.friends.push(b);
    ub.friends.push(a);
  }
  const groupIds: number[] = [];
  for (let g = 0; g < 3; g++) {
    const members = people.filter((p) => Math.floor(p.index / 3) % 3 === g);
    const owner = members[0]!;
    const group = (await ok('group create', post<{ group: { id: number } }>(api(owner.index), '/im/group/create', { name: `chaos ${g}` }, { token: owner.token }))).group;
    for (const m of members.slice(1)) {
      const join = await ok('join request', post<{ join_id: number }>(api(m.index), '/im/group/join/request', { group_id: group.id }, { token: m.token }));
      await ok('join accept', post(api(owner.index), '/im/group/join/handle', { join_id: join.join_id, status: 1 }, { token: owner.token }));
    }
    for (const m of members) m.groups.push(group.id);
    groupIds.push(group.id);
  }
  const isFriend = (a: number, b: number) => people[a]!.friends.includes(b);
  const onN2 = (u: number) => homeOf(u, 0) === KILLED_NODE || (u < twoDeviceUsers && homeOf(u, 1) === KILLED_NODE);
  const burstFriendsOf = new Map<number, number[]>();
  const taken = new Set<string>();
  const burstPairs: Array<[number, number]> = [];
  for (let u = 0; u < users; u++) {
    if (!onN2(u)) continue;
    const list: number[] = [];
    for (let k = 2; k < users && list.length < burstFriends; k++) {
      const v = (u + k) % users;
      const pair = `${Math.min(u, v)}-${Math.max(u, v)}`;
      if (homeOf(v, 0) === KILLED_NODE || isFriend(u, v) || taken.has(pair)) continue;
      taken.add(pair);
      list.push(v);
      burstPairs.push([u, v]);
    }
    burstFriendsOf.set(u, list);
  }
  for (let i = 0; i < burstPairs.length; i += 10) {
    await Promise.all(burstPairs.slice(i, i + 10).map(async ([u, v]) => {
      await ok('friend request', post(api(u), '/im/friend/add/request', { f_uid: people[v]!.id }, { token: people[u]!.token }));
      await ok('friend accept', post(api(v), '/im/friend/add/handle', { f_uid: people[u]!.id, status: 1 }, { token: people[v]!.token }));
    }));
  }
  const devices: Device[] = [];
  const burstTargets = new Map<Device, Array<{ toId: number; ope: 0 | 1 }>>();
  const targets = new Map<Device, Array<{ toId: number; ope: 0 | 1 }>>();
  for (const p of people) {
    const tokens = [p.token];
    if (p.index < twoDeviceUsers) tokens.push(await login(api(p.index + 1), p.username));
    const list: Array<{ toId: number; ope: 0 | 1 }> = [];
    const max = Math.max(p.friends.length, p.groups.length);
    for (let i = 0; i < max; i++) {
      if (i < p.friends.length) list.push({ toId: people[p.friends[i]!]!.id, ope: 0 });
      if (i < p.groups.length) list.push({ toId: p.groups[i]!, ope: 1 });
    }
    tokens.forEach((token, k) => {
      const d = new Device(`u${p.index}d${k}`, p.id, token, homeOf(p.index, k), wsUrls);
      devices.push(d);
      // Rotate so the two devices of a user do not write to the same peer at the same step.
      targets.set(d, list.map((_, i) => list[(i + k) % list.length]!));
      if (d.rec.home === KILLED_NODE) burstTargets.set(d, (burstFriendsOf.get(p.index) ?? []).map((v) => ({ toId: people[v]!.id, ope: 0 as const })));
    });
  }
  return { users: people, devices, targets, groupIds, burstTargets, burstPairs: burstPairs.map(([u, v]) => [people[u]!.id, people[v]!.id]) };
}
