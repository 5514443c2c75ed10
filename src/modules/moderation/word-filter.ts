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

/**
 * The built-in word filter: a list of words (one per line; `#` starts a comment) matched in every
 * text message, nickname, group name and notice, without regard to case, by one Aho–Corasick
 * automaton (modern-ahocorasick: linear in the text, whatever the list's size). `reject` refuses
 * the text (400 / 1007), `mask` replaces each word found by `***`. The list is read again when the
 * file changes (polled every `reloadMs`); a list that cannot be read keeps the one before.
 *
 * Case: the text is lower-cased (`toLowerCase`) before matching, as the words are. No other
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
    const lower = text.toLowerCase();
    if (!matcher.match(lower)) return text;
    if (this.mode === 'reject') throw new AppError('FORBIDDEN_WORD', `${field}: contains a word that is not allowed`);
    // Lower-casing kept every position (it almost always does): mask the original text's ranges.
    const source = lower.length === text.length ? text : lower;
    let out = '';
    let at = 0;
    for (const hit of matcher.search(lower, { strategy: 'leftmost-longest' })) {
      out += source.slice(at, hit.start) + MASK;
      at = hit.end;
    }
    return out + source.slice(at);
  }

  private load(): void {
    statSync(this.file); // a clear ENOENT before anything else
    const words = [...new Set(
      readFileSync(this.file, 'utf8')
        .split(/\r?\n/)
        .map((line) => line.replace(/#.*$/, '').trim().toLowerCase())
        .filter((w) => w.length > 0 && w.length <= MAX_WORD_CHARS),
    )];
    if (words.length > MAX_WORDS) throw new Error(`the word list holds ${words.length} words; at most ${MAX_WORDS}`);
    this.matcher = words.length === 0 ? undefined : new AhoCorasick(words);
    this.words = words.length;
  }
}
