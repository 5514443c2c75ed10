/**
 * How text is normalised for search, shared by every index implementation: lower-cased (full
 * Unicode, as JavaScript does it), counted in code points so a CJK character or an emoji is one
 * character. A word matches an entity when it is a substring of one of its fields.
 */
export function normalise(text: string): string {
  return text.toLowerCase();
}

/** The text stored for an entity: its normalised fields joined by a newline (no word holds one). */
export function documentText(fields: string[]): string {
  return fields.map(normalise).join('\n');
}

/** The distinct bigrams (two consecutive code points) of each field; none span two fields. */
export function bigrams(text: string): string[] {
  const out = new Set<string>();
  for (const field of text.split('\n')) {
    const chars = [...field];
    for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
  }
  return [...out];
}
