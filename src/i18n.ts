import Negotiator from 'negotiator';

/** The languages weim answers in. */
export const locales = ['zh', 'en'] as const;
export type Locale = (typeof locales)[number];

/**
 * The language to answer in for an `Accept-Language` value (or a sign-in's `Lang`): the best of
 * zh and en it names (`zh-CN` and `zh-TW` are zh, `en-GB` is en), or `fallback` when it names
 * neither, names them equally, or is absent (weIm-go clients send none and expect Chinese).
 */
export function localeOf(acceptLanguage: string | undefined, fallback: Locale): Locale {
  if (!acceptLanguage || acceptLanguage.length > 500) return fallback;
  const order = fallback === 'zh' ? ['zh', 'en'] : ['en', 'zh'];
  const best = new Negotiator({ headers: { 'accept-language': acceptLanguage } }).language(order);
  return best === 'en' || best === 'zh' ? best : fallback;
}
