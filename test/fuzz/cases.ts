import fc from 'fast-check';
import type { HttpCase, TokenSpec } from './http.js';
import { extraFields, type FieldKind, type FieldValue, someString, toForm } from './values.js';
import type { BadTokenName } from './world.js';

export interface FieldSpec extends FieldKind {
  required: boolean;
}

export type Entries = Array<[string, FieldValue]>;

/** A JSON/form route of docs/api.md, described for the generators. */
export interface RouteSpec {
  path: string;
  /** The route asks for a user's token (all but /register and /login). */
  authed: boolean;
  /** The fields it reads; empty for a route that reads no input. */
  fields: Record<string, FieldSpec>;
  /** Bodies whose every field is acceptable but which are refused as a whole (none of two alternatives given…). */
  combos?: fc.Arbitrary<Entries>;
  /** Well-formed bodies a business rule refuses, with the status(es) it must answer (unknown ids, not a member…). */
  ghosts?: fc.Arbitrary<{ entries: Entries; expect: number[] }>;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset="UTF-8"'];
const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8'];

export function jsonText(entries: Entries): string {
  // Written out by hand: an own "__proto__" key survives only this way (an object literal or
  // Object.assign would turn it into the prototype).
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

export function formText(entries: Entries, encoded = false): string {
  const params = new URLSearchParams();
  for (const [k, v] of entries) {
    const value = encoded ? v : toForm(v);
    for (const one of Array.isArray(value) ? value : [value]) params.append(k, String(one));
  }
  return params.toString();
}

const me: TokenSpec = { kind: 'me' };

/** A body as JSON or as a form, with a content type of that kind. */
function encoded(json: fc.Arbitrary<Entries>, form: fc.Arbitrary<Entries>, why: string, path: string, expect: number[]): fc.Arbitrary<HttpCase> {
  return fc.oneof(
    fc.tuple(json, fc.constantFrom(...JSON_TYPES)).map(([e, contentType]): HttpCase => ({ why: `${why} (json)`, method: 'POST', path, contentType, token: me, body: jsonText(e), expect })),
    fc.tuple(form, fc.constantFrom(...FORM_TYPES)).map(([e, contentType]): HttpCase => ({ why: `${why} (form)`, method: 'POST', path, contentType, token: me, body: formText(e, true), expect })),
  );
}

/**
 * Bodies with at least one field refused on its own: a value of the wrong type or out of range,
 * or a required field left out. The other fields are acceptable or left out, and fields the route
 * does not read (prototype keys among them) come along. 400.
 */
function brokenFields(route: RouteSpec): fc.Arbitrary<HttpCase> {
  const names = Object.keys(route.fields);
  const one = (encoding: 'json' | 'form') =>
    fc
      .tuple(fc.subarray(names, { minLength: 1 }), fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }), extraFields(names))
      .chain(([broken, keep, extra]) => {
        const parts = names.map((name, i) => {
          const f = route.fields[name]!;
          if (broken.includes(name)) {
            const bad = encoding === 'json' ? f.invalidJson : f.invalidForm;
            return f.required ? fc.option(bad, { nil: undefined, freq: 5 }) : bad;
          }
          if (!f.required && !keep[i]) return fc.constant(undefined);
          return encoding === 'json' ? f.valid : f.valid.map(toForm);
        });
        return fc.tuple(...parts).map((values) => {
          const entries: Entries = [];
          names.forEach((name, i) => values[i] !== undefined && entries.push([name, values[i]]));
          return [...entries, ...(encoding === 'json' ? extra : extra.map(([k, v]): [string, FieldValue] => [k, toForm(v)]))];
        });
      });
  return encoded(one('json'), one('form'), 'a refused field', route.path, [400]);
}

/** A body that is well-formed everywhere, for refusals that must come before the body matters. */
export function validEntries(route: RouteSpec): fc.Arbitrary<Entries> {
  const names = Object.keys(route.fields);
  return fc.tuple(...names.map((n) => (route.fields[n]!.required ? route.fields[n]!.valid : fc.option(route.fields[n]!.valid, { nil: undefined })))).map((values) => {
    const entries: Entries = [];
    names.forEach((name, i) => values[i] !== undefined && entries.push([name, values[i]]));
    return entries;
  });
}

export const BAD_TOKEN_NAMES: BadTokenName[] = ['expired', 'wrong-secret', 'alg-none', 'wrong-issuer', 'bad-subject', 'no-jti', 'revoked', 'ended', 'truncated', 'tampered'];

/** Missing, forged, expired, revoked and garbage tokens, in either header. */
export const badToken: fc.Arbitrary<TokenSpec> = fc.oneof(
  fc.constant<TokenSpec>({ kind: 'none' }),
  fc.record({ kind: fc.constant('bad' as const), name: fc.constantFrom(...BAD_TOKEN_NAMES), header: fc.constantFrom('login' as const, 'bearer' as const) }),
  fc.record({
    kind: fc.constant('garbage' as const),
    header: fc.constantFrom('login' as const, 'bearer' as const, 'authorization' as const),
    value: fc.oneof(fc.constantFrom('x', 'null', 'undefined', 'Bearer', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', '0', 'true'), someString(40)).filter((s) => /^[\x21-\x7e]+$/.test(s)),
  }),
);

/** Any body, with a token that must be refused: 401 whatever the body says. */
function badAuth(route: RouteSpec): fc.Arbitrary<HttpCase> {
  return fc
    .tuple(validEntries(route), badToken, fc.boolean())
    .map(([entries, token, form]): HttpCase => ({
      why: 'a bad token', method: 'POST', path: route.path, token, expect: [401],
      contentType: form ? FORM_TYPES[0] : JSON_TYPES[0], body: form ? formText(entries) : jsonText(entries),
    }));
}

/**
 * Bodies the API does not read, whatever is in them: malformed JSON, a JSON scalar, another
 * charset, a compressed body, too many form fields (400); over the body limit (413); another
 * method (404).
 */
function transport(route: RouteSpec, bodyLimit: number): fc.Arbitrary<HttpCase> {
  // A body the reader must refuse has to be there: an empty one is no body at all (and a route
  // that reads no field would act on it).
  const valid = validEntries(route).map((e): Entries => (e.length > 0 ? e : [['note', 'x']]));
  const post = (why: string, body: string, contentType: string, expect: number[], headers?: Record<string, string>): HttpCase => ({
    why, method: 'POST', path: route.path, token: me, contentType, body, expect, ...(headers ? { headers } : {}),
  });
  const isJson = (s: string) => {
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  };
  return fc.oneof(
    fc.tuple(valid, fc.nat(), fc.constantFrom('', ',', '}', ']', 'x', '{', '"', ',}', '\u0000'))
      .map(([e, cut, tail]) => {
        const text = jsonText(e);
        return `${text.slice(0, cut % (text.length + 1))}${tail}`;
      })
      .filter((s) => /\S/.test(s) && !isJson(s))
      .map((s) => post('malformed JSON', s, 'application/json', [400])),
    fc.constantFrom('"text"', '5', '-1', 'null', 'true', ' 7 ', '"{}"', "{'a':1}", '{"a":1,}', '{"a":01}', '{"a":NaN}', '{"a":undefined}', '[1,]', '{"a":"\\x41"}')
      .map((s) => post('a JSON scalar or broken JSON', s, 'application/json', [400])),
    fc.tuple(valid, fc.constantFrom('latin1', 'iso-8859-1', 'utf-16', 'utf-16le', 'ascii', 'gbk', 'utf-7', 'x-unknown', '"utf-32"'), fc.boolean())
      .map(([e, charset, form]) => post('another charset', form ? formText(e) : jsonText(e), `${form ? FORM_TYPES[0] : JSON_TYPES[0]}; charset=${charset}`, [400])),
    fc.tuple(valid, fc.constantFrom('gzip', 'deflate', 'br', 'x-gzip', 'compress', 'identity, gzip'))
      .map(([e, encoding]) => post('a compressed body', jsonText(e), 'application/json', [400], { 'Content-Encoding': encoding })),
    fc.tuple(valid, fc.integer({ min: 101, max: 300 }))
      .map(([e, n]) => post('too many form fields', `${formText(e)}&${Array.from({ length: n }, (_, i) => `x${i}=1`).join('&')}`, FORM_TYPES[0]!, [400])),
    fc.tuple(valid, fc.constantFrom(1, 1000, 100_000))
      .map(([e, extra]) => post('a body over the limit', jsonText([...e, ['pad', 'x'.repeat(bodyLimit + extra)]]), 'application/json', [413])),
    fc.tuple(valid, fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE'))
      .map(([e, method]): HttpCase => ({ why: 'another method', method, path: route.path, token: me, contentType: 'application/json', body: method === 'GET' ? '' : jsonText(e), expect: [404] })),
  );
}

/**
 * A body in one format sent as another (routes with a required field only: the body is not read,
 * so the field is missing): JSON labelled as a form, a form labelled as JSON, multipart, text,
 * no content type at all. 400.
 */
function confusion(route: RouteSpec): fc.Arbitrary<HttpCase> {
  const names = Object.keys(route.fields);
  const valid = validEntries(route);
  const post = (why: string, body: string, contentType: string | undefined): HttpCase => ({ why, method: 'POST', path: route.path, token: me, contentType, body, expect: [400] });
  // A JSON text read as a form must not happen to spell a field of the route (`&f_uid=5&`).
  const formSpellsNoField = (s: string) => ![...new URLSearchParams(s).keys()].some((k) => names.includes(k));
  const multipart = (e: [string, FieldValue][]) => {
    const b = 'fuzzb0undary';
    return `${e.map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${toForm(v)}\r\n`).join('')}--${b}--\r\n`;
  };
  return fc.oneof(
    valid.map(jsonText).filter(formSpellsNoField).map((s) => post('JSON sent as a form', s, FORM_TYPES[0])),
    valid.map((e) => formText(e)).filter((s) => s.length > 0 && !/^\s*[[{]/.test(s)).map((s) => post('a form sent as JSON', s, 'application/json')),
    valid.map((e) => post('multipart to a JSON route', multipart(e), 'multipart/form-data; boundary=fuzzb0undary')),
    fc.tuple(valid, fc.constantFrom(undefined, 'text/plain', 'text/json', 'application/xml', 'application/octet-stream', 'application/jsonx', 'json', 'multipart/form-data', '*/*'))
      .map(([e, type]) => post('an unread content type', jsonText(e), type)),
  );
}

/** Every refusal a JSON/form route must give, weighted toward what reaches the route's own code. */
export function routeCases(route: RouteSpec, bodyLimit: number): fc.Arbitrary<HttpCase> {
  const hasFields = Object.keys(route.fields).length > 0;
  const required = Object.values(route.fields).some((f) => f.required);
  const arbs: Array<fc.WeightedArbitrary<HttpCase>> = [{ weight: 2, arbitrary: transport(route, bodyLimit) }];
  if (hasFields) {
    arbs.push({ weight: 8, arbitrary: brokenFields(route) });
    // A route that reads fields reads them from an object: an array of a good body is refused.
    const array = validEntries(route).map((e): HttpCase => ({ why: 'a JSON array', method: 'POST', path: route.path, token: me, contentType: 'application/json', body: `[${jsonText(e)}]`, expect: [400] }));
    arbs.push({ weight: 1, arbitrary: array });
  }
  if (route.authed) arbs.push({ weight: 2, arbitrary: badAuth(route) });
  if (required) arbs.push({ weight: 1, arbitrary: confusion(route) });
  if (route.combos) {
    const combos = route.combos.chain((e) => extraFields(Object.keys(route.fields)).map((x) => [...e, ...x] as Entries));
    const asForm = (e: Entries) => e.map(([k, v]): [string, FieldValue] => [k, toForm(v)]);
    arbs.push({ weight: 2, arbitrary: encoded(combos, combos.map(asForm), 'a refused combination', route.path, [400]) });
  }
  if (route.ghosts) {
    const ghosts = route.ghosts;
    arbs.push({
      weight: 3,
      arbitrary: fc.tuple(ghosts, fc.boolean()).map(([g, form]): HttpCase => ({
        why: 'a business rule', method: 'POST', path: route.path, token: me, expect: g.expect,
        contentType: form ? FORM_TYPES[0] : JSON_TYPES[0], body: form ? formText(g.entries) : jsonText(g.entries),
      })),
    });
  }
  return fc.oneof(...arbs);
}
