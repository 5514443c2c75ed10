import { CompiledQuery } from 'kysely';
import { setBounded } from '../bounded-map.js';

/** The values a statement is built from: numbers or strings, or arrays of them. */
export type ShapeParams = Record<string, number | string | readonly (number | string)[]>;

/** Where a compiled parameter comes from: a value of the params (an element of an array one), or a constant. */
type Source = { key: string; index: number | undefined } | { constant: unknown };

interface Shape {
  sql: string;
  sources: Source[];
}

/** Stands for one value of the params while the statement's shape is compiled. */
class Placeholder {
  constructor(
    readonly key: string,
    readonly index: number | undefined,
  ) {}
}

const SHAPES_PER_DATABASE = 500;
const shapes = new WeakMap<object, Map<string, Shape>>();

/**
 * `build(params)` compiled, with Kysely's work done once per shape: the first call of a shape
 * builds the statement with placeholders for the values, and records its SQL text and where each
 * of its parameters comes from; later calls only fill in the values. Building and compiling a
 * statement (an immutable tree, then a visit of it) was most of what Kysely cost a search or
 * nearby request, and most of what it allocated.
 *
 * The SQL text of a shape must follow from `shape` and the lengths of the array params alone
 * (both make the cache key, kept per `db`, so a shape need not name the dialect): `build` may use
 * a value only as a value of the statement, never to
 * choose its text or to compute another value (pass a computed value as a param of its own).
 * A value used any other way is caught when the shape is first built (it becomes NaN, a string
 * with "[object", or a placeholder inside an array), and throws.
 */
export function shapedQuery<R, P extends ShapeParams>(db: object, shape: string, params: P, build: (params: P) => CompiledQuery<R>): CompiledQuery<R> {
  let byKey = shapes.get(db);
  if (!byKey) shapes.set(db, (byKey = new Map()));
  let key = shape;
  for (const name in params) {
    const value = params[name];
    if (Array.isArray(value)) key += `|${name}:${value.length}`;
  }
  let known = byKey.get(key);
  if (!known) {
    known = learn(shape, params, build);
    setBounded(byKey, key, known, SHAPES_PER_DATABASE);
  }
  const parameters = known.sources.map((source) => {
    if ('constant' in source) return source.constant;
    const value = params[source.key]!;
    return source.index === undefined ? value : (value as readonly unknown[])[source.index];
  });
  return CompiledQuery.raw(known.sql, parameters) as CompiledQuery<R>;
}

function learn<R, P extends ShapeParams>(shape: string, params: P, build: (params: P) => CompiledQuery<R>): Shape {
  const placeholders: Record<string, unknown> = {};
  for (const name in params) {
    const value = params[name];
    placeholders[name] = Array.isArray(value) ? value.map((_, i) => new Placeholder(name, i)) : new Placeholder(name, undefined);
  }
  const compiled = build(placeholders as P);
  const sources = compiled.parameters.map((value): Source => {
    if (value instanceof Placeholder) return { key: value.key, index: value.index };
    // NaN: arithmetic on a placeholder; "[object": one made into a string; any other object
    // (an array of placeholders among them): a value the build made from the params.
    const misused = (typeof value === 'number' && Number.isNaN(value)) || (typeof value === 'string' && value.includes('[object')) || (typeof value === 'object' && value !== null);
    if (misused) {
      throw new Error(`shapedQuery(${shape}): a parameter was computed from the params; pass it as a param of its own`);
    }
    return { constant: value };
  });
  if (compiled.sql.includes('[object')) throw new Error(`shapedQuery(${shape}): a param was written into the SQL text`);
  return { sql: compiled.sql, sources };
}
