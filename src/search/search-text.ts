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

/**
 * The distinct bigrams and trigrams (two or three consecutive code points) of each field; none
 * span two fields. A 2- or 3-character word is found by its own postings alone; a longer word by
 * its trigrams (far more selective than bigrams) and an exact check.
 */
export function grams(text: string): string[] {
  const out = new Set<string>();
  for (const field of text.split('\n')) {
    const chars = [...field];
    for (let i = 0; i + 1 < chars.length; i++) {
      out.add(chars[i]! + chars[i + 1]!);
      if (i + 2 < chars.length) out.add(chars[i]! + chars[i + 1]! + chars[i + 2]!);
    }
  }
  return [...out];
}

/** The distinct trigrams of a word of 4+ characters. */
export function trigrams(word: string): string[] {
  const chars = [...word];
  const out = new Set<string>();
  for (let i = 0; i + 2 < chars.length; i++) out.add(chars[i]! + chars[i + 1]! + chars[i + 2]!);
  return [...out];
}
