import fc from 'fast-check';
import { badToken } from './cases.js';
import type { HttpCase, Part, PartData, TokenSpec } from './http.js';
import { enumKind } from './values.js';

/**
 * Refused uploads (docs/api.md "Attachments and avatars"): a bad token (401); a missing, repeated
 * or wrong `type`; content that is not of the declared kind; an empty file; no file, a file
 * under another name, two files; too many or too long fields; a broken or cut multipart body;
 * not multipart at all (400); past the cap (413, the suite's node has small caps). None may
 * store a file or an `uploads` row.
 */

const me: TokenSpec = { kind: 'me' };
const BOUNDARY = 'fuzz-upload-boundary';
const png: PartData = { sample: 'png' };
/** Text that no media kind starts with. */
const notMedia = fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme-ascii' }).map((s): PartData => ({ text: `#!weim-fuzz\n${s}` }));

/** Content that is not of `kind` (1 picture, 2 voice, 3 video, 'avatar' an image). */
function notOfKind(kind: 1 | 2 | 3 | 'avatar'): fc.Arbitrary<PartData> {
  const images = ['png', 'gif', 'jpeg', 'webp'] as const;
  const audio = ['wav', 'mp3'] as const;
  const others = kind === 1 || kind === 'avatar' ? [...audio, 'elf'] : kind === 2 ? [...images, 'elf'] : [...images, ...audio, 'elf'];
  return fc.oneof(fc.constantFrom(...others).map((sample): PartData => ({ sample: sample as never })), notMedia);
}

interface UploadRoute {
  path: string;
  field: string;
  /** chat: the `type` field is read; avatar: none. */
  chat: boolean;
  /** The suite's caps (FUZZ_NODE_ENV). */
  capOver: number;
}

const multipart = (path: string, why: string, parts: Part[], expect: number[], extra: Partial<HttpCase> = {}): HttpCase => ({
  why, method: 'POST', path, token: me, contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: { boundary: BOUNDARY, parts }, expect, ...extra,
});

function uploadCases(r: UploadRoute): fc.Arbitrary<HttpCase> {
  const file = (data: PartData, name = r.field): Part => ({ name, filename: 'f.bin', data });
  const withType = (type: string | string[] | undefined, f: Part, typeFirst: boolean): Part[] => {
    const types = type === undefined ? [] : (Array.isArray(type) ? type : [type]).map((t): Part => ({ name: 'type', data: { text: t } }));
    return typeFirst ? [...types, f] : [f, ...types];
  };
  const good = (f: Part, typeFirst = true) => (r.chat ? withType('1', f, typeFirst) : [f]);
  const cases: Array<fc.Arbitrary<HttpCase>> = [
    badToken.map((token) => multipart(r.path, 'a bad token', good(file(png)), [401], { token })),
    fc.tuple(fc.constantFrom(...(r.chat ? [1, 2, 3] as const : ['avatar'] as const)), fc.boolean()).chain(([kind, typeFirst]) =>
      notOfKind(kind).map((data) => multipart(r.path, 'content not of its type', r.chat ? withType(String(kind), file(data), typeFirst) : [file(data)], [400]))),
    fc.constantFrom('1', '6', undefined).map((t) => multipart(r.path, 'an empty file', r.chat && t ? withType(t, file({ text: '' }), true) : [file({ text: '' })], [400])),
    fc.constantFrom('avatar', 'file', 'files', 'File', 'upload', 'file[]', '').filter((n) => n !== r.field)
      .map((name) => multipart(r.path, 'the file under another name', good(file(png, name)), [400])),
    fc.constant(multipart(r.path, 'no file', r.chat ? [{ name: 'type', data: { text: '1' } }] : [{ name: 'note', data: { text: 'x' } }], [400])),
    fc.constant(multipart(r.path, 'two files', [...good(file(png)), file(png)], [400])),
    fc.integer({ min: 9, max: 12 }).map((n) => multipart(r.path, 'too many fields', [...Array.from({ length: n }, (_, i): Part => ({ name: `f${i}`, data: { text: 'x' } })), ...good(file(png))], [400])),
    fc.constantFrom(1025, 5000).map((n) => multipart(r.path, 'a field too long', [{ name: 'note', data: { text: 'x'.repeat(n) } }, ...good(file(png))], [400])),
    fc.constantFrom(65, 200).map((n) => multipart(r.path, 'a field name too long', [{ name: 'n'.repeat(n), data: { text: 'x' } }, ...good(file(png))], [400])),
    fc.boolean().map((typeFirst) => multipart(r.path, 'over the cap', r.chat ? withType('1', file({ sample: 'png', padTo: r.capOver }), typeFirst) : [file({ sample: 'png', padTo: r.capOver })], [413])),
    fc.integer({ min: 20, max: 400 }).map((cutAt) => ({ ...multipart(r.path, 'a cut multipart body', good(file(png)), [400]), body: { boundary: BOUNDARY, parts: good(file(png)), cutAt } })),
    fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=other', 'multipart/form-data; boundary=', 'multipart/mixed; boundary=fuzz-upload-boundary')
      .map((contentType) => ({ ...multipart(r.path, 'a wrong boundary', good(file(png)), [400]), contentType })),
    fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', undefined).map((contentType): HttpCase => ({
      why: 'not multipart', method: 'POST', path: r.path, token: me, contentType, expect: [400],
      body: contentType?.includes('form') ? `type=1&${r.field}=x` : JSON.stringify({ type: 1, [r.field]: 'iVBORw0KGgo=' }),
    })),
  ];
  if (r.chat) {
    const type = enumKind([1, 2, 3, 6]);
    cases.push(
      fc.tuple(fc.option(type.invalidForm, { nil: undefined, freq: 6 }), fc.boolean())
        .map(([t, typeFirst]) => multipart(r.path, 'a refused type', withType(t, file(png), typeFirst), [400])),
      fc.boolean().map((typeFirst) => multipart(r.path, 'a file over the cap of "any file"', withType('6', file({ text: 'x'.repeat(r.capOver) }), typeFirst), [413])),
    );
  }
  return fc.oneof(...cases);
}

/** The two upload routes and their refusals. */
export const uploadRoutes: Array<{ path: string; cases: fc.Arbitrary<HttpCase> }> = [
  { path: '/im/chat/upload', cases: uploadCases({ path: '/im/chat/upload', field: 'file', chat: true, capOver: 9000 }) },
  { path: '/user/update/avatar', cases: uploadCases({ path: '/user/update/avatar', field: 'avatar', chat: false, capOver: 3000 }) },
];
