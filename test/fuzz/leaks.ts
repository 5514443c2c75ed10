/**
 * What must never be in an answer's message (an HTTP envelope's `msg`, a socket's Cmd 2 `Body`):
 * a stack frame, a source path, SQL, a driver's error, a table name, a JavaScript error. ("at "
 * alone is common English: "must be at least 2 characters".)
 */
const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat \S+ \(|\n\s+at |\bat (file|node):/],
  ['a source file', /\.(ts|js|mjs|cjs)(:\d+|\b)|node_modules|\/(work|home|tmp|usr|src)\//],
  ['SQL', /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|VALUES|JOIN)\b|\bsql\b/],
  ['a database error', /sqlite|mysql|mariadb|kysely|constraint|duplicate entry|syntax error/i],
  ['a driver error code', /\bER_[A-Z_]+|\bSQLITE_[A-Z_]+|\bTable\b/],
  ['a table name', /\b(friend_requests|group_members|group_join_requests|token_revocations|user_events|read_cursors|search_docs|search_grams|search_outbox|uploads)\b/],
  ['a JavaScript error', /TypeError|ReferenceError|RangeError|SyntaxError|undefined is not|cannot read prop|\[object Object\]/i],
];

/** Throws unless `text` is free of internals. */
export function assertNoLeak(text: string, where: string): void {
  for (const [what, pattern] of LEAKS) if (pattern.test(text)) throw new Error(`${where} leaks ${what}: ${JSON.stringify(text.slice(0, 300))}`);
}

/**
 * Whether a generated string cannot be mistaken for a leak when an answer quotes it back (a
 * refused field's name, an unknown command): random text is filtered with it.
 */
export function harmless(text: string): boolean {
  return LEAKS.every(([, pattern]) => !pattern.test(text));
}
