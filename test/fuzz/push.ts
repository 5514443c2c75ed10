import fc from 'fast-check';
import { type Entries, jsonText } from './cases.js';
import type { HttpCase } from './http.js';
import { pushBodyKind, pushUserIdsKind } from './kinds.js';
import { extraFields, type FieldKind, idKind } from './values.js';
import { PUSH_APP, type PushSigning, type World } from './world.js';

/**
 * Refused push API requests (docs/api.md "Server push API"): signed but with a refused field, not
 * JSON, or malformed JSON (400); a missing, malformed or wrong signature, an unknown app, a stale
 * timestamp, a used nonce (401); an unknown group or user, an unknown /push/ path (404).
 */

const MAX_USERS = 20;

/** Signatures that must be refused (the body is signed as sent unless `signedBody` says otherwise). */
function badSignature(w: World): fc.Arbitrary<PushSigning> {
  const now = () => Math.floor(Date.now() / 1000);
  return fc.oneof(
    fc.subarray(['app', 'timestamp', 'nonce', 'signature'] as const, { minLength: 1 }).map((omit): PushSigning => ({ omit: [...omit] })),
    fc.constantFrom<PushSigning>(
      { secret: `${PUSH_APP.secret}x` },
      { secret: '' },
      { app: 'unknown-app' },
      { app: PUSH_APP.key.toUpperCase() },
      { nonce: w.usedNonce },
      { nonce: 'short' },
      { nonce: 'x'.repeat(65) },
      { nonce: 'has spaces in it here' },
      { timestamp: 'soon' },
      { timestamp: '-1' },
      { timestamp: '1e9' },
      { timestamp: String(now() - 3600) },
      { timestamp: String(now() + 3600) },
      { signature: 'zz' },
      { signature: 'a'.repeat(64) },
      { signature: 'a'.repeat(63) },
      { signedBody: '{}' },
    ),
    fc.constantFrom('', ' ', '\n').map((suffix): PushSigning => ({ signedBody: `tampered${suffix}` })),
  );
}

interface PushRoute {
  path: string;
  fields: Record<string, FieldKind>;
  ghosts?: fc.Arbitrary<Entries>;
}

function pushCases(w: World, r: PushRoute): fc.Arbitrary<HttpCase> {
  const names = Object.keys(r.fields);
  const signed = (why: string, body: string, expect: number[], extra: Partial<HttpCase> = {}): HttpCase => ({
    why, method: 'POST', path: r.path, token: { kind: 'none' }, contentType: 'application/json', body, push: {}, expect, ...extra,
  });
  const valid = fc.tuple(...names.map((n) => r.fields[n]!.valid)).map((values) => names.map((n, i): [string, unknown] => [n, values[i]]));
  const broken = fc
    .tuple(fc.subarray(names, { minLength: 1 }), extraFields(names))
    .chain(([bad, extra]) =>
      fc.tuple(...names.map((n) => (bad.includes(n) ? fc.option(r.fields[n]!.invalidJson, { nil: undefined, freq: 5 }) : r.fields[n]!.valid))).map((values) => {
        const entries: Entries = [];
        names.forEach((n, i) => values[i] !== undefined && entries.push([n, values[i]]));
        return [...entries, ...extra];
      }));
  const cases: Array<fc.WeightedArbitrary<HttpCase>> = [
    { weight: 6, arbitrary: broken.map((e) => signed('a refused field', jsonText(e), [400])) },
    { weight: 1, arbitrary: fc.tuple(valid, badSignature(w)).map(([e, push]) => signed('a bad signature', jsonText(e), [401], { push })) },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'json'))
        .map(([e, contentType]) => signed('not JSON', jsonText(e), [400], { contentType })),
    },
    { weight: 1, arbitrary: fc.constantFrom('{', '[1,', 'null', '"x"', '5', '{"user_ids":[1],}', 'user_ids=1&body=x').map((text) => signed('malformed JSON', text, [400])) },
    { weight: 1, arbitrary: valid.map((e) => signed('an unsigned request', jsonText(e), [401], { push: undefined, contentType: 'application/json' })) },
  ];
  if (r.ghosts) cases.push({ weight: 2, arbitrary: r.ghosts.map((e) => signed('an unknown target', jsonText(e), [404])) });
  return fc.oneof(...cases);
}

/** The push routes (and an unknown one) with their refusals. */
export function pushRoutes(w: World): Array<{ path: string; cases: fc.Arbitrary<HttpCase> }> {
  const ids = [w.me.user.id, w.friend.user.id, w.outsider.user.id, ...w.ghostIds];
  const userIds = pushUserIdsKind(ids, MAX_USERS);
  const body = pushBodyKind(4000);
  const ghost = fc.constantFrom(...w.ghostIds);
  const routes: PushRoute[] = [
    { path: '/push/users', fields: { user_ids: userIds, body } },
    { path: '/push/group', fields: { group_id: idKind(fc.constantFrom(w.ownGroup, ...w.ghostIds)), body }, ghosts: fc.tuple(ghost, body.valid).map(([g, b]) => [['group_id', g], ['body', b]]) },
    { path: '/push/broadcast', fields: { body } },
    { path: '/push/online', fields: { user_ids: userIds } },
    { path: '/push/logout', fields: { user_id: idKind(fc.constantFrom(...ids)) }, ghosts: ghost.map((g) => [['user_id', g]]) },
  ];
  const unknown = fc.constantFrom('/push/', '/push/user', '/push/users/1', '/push/users.json', '/push/a1b2c3').map((path): HttpCase => ({
    why: 'an unknown push path', method: 'POST', path, token: { kind: 'none' }, contentType: 'application/json', body: '{"body":"x"}', push: {}, expect: [404],
  }));
  return [...routes.map((r) => ({ path: r.path, cases: pushCases(w, r) })), { path: '/push/<unknown>', cases: unknown }];
}
