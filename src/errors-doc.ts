import { errorReasons } from './error-reasons.js';

/** docs/errors.md, from the reasons catalog (`npm run docs:errors`; a test keeps it current). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorReasons).map(([reason, r]) => `| \`${reason}\` | ${r.code} | ${r.status} | ${cell(r.en)} | ${cell(r.zh)} |`);
  return `# Error reasons

Generated from \`src/error-reasons.ts\` by \`npm run docs:errors\`; do not edit by hand.

Every error answer names the rule it broke. The HTTP envelope carries it as \`reason\` beside
API.md's \`code\` and \`msg\`; a refused WebSocket frame (Cmd 2) as \`Reason\` beside \`Code\` and
\`Body\`. Branch on \`reason\` (stable: a key is never reused for another rule) or on \`code\`
(weIm-go's families); \`msg\` and \`Body\` are for people and may be reworded.

\`msg\` / \`Body\` come in Chinese or English: an HTTP request by its \`Accept-Language\`
(\`zh\`, \`zh-CN\`, \`zh-TW\` → Chinese; \`en\`, \`en-US\` → English; q-values respected); a socket by
its upgrade request's \`Accept-Language\`, replaced by \`Lang\` in its Cmd 3 when it sends one. A
request that names neither language gets \`i18n.default_locale\` (default \`zh\`: weIm-go clients send
no preference and expect Chinese). \`{name}\` below is filled in from the request.

For \`invalid_field\` and \`invalid_frame\`, \`{detail}\` is the field's own problem, in the same
language: the schemas' texts each have a Chinese translation (a test fails on one without), and
zod's own texts come from zod's zh-CN locale.

| reason | code | HTTP | English | 中文 |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}
