import fc from 'fast-check';
import {
  BLANKS, CONTROL_CHARS, edgeText, type FieldKind, idKind, isId, LONE_SURROGATES, nonScalarJunk, boundaryNumbers, someString, textOf, tooLong,
} from './values.js';

/**
 * Field kinds of single routes (the shared ones are in values.ts). Each follows docs/api.md; a
 * "refused" value is refused by what the docs say, not by what the code happens to do.
 */

const notString = fc.oneof(nonScalarJunk, boundaryNumbers);
const repeated = (valid: fc.Arbitrary<string>) => fc.array(valid, { minLength: 2, maxLength: 3 });

/** Characters no username may have (not letters of any script, digits or _). */
const NOT_USERNAME = [' ', '-', '.', '@', '!', '/', '\\', "'", '"', '%', '&', '=', '+', '😀', '\u200f', '\u0301', '\u0000', '\n', '\t', '\u00a0'];

/** /register's username: 6–20 of letters, digits, _. */
export function usernameKind(): FieldKind {
  const valid = fc.stringMatching(/^[A-Za-z0-9_]{6,20}$/);
  const badChar = fc.tuple(fc.stringMatching(/^[a-z0-9_]{3,9}$/), fc.constantFrom(...NOT_USERNAME), fc.stringMatching(/^[a-z0-9_]{3,9}$/)).map(([a, c, b]) => `${a}${c}${b}`);
  const bad = fc.oneof(fc.stringMatching(/^[a-z0-9_]{0,5}$/), fc.stringMatching(/^[a-z0-9_]{21,40}$/), badChar);
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** /register's password: 6–64 characters, at most 72 bytes of UTF-8. */
export function passwordKind(): FieldKind {
  const valid = fc.string({ minLength: 6, maxLength: 30 });
  const bad = fc.oneof(
    fc.string({ maxLength: 5 }),
    fc.string({ minLength: 65, maxLength: 200 }),
    // 19 to 64 characters of four bytes each: within 64 characters, past 72 bytes.
    fc.integer({ min: 19, max: 64 }).map((n) => '😀'.repeat(n)),
  );
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/**
 * /login's fields. No password of the suite's users is ever generated (they all have
 * `secret123`), so every login is refused: malformed (400) or wrong (401).
 */
export function loginKind(usernames: string[]): { username: FieldKind; password: FieldKind } {
  const username = fc.oneof(fc.constantFrom(...usernames), fc.stringMatching(/^[a-z0-9_]{6,20}$/), textOf(1, 30));
  const password = fc.string({ minLength: 1, maxLength: 100 }).filter((p) => p !== 'secret123');
  return {
    username: { valid: username, invalidJson: fc.oneof(notString, fc.constantFrom(...BLANKS), fc.string({ minLength: 65, maxLength: 100 }).filter((s) => s.trim().length > 64)), invalidForm: fc.oneof(fc.constantFrom(...BLANKS), repeated(username)) },
    password: { valid: password, invalidJson: fc.oneof(notString, fc.constant(''), fc.string({ minLength: 129, maxLength: 300 })), invalidForm: fc.oneof(fc.constant(''), repeated(password)) },
  };
}

/** real_name: 2–20 Chinese characters (`·` allowed). */
export function realNameKind(): FieldKind {
  const han = fc.constantFrom(...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗'.split(''));
  const valid = fc.array(han, { minLength: 2, maxLength: 20 }).map((a) => a.join(''));
  const bad = fc.oneof(
    han,
    fc.array(han, { minLength: 21, maxLength: 40 }).map((a) => a.join('')),
    fc.tuple(han, fc.constantFrom('a', 'Z', '1', '😀', '_', '-', '\u200f', 'ー', '한', 'é'), han).map((p) => p.join('')),
    fc.stringMatching(/^[A-Za-z]{2,10}$/),
  );
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** id_card: 18 characters (17 digits and a digit or X), checked further by the service. */
export function idCardKind(): FieldKind {
  const valid = fc.stringMatching(/^\d{17}[\dX]$/);
  const bad = fc.oneof(fc.stringMatching(/^\d{19,25}$/), fc.stringMatching(/^[\dX]{19,30}$/), fc.constant('1'.repeat(40)));
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** /im/friend/add/request's `username`: someone's username (1–20 characters). */
export function friendUsernameKind(usernames: string[]): FieldKind {
  const valid = fc.oneof(fc.constantFrom(...usernames), fc.stringMatching(/^[a-z0-9_]{6,20}$/));
  const bad = fc.oneof(fc.constantFrom(...BLANKS), fc.stringMatching(/^[a-z0-9_]{21,40}$/));
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** /im/friend/online's `user_ids`: comma-separated ids, or a JSON array of ids (≤ 1,000). */
export function userIdListKind(ids: number[]): FieldKind {
  const valid = fc.oneof(fc.uniqueArray(fc.constantFrom(...ids), { minLength: 1 }).map((a) => a.join(',')), fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: 5 }));
  const badText = fc.constantFrom(' ', ',', '1,', ',1', '1,,2', '1;2', '1 2', 'a', '1,a', '-1', '1.5', '[1]', '1e3', ' 1', '0x10', '１');
  const badList = fc.oneof(
    fc.array(fc.oneof(idKind(fc.constant(1)).invalidJson, fc.constantFrom(...ids)), { minLength: 1, maxLength: 4 }).filter((a) => a.some((v) => !(typeof v === 'number' && isId(v)))),
    fc.constant(Array.from({ length: 1001 }, (_, i) => i + 1)),
  );
  return {
    valid,
    invalidJson: fc.oneof(badText, badList, fc.constantFrom(null, true, 5, {}, { 0: 1 })),
    invalidForm: fc.oneof(badText, fc.tuple(badText, fc.constantFrom(...ids)).map(([b, id]) => [String(id), b])),
  };
}

/** A message body wrong for every type: not text, blank, a lone surrogate, past every cap. */
export function messageBodyKind(valid: fc.Arbitrary<string>): FieldKind {
  const bad = fc.oneof(fc.constantFrom(...BLANKS), tooLong(5000));
  const surrogate = fc.tuple(textOf(1, 5), fc.constantFrom(...LONE_SURROGATES)).map(([a, s]) => `${a}${s}`);
  return { valid, invalidJson: fc.oneof(bad, surrogate, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** client_msg_id: 1–64 characters. */
export function clientMsgIdKind(): FieldKind {
  const valid = fc.string({ minLength: 1, maxLength: 64 });
  const bad = fc.oneof(fc.constant(''), fc.string({ minLength: 65, maxLength: 200 }));
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: fc.oneof(bad, repeated(valid)) };
}

/** Sync tokens no server made: undecodable, or decoding to something else than cursors. */
export const badSyncToken = fc.oneof(
  fc.constantFrom('x', '!!!!', '{}', 'e30', 'W10', 'bnVsbA', 'eyJjIjp7fSwiZSI6LTF9', 'eyJjIjp7IngiOjF9LCJlIjowfQ', 'eyJjIjp7fSwiZSI6MCwieiI6MX0', 'eyJjIjpbXSwiZSI6MH0'),
  fc.constantFrom('{"c":{},"e":-1}', '{"c":{"1":1.5},"e":0}', '{"c":{"a":1},"e":0}', '{"c":{},"e":0,"z":1}', '{"e":0}', '[]', '"t"', '{"c":{"1":-1},"e":0}')
    .map((j) => Buffer.from(j).toString('base64url')),
  someString(30).filter((s) => s.length > 0 && !decodesToCursors(s)),
);

function decodesToCursors(token: string): boolean {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && 'c' in v;
  } catch {
    return false;
  }
}

/** Cursor maps that are not `{"<conversation id>": seq}`. */
export const badCursors = fc.oneof(
  fc.constantFrom<unknown>([], [1], null, 5, true, { a: 1 }, { '1': -1 }, { '1': 1.5 }, { '1': '1' }, { '1': null }, { '-1': 1 }, { '1.5': 1 }, { ' 1': 1 }, { '1': 2 ** 53 }),
  fc.constantFrom('{"__proto__":1}', '{"1":1,"__proto__":{"2":1}}', '{"constructor":1}', '{"toString":0}').map((text) => JSON.parse(text) as unknown),
  fc.dictionary(edgeText.filter((k) => !/^\d+$/.test(k)), fc.nat(), { minKeys: 1, maxKeys: 3 }),
);

/** Text a push carries: 1 to `max` code points, no control characters but tab and newlines. */
export function pushBodyKind(max: number): FieldKind {
  const valid = textOf(1, 40);
  const control = fc.tuple(textOf(1, 5), fc.constantFrom(...CONTROL_CHARS.filter((c) => !'\t\n\r'.includes(c))), textOf(1, 5)).map((p) => p.join(''));
  const bad = fc.oneof(fc.constant(''), tooLong(max), control);
  return { valid, invalidJson: fc.oneof(bad, notString), invalidForm: bad };
}

/** A push's `user_ids`: 1 to `max` user ids, as a JSON array. */
export function pushUserIdsKind(ids: number[], max: number): FieldKind {
  const valid = fc.array(fc.constantFrom(...ids), { minLength: 1, maxLength: Math.min(5, max) });
  const bad = fc.oneof(
    fc.constant([]),
    fc.array(fc.constantFrom(...ids), { minLength: max + 1, maxLength: max + 5 }),
    fc.array(fc.oneof(idKind(fc.constant(1)).invalidJson, fc.constantFrom(...ids)), { minLength: 1, maxLength: 4 }).filter((a) => a.some((v) => !(typeof v === 'number' && isId(v)))),
    fc.constantFrom<unknown>(null, 5, '1,2', '1', {}, { 0: 1 }, true),
  );
  return { valid, invalidJson: bad, invalidForm: fc.constant('') };
}
