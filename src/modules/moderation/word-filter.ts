import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import AhoCorasick from 'modern-ahocorasick';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';

export type FilterMode = 'reject' | 'mask';

/** Longest word kept from the list (longer lines are skipped). */
const MAX_WORD_CHARS = 100;
/** Most words a list may hold. */
const MAX_WORDS = 1_000_000;
/** What a masked word becomes. */
export const MASK = '***';

/** Combining marks and format characters (ZWJ, ZWNJ, variation selectors, soft hyphen, …): ignored in words and texts. */
const IGNORED = /[\p{M}\p{Cf}]/u;

/**
 * The text as it is matched: lower-cased, without combining marks and format characters (so
 * `b\u0301adword` or `bad\u200dword` is still `badword`), and where each of its positions lies
 * in the original (`origin(i)`; `origin(folded.length)` is the original's length). Most texts
 * have none of those and keep their length: they are only lower-cased.
 */
export function fold(text: string): { folded: string; origin: (index: number) => number } {
  const lower = text.toLowerCase();
  if (lower.length === text.length && !IGNORED.test(text)) return { folded: lower, origin: (i) => i };
  let folded = '';
  const starts: number[] = [];
  let at = 0;
  for (const ch of text) {
    const here = at;
    at += ch.length;
    if (IGNORED.test(ch)) continue;
    const low = ch.toLowerCase();
    folded += low;
    for (let k = 0; k < low.length; k++) starts.push(here);
  }
  starts.push(text.length);
  // A position of the folded text that begins an original character maps to it; the end of a hit
  // maps to the start of the next kept character (taking the marks after the hit with it).
  return { folded, origin: (i) => starts[Math.min(i, starts.length - 1)]! };
}

/**
 * The built-in word filter: a list of words (one per line; `#` starts a comment) matched in every
 * text message, nickname, group name and notice, without regard to case, by one Aho–Corasick
 * automaton (modern-ahocorasick: linear in the text, whatever the list's size). `reject` refuses
 * the text (400 / 1007), `mask` replaces each word found by `***`. The list is read again when the
 * file changes (polled every `reloadMs`); a list that cannot be read keeps the one before.
 *
 * Case and marks: texts and words are lower-cased and stripped of combining marks and format
 * characters (ZWJ, variation selectors) before matching (`fold`), so neither hides a word. No other
 * normalisation: full-width or look-alike letters are other words (list them).
 */
export class WordFilter {
  private matcher: AhoCorasick | undefined;
  private words = 0;
  private watching = false;

  constructor(
    private readonly file: string,
    readonly mode: FilterMode,
    private readonly log?: Logger,
    private readonly reloadMs = 1000,
  ) {
    this.load();
  }

  /** How many words the list holds now. */
  get size(): number {
    return this.words;
  }

  /** Reads the list again when the file changes. */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.file, { interval: this.reloadMs, persistent: false }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) this.reload();
    });
  }

  stop(): void {
    if (this.watching) unwatchFile(this.file);
    this.watching = false;
  }

  /** Reads the list again now; a list that cannot be read keeps the one before (logged). */
  reload(): void {
    try {
      this.load();
      this.log?.info({ words: this.words, file: this.file }, 'word filter list loaded');
    } catch (err) {
      this.log?.error({ err, file: this.file }, 'word filter list could not be read: the previous list stays');
    }
  }

  /**
   * `text` as it may be kept: unchanged when no word is in it; else, in `mask` mode, with each word
   * replaced by `***`, and in `reject` mode refused (400 / 1007 naming `field`).
   */
  screen(field: string, text: string): string {
    const matcher = this.matcher;
    if (!matcher || text.length === 0) return text;
    const { folded, origin } = fold(text);
    if (!matcher.match(folded)) return text;
    if (this.mode === 'reject') throw new AppError('forbidden_word', { field });
    // Every hit, overlapping ones merged, masked in the original text (marks inside a word and
    // right after it go with it).
    const ranges = matcher
      .search(folded)
      .map((hit) => [origin(hit.start), origin(hit.end)] as const)
      .sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [from, to] of ranges) {
      if (to <= at) continue;
      out += text.slice(at, Math.max(at, from)) + (from >= at ? MASK : '');
      at = to;
    }
    return out + text.slice(at);
  }

  private load(): void {
    statSync(this.file); // a clear ENOENT before anything else
    const words = [...new Set(
      readFileSync(this.file, 'utf8')
        .split(/\r?\n/)
        .map((line) => fold(line.replace(/#.*$/, '').trim()).folded)
        .filter((w) => w.length > 0 && w.length <= MAX_WORD_CHARS),
    )];
    if (words.length > MAX_WORDS) throw new Error(`the word list holds ${words.length} words; at most ${MAX_WORDS}`);
    this.matcher = words.length === 0 ? undefined : new AhoCorasick(words);
    this.words = words.length;
  }
}
