import { describe, expect, it } from 'vitest';
import { checkIdCard, hashIdCard, maskIdCard } from '../src/modules/users/index.js';

describe('PRC ID-card check', () => {
  it('accepts valid numbers and derives sex from the 17th digit', () => {
    expect(checkIdCard('11010519900307013X')).toEqual({ ok: true, facts: { number: '11010519900307013X', sex: 1, birthDate: '19900307' } });
    expect(checkIdCard('440305199912310126')).toMatchObject({ ok: true, facts: { sex: 2 } });
    expect(checkIdCard(' 11010519900307013x ')).toMatchObject({ ok: true });
  });

  it('names what is wrong', () => {
    expect(checkIdCard('1101051990030700')).toMatchObject({ ok: false, reason: 'id_card_format' });
    expect(checkIdCard('990105199003070035')).toMatchObject({ ok: false, reason: 'id_card_region' });
    expect(checkIdCard('110105199002300036')).toMatchObject({ ok: false, reason: 'id_card_birth_date' });
    expect(checkIdCard('110105189903070030')).toMatchObject({ ok: false, reason: 'id_card_birth_date' });
    expect(checkIdCard('110105203001010030', new Date('2026-01-01'))).toMatchObject({ ok: false, reason: 'id_card_birth_date' });
    expect(checkIdCard('110105199003070031')).toMatchObject({ ok: false, reason: 'id_card_checksum' });
  });

  it('stores only a keyed hash and a mask', () => {
    expect(maskIdCard('11010519900307013X')).toBe('110***********013X');
    const a = hashIdCard('11010519900307013X', 'k1');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIdCard('11010519900307013X', 'k2')).not.toBe(a);
  });
});
