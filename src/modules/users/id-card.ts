import { createHmac } from 'node:crypto';

/** Province-level region codes (GB/T 2260) valid as the first two digits of a PRC ID number. */
const PROVINCES = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82',
]);
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

export interface IdCardFacts {
  /** Normalised number (upper-case X). */
  number: string;
  /** 1 male, 2 female (17th digit odd / even). */
  sex: 1 | 2;
  birthDate: string;
}

/**
 * Validates a PRC 18-digit resident ID number: province code, a real calendar birth date between
 * 1900 and today, and the ISO 7064 MOD 11-2 check character. Returns why it failed, or the facts.
 */
export function checkIdCard(input: string, today = new Date()): { ok: true; facts: IdCardFacts } | { ok: false; reason: 'id_card_format' | 'id_card_region' | 'id_card_birth_date' | 'id_card_checksum' } {
  const number = input.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(number)) return { ok: false, reason: 'id_card_format' };
  if (!PROVINCES.has(number.slice(0, 2))) return { ok: false, reason: 'id_card_region' };
  if (number.slice(2, 6) === '0000') return { ok: false, reason: 'id_card_region' };
  const year = Number(number.slice(6, 10));
  const month = Number(number.slice(10, 12));
  const day = Number(number.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  const realDate = birth.getUTCFullYear() === year && birth.getUTCMonth() === month - 1 && birth.getUTCDate() === day;
  if (!realDate || year < 1900 || birth.getTime() > today.getTime()) {
    return { ok: false, reason: 'id_card_birth_date' };
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(number[i]) * WEIGHTS[i]!;
  if (CHECK_CHARS[sum % 11] !== number[17]) return { ok: false, reason: 'id_card_checksum' };
  const sex = Number(number[16]) % 2 === 1 ? 1 : 2;
  return { ok: true, facts: { number, sex, birthDate: number.slice(6, 14) } };
}

/** Keyed hash stored instead of the number (finds duplicates; cannot be reversed without the key). */
export function hashIdCard(number: string, secret: string): string {
  return createHmac('sha256', secret).update(number).digest('hex');
}

/** 110***********123X: first three and last four characters kept. */
export function maskIdCard(number: string): string {
  return `${number.slice(0, 3)}${'*'.repeat(11)}${number.slice(14)}`;
}
