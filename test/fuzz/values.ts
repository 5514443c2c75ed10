import fc from 'fast-check';
import { harmless } from './leaks.js';

/**
 * Values for the input suite (test/input.property.test.ts). Every field kind has arbitraries for
 * values it accepts and values it refuses, the latter in two encodings: a JSON body (any JSON
 * value) and a form body (strings, or a list of strings: the field given twice). A refused value is
 * refused by the documented rules (docs/api.md) whatever the server's code says, so a request that
 * carries one must get 400 and change nothing.
 */

/** What a field of a body holds: a JSON value, or in a form a string or repeated strings. */
export type FieldValue = unknown;
export type FormValue = string | string[];

export interface FieldKind {
  /** Values the field accepts (JSON encoding; `toForm` gives the form encoding). */
  valid: fc.Arbitrary<FieldValue>;
  /** Values refused in a JSON body. */
  invalidJson: fc.Arbitrary<FieldValue>;
  /** Values refused in a form body. */
  invalidForm: fc.Arbitrary<FormValue>;
}

/** A valid JSON value as a form carries it: numbers as digits, lists as repeated fields, objects as JSON text. */
export function toForm(value: FieldValue): FormValue {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** Random text that an answer may quote back without looking like a leak (see leaks.ts). */
export const someString = (maxLength: number) => fc.string({ maxLength }).filter(harmless);
/** Random JSON values, likewise. */
export const someJson = (maxDepth: number) => fc.jsonValue({ maxDepth }).filter((v) => harmless(JSON.stringify(v)));

/** Parses JSON text: the only way to build an object with an own `__proto__` key. */
const json = (text: string): unknown => JSON.parse(text);

/** Keys that are dangerous when a body is merged into an object. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Arrays and objects nested 1,000 deep. */
const DEEP = [json(`${'['.repeat(1000)}1${']'.repeat(1000)}`), json(`${'{"1":'.repeat(1000)}1${'}'.repeat(1000)}`)];

/** JSON values that are not numbers or strings. */
export const nonScalarJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, [], {}, [1], [[]], ['1'], [null], { a: 1 }, { $gt: 0 }, { length: 1, 0: 1 }, ...DEEP),
  fc.constantFrom(json('{"__proto__":{"admin":true}}'), json('{"constructor":{"prototype":{"x":1}}}'), json('{"__proto__":1}')),
  fc.array(someJson(2), { minLength: 2, maxLength: 4 }),
  fc.dictionary(someString(8), someJson(1), { minKeys: 1, maxKeys: 3 }),
);

/** Numbers at the edges: 0, negatives, 2^31, 2^53 and past it, fractions, huge and tiny. */
export const boundaryNumbers = fc.constantFrom(
  0, -0, -1, 1, 2, 1.5, -1.5, 0.1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  2 ** 64, 1e308, -1e308, 5e-324, 1e21, 181, -181, 91, -91, 100.0001, 4, 5, 7, 9, 10, 11, 99, 100, 101, 500, 501, 5000, 5001,
);

/** Strings that look a bit like numbers (and a few that do not at all). */
export const numberishStrings = fc.oneof(
  fc.constantFrom(
    '', ' ', '0', '-0', '1', '-1', '-5', '+1', ' 1', '1 ', '\t1', '1\n', '1e3', '1E3', '1e1', '0x10', '0b1', '0o7', '1.0', '1.5', '.5',
    '1_000', '1,000', '1,2', 'NaN', 'Infinity', '-Infinity', 'null', 'true', 'false', 'undefined', '[1]', '{}', '１', '١', '𝟏',
    '9007199254740991', '9007199254740992', '9007199254740993', '12345678901234567', '99999999999999999999', '2147483648', '-2147483648',
    '0000000000000000', '00001', '--1', '1-', '1 2', '\u00001', '1\u0000', '\u200f1', '1\u0301', '٣',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true }).map(String),
  someString(12),
);

/** Whether `s` is "a string of decimal digits, an optional leading minus": the form of a number field. */
export const decimalString = (s: string) => /^-?\d+$/.test(s);

/**
 * A number field (docs/api.md: a JSON number or a string of decimal digits, nothing else) whose
 * accepted numbers are those `accepts` says yes to.
 */
export function numberKind(valid: fc.Arbitrary<number>, accepts: (n: number) => boolean): FieldKind {
  const badString = (s: string) => !(decimalString(s) && accepts(Number(s)));
  const badNumbers = fc.oneof(boundaryNumbers, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).filter((n) => !accepts(n));
  const badStrings = fc.oneof(numberishStrings, edgeText).filter(badString);
  return {
    valid,
    invalidJson: fc.oneof({ weight: 2, arbitrary: nonScalarJunk }, { weight: 3, arbitrary: badNumbers }, { weight: 3, arbitrary: badStrings }),
    invalidForm: fc.oneof(
      { weight: 4, arbitrary: badStrings },
      { weight: 2, arbitrary: badNumbers.map(String).filter(badString) },
      { weight: 1, arbitrary: fc.array(valid.map(String), { minLength: 2, maxLength: 3 }) },
    ),
  };
}

/** A positive id no larger than 2^53 - 1 (negative ids, 0 and fractions are refused). */
export const isId = (n: number) => Number.isSafeInteger(n) && n > 0;
export const isSeq = (n: number) => Number.isSafeInteger(n) && n >= 0;
export const idKind = (valid: fc.Arbitrary<number>) => numberKind(valid, isId);
export const seqKind = (valid: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat())) => numberKind(valid, isSeq);
export const enumKind = (values: number[]) => numberKind(fc.constantFrom(...values), (n) => values.includes(n));
export const intRangeKind = (min: number, max: number) =>
  numberKind(fc.integer({ min, max }), (n) => Number.isSafeInteger(n) && n >= min && n <= max);

/**
 * A decimal number in [min, max] (coordinates, distances). Strings count as numbers here only if
 * both a strict reading and a loose one (JavaScript's Number) refuse them, so only strings no
 * reading can take are used as refused values.
 */
export function decimalKind(min: number, max: number, minExclusive = false): FieldKind {
  const inRange = (n: number) => Number.isFinite(n) && (minExclusive ? n > min : n >= min) && n <= max;
  const badString = (s: string) => !inRange(s.trim() === '' ? NaN : Number(s));
  const valid = fc.double({ min, max, noNaN: true }).filter(inRange);
  const badNumbers = fc.oneof(boundaryNumbers, fc.double({ noNaN: true, noDefaultInfinity: true })).filter((n) => !inRange(n));
  const badStrings = fc.oneof(numberishStrings, edgeText).filter(badString);
  return {
    valid,
    invalidJson: fc.oneof(nonScalarJunk, badNumbers, badStrings),
    invalidForm: fc.oneof({ weight: 3, arbitrary: badStrings }, { weight: 1, arbitrary: fc.array(valid.map(String), { minLength: 2, maxLength: 2 }) }),
  };
}

/** Characters text fields must take as they are: RTL marks, combining marks, 4-byte emoji, ZWJ sequences, CJK. */
export const EDGE_CHARS = [
  'a', 'Z', '9', '_', '中', '文', 'ß', 'İ', 'Ω', 'é', 'e\u0301', '\u0301', '\u200f', '\u200e', '\u202e', '\u2066', '\u061c', '\u200b',
  '\u200d', '😀', '👨‍👩‍👧', '🇨🇳', '\u{10ffff}', '\u{1d400}', '\ufffd', '\uffff', '\ufeff', '\u00a0', '\u3000', '\u2028', ' ',
  '%', '&', '=', '+', '"', "'", '\\', '/', '<', '>', ';', '--', '*', '?', '#', '{', '}', '[', ']', '`', '$', '\u00ad', '\u034f',
];
/** Characters `\p{Cc}` (refused in names and reasons): NUL, BEL, ESC, newline, tab, DEL, C1 controls. */
export const CONTROL_CHARS = ['\u0000', '\u0001', '\u0007', '\u0008', '\t', '\n', '\r', '\u000b', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];
export const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'];
/** Blank to String.prototype.trim. */
export const BLANKS = ['', ' ', '   ', '\u3000', '\u00a0', '\ufeff', '\u2028', ' \u3000 '];

/** Short strings of edge characters. */
export const edgeText = fc.array(fc.constantFrom(...EDGE_CHARS), { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''));

const codePoints = (s: string) => [...s].length;
const hasControl = (s: string) => /\p{Cc}/u.test(s);
const hasLoneSurrogate = (s: string) => /\p{Cs}/u.test(s);

/** Strings of `min`..`max` characters (code points, after trimming) of edge characters, none a control character. */
export function textOf(min: number, max: number): fc.Arbitrary<string> {
  const visible = fc.constantFrom(...EDGE_CHARS.filter((c) => c.trim() !== ''));
  return fc
    .tuple(visible, fc.array(fc.constantFrom(...EDGE_CHARS), { maxLength: Math.max(0, Math.min(max, 24) - 2) }), visible)
    .map(([a, mid, z]) => (max === 1 ? a : `${a}${mid.join('')}${z}`))
    .map((s) => [...s.trim()].slice(0, max).join(''))
    .filter((s) => codePoints(s.trim()) >= Math.max(min, 1) && codePoints(s.trim()) <= max && !hasControl(s) && !hasLoneSurrogate(s));
}

/** Text over `max` characters: just past it, and far past it (up to 40,000 characters). */
export function tooLong(max: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('x', '中', '😀', 'e\u0301', '\u200f'), fc.constantFrom(1, 2, 7, 100, 5000, max * 2, 40_000))
    .map(([c, extra]) => c.repeat(Math.ceil((max + extra) / codePoints(c))))
    .filter((s) => codePoints(s) > max);
}

/** A text field of docs/api.md: trimmed, `min`..`max` characters, no control characters, valid Unicode. */
export function textKind(min: number, max: number): FieldKind {
  const withControl = fc.tuple(textOf(1, 8), fc.constantFrom(...CONTROL_CHARS), textOf(1, 8)).map(([a, c, b]) => `${a}${c}${b}`);
  const withSurrogate = fc.tuple(textOf(1, 8), fc.constantFrom(...LONE_SURROGATES), textOf(0 + 1, 8)).map(([a, c, b]) => `${a}${c}${b}`);
  const short = min >= 1 ? fc.constantFrom(...BLANKS) : fc.constant(undefined);
  const shortByOne = min >= 2 ? textOf(1, min - 1) : fc.constant(undefined);
  const formBad = fc.oneof(tooLong(max), withControl, ...(min >= 1 ? [short as fc.Arbitrary<string>] : []), ...(min >= 2 ? [shortByOne as fc.Arbitrary<string>] : []));
  return {
    valid: textOf(min, max),
    invalidJson: fc.oneof(formBad, withSurrogate, nonScalarJunk, boundaryNumbers),
    invalidForm: fc.oneof({ weight: 4, arbitrary: formBad }, { weight: 1, arbitrary: fc.array(textOf(min, max), { minLength: 2, maxLength: 3 }) }),
  };
}

/** Extra fields a route does not read (ignored by the API): prototype keys and random names, any value. */
export function extraFields(known: string[]): fc.Arbitrary<Array<[string, unknown]>> {
  const key = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS, 'id', 'user_id_', 'Cmd', 'password_', ''), someString(10), edgeText).filter((k) => !known.includes(k));
  const value = fc.oneof(someJson(2), nonScalarJunk, fc.constantFrom(json('{"f_uid":1,"status":1,"group_id":1}')));
  return fc.uniqueArray(fc.tuple(key, value), { maxLength: 3, selector: ([k]) => k });
}
