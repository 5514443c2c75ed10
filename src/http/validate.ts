import { z } from 'zod';
import { AppError } from '../errors.js';
import { issueDetail } from '../issue-text.js';

/**
 * Parses a request body (form-encoded values arrive as strings; JSON may carry numbers) with a zod
 * schema. Unknown fields are ignored. A failure becomes BAD_REQUEST naming the first bad field.
 */
export function parseInput<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  throw new AppError('invalid_field', { field: field || 'body', detail: issueDetail(issue) });
}

/**
 * Half of a UTF-16 surrogate pair on its own (JSON can carry one as `\ud800`): it has no UTF-8
 * form, and the database would store U+FFFD in its place, so such text is refused.
 */
export const LONE_SURROGATE = /\p{Cs}/u;

/** Control characters (C0, DEL and C1) other than tab and newlines: refused in bodies of text. */
export const CONTROL_BUT_TAB_AND_NEWLINES = /(?![\t\n\r])\p{Cc}/u;

/** A string of decimal digits (a leading minus allowed): what a form field holding a number looks like. */
const DECIMAL = /^-?\d{1,16}$/;

/**
 * A number field: a JSON number, or a string of decimal digits (form fields are strings), checked
 * by `schema`. Nothing else is turned into a number: `null`, `true`, `[]`, `[23]`, `""` and `"1e3"`
 * are refused, where `z.coerce.number()` read them as 0, 1, 0, 23, 0 and 1000.
 */
export function numeric<S extends z.ZodType<number>>(schema: S) {
  return z.preprocess((value) => (typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value), schema);
}

/**
 * A decimal number as a form writes one: digits, an optional leading minus and fraction. A double
 * written in full (JavaScript's String, Go's FormatFloat 'f' -1) has up to 17 significant digits,
 * so below 1 its fraction runs past 16 digits (-0.12608860895939245); 24 takes every double from
 * 1e-6 up, which JavaScript writes without an exponent.
 */
const DECIMAL_FRACTION = /^-?\d{1,16}(\.\d{1,24})?$/;

/**
 * A fractional number field (coordinates, distances): a JSON number, or a string of decimal digits
 * with an optional fraction (`"-12.5"`). Not `"0x10"`, `"1e1"`, `" 1"`, `"Infinity"`, `true` or
 * `null`, which Number() would read as 16, 10, 1, Infinity, 1 and 0.
 */
export function decimal<S extends z.ZodType<number>>(schema: S) {
  return z.preprocess((value) => (typeof value === 'string' && DECIMAL_FRACTION.test(value) ? Number(value) : value), schema);
}

/** A positive integer id, from a JSON number or a string of digits. */
export const idField = numeric(z.number({ error: 'must be a positive integer' }).int().positive().max(Number.MAX_SAFE_INTEGER));

/**
 * 1 to `max` ids, as a JSON array of ids or, from a form, `12,34`: the two forms, for a z.union
 * with the field's own error text.
 */
export function idListForms(max: number) {
  return [
    z.array(idField).min(1).max(max),
    z.string().regex(new RegExp(`^\\d{1,16}(,\\d{1,16}){0,${max - 1}}$`)).transform((s) => s.split(',').map(Number)).pipe(z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER))),
  ] as const;
}

/** Text without control characters, trimmed, with its length counted in characters (code points). */
export function textField(min: number, max: number) {
  return z
    .string({ error: 'is required' })
    .transform((s) => s.trim())
    .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode (no lone surrogate)')
    .refine((s) => [...s].length >= min, `must be at least ${min} character(s)`)
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`);
}

/**
 * The JSON Schema (2020-12, the dialect OpenAPI 3.1 and AsyncAPI 3 use) of what `schema` accepts,
 * without its `$schema` key, for the API documents.
 */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}
