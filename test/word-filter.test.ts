import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { fold, WordFilter } from '../src/modules/moderation/index.js';

function filter(mode: 'reject' | 'mask', words: string[]): WordFilter {
  const file = join(mkdtempSync(join(tmpdir(), 'weim-filter-')), 'words.txt');
  writeFileSync(file, words.join('\n'));
  return new WordFilter(file, mode);
}

describe('the word filter', () => {
  it('finds a word whatever its case, and through combining marks and format characters (ZWJ, variation selectors) put in it', () => {
    const f = filter('reject', ['badword', '坏词']);
    for (const text of ['BadWord', 'b\u0301adword', 'bad\u200dword', 'bad\u00adword', 'badword\ufe0f', '坏\u200b词']) {
      expect(() => f.screen('body', `say ${text} now`), JSON.stringify(text)).toThrow(AppError);
    }
    expect(f.screen('body', 'bad word, good words')).toBe('bad word, good words');
  });

  it('masks each word in the original text, marks inside or right after it included; overlapping words become one mask', () => {
    const f = filter('mask', ['ab', 'bcd', 'badword']);
    expect(f.screen('body', 'x abcd y')).toBe('x *** y');
    expect(f.screen('body', 'a Bad\u0301Word! and b\u200dadword')).toBe('a ***! and ***');
    expect(f.screen('body', 'nothing here')).toBe('nothing here');
  });

  it('fold keeps positions for plain text and maps them back otherwise', () => {
    expect(fold('AbC').folded).toBe('abc');
    const { folded, origin } = fold('a\u0301b\u200dc');
    expect(folded).toBe('abc');
    expect([origin(0), origin(1), origin(2), origin(3)]).toEqual([0, 2, 4, 5]);
  });
});
