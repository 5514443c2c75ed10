import { z } from 'zod';

/**
 * A field's problem in both languages: the English text zod or the schema gave, and its Chinese.
 * The schemas write their own texts in English (`must be a positive integer`); each has its
 * Chinese below, by exact text or by pattern (test/error-reasons.test.ts fails on one without).
 * zod's own texts (too long, wrong type, …) come in Chinese from zod's zh-CN locale.
 */
export function issueDetail(issue: z.core.$ZodIssue): { en: string; zh: string } {
  const en = issue.message;
  return { en, zh: zhDetail(en) ?? zodZh(issue) };
}

const exact: Record<string, string> = {
  'is required': '必填',
  'must be one emoji': '必须是一个表情',
  'must be a page number': '必须是页码',
  'must be a number': '必须是数字',
  'must be a positive integer': '必须是正整数',
  'must be a seq': '必须是序号（seq）',
  'must be a message type': '必须是消息类型',
  'must be a URL': '必须是 URL',
  'must be more than 0': '必须大于 0',
  'must be an array of user ids': '必须是用户 id 的数组',
  'must be comma-separated ids': '必须是逗号分隔的 id',
  'must name at least one user': '至少指定一个用户',
  'must have at most 50 keys': '最多 50 个键',
  'name exactly one of client_ids, user_id, channel, all': '只能指定 client_ids、user_id、channel、all 之一',
  'name one of client_id, user_id, channel': '请指定 client_id、user_id、channel 之一',
  'must be 1–64 of a-z, A-Z, 0-9, - and _': '必须是 1 到 64 个 a-z、A-Z、0-9、- 或 _',
  'must be 1–40 of a-z, 0-9, - and _': '必须是 1 到 40 个 a-z、0-9、- 或 _',
  'must be fcm, apns or webhook': '必须是 fcm、apns 或 webhook',
  'must be approval, open or invite': '必须是 approval、open 或 invite',
  'must not contain control characters': '不能含有控制字符',
  'must not contain control characters other than tab and newlines': '不能含有制表符和换行以外的控制字符',
  'must be valid Unicode (no lone surrogate)': '必须是有效的 Unicode（不能有孤立的代理字符）',
  'must be a device token (printable ASCII, no spaces)': '必须是设备令牌（可打印 ASCII 字符，不含空格）',
  'must be an http(s) URL or a path on this server': '必须是 http(s) URL 或本服务器上的路径',
  'must be 6–20 letters, digits or _': '必须是 6 到 20 个字母、数字或下划线',
  'must be 2–20 Chinese characters': '必须是 2 到 20 个汉字',
  'must be 1 (show the text) or 0': '必须是 1（显示内容）或 0',
  'must be 1 (put on) or 0 (take off)': '必须是 1（添加）或 0（取消）',
  'must be 1 (picture), 2 (voice), 3 (video) or 6 (file)': '必须是 1（图片）、2（语音）、3（视频）或 6（文件）',
  'must be 1 (accept), 0 or -1 (reject)': '必须是 1（同意）、0 或 -1（拒绝）',
  'must be 1 (accept) or -1 (reject)': '必须是 1（同意）或 -1（拒绝）',
  'must be 0, 1, 2, 3, 4, 6 or 10': '必须是 0、1、2、3、4、6 或 10',
  'must be {"<conversation id>": seq, ...}': '必须是 {"<会话 id>": seq, ...}',
};

const patterns: Array<[RegExp, (...n: string[]) => string]> = [
  [/^must be at most (\d+) characters$/, (n) => `最多 ${n} 个字符`],
  [/^must be at least (\d+) character(?:\(s\)|s)$/, (n) => `至少 ${n} 个字符`],
  [/^must have 1 to (\d+) characters$/, (n) => `必须有 1 到 ${n} 个字符`],
  [/^must be at most (\d+) bytes in UTF-8$/, (n) => `UTF-8 编码最多 ${n} 字节`],
  [/^must be at most (\d+)$/, (n) => `不能大于 ${n}`],
  [/^must be at least (\d+)$/, (n) => `不能小于 ${n}`],
  [/^must be (\d+) characters$/, (n) => `必须是 ${n} 个字符`],
  [/^must be 1 \(([^)]+)\) or 0$/, (what) => `必须是 1（${what}）或 0`],
  [/^must be (\d+) to (\d+)$/, (a, b) => `必须在 ${a} 到 ${b} 之间`],
  [/^must be (\d+) to (\d+) seconds$/, (a, b) => `必须在 ${a} 到 ${b} 秒之间`],
  [/^must name at most (\d+) users$/, (n) => `最多指定 ${n} 个用户`],
  [/^must be a list of 1 to (\d+) user ids$/, (n) => `必须是 1 到 ${n} 个用户 id 的列表`],
  [/^must be "all" or a list of 1 to (\d+) user ids$/, (n) => `必须是 "all" 或 1 到 ${n} 个用户 id 的列表`],
];

/** The Chinese of a schema's own English text, or undefined when it has none. */
export function zhDetail(en: string): string | undefined {
  const hit = exact[en];
  if (hit !== undefined) return hit;
  for (const [pattern, zh] of patterns) {
    const m = pattern.exec(en);
    if (m) return zh(...m.slice(1));
  }
  return undefined;
}

const zhLocale = z.locales.zhCN();

/** zod's own text for an issue, in Chinese (the issue needs its input: parse with `reportInput`). */
function zodZh(issue: z.core.$ZodIssue): string {
  const text = (zhLocale.localeError as (raw: unknown) => unknown)(issue);
  if (typeof text === 'string') return text;
  const message = (text as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : issue.message;
}
