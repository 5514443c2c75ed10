import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, errorReasons } from '../src/errors.js';
import { renderErrorsDoc } from '../src/errors-doc.js';
import { localeOf } from '../src/i18n.js';
import { zhDetail } from '../src/issue-text.js';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { openSocket, type TestSocket } from './helpers/ws.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CJK = /\p{Script=Han}/u;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('error reasons catalog', () => {
  it('every reason has an English and a Chinese message with the same placeholders', () => {
    for (const [reason, rule] of Object.entries(errorReasons)) {
      expect(reason, reason).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(rule.en.trim(), reason).not.toBe('');
      expect(rule.zh, `${reason} has no Chinese`).toMatch(CJK);
      expect(placeholders(rule.zh), reason).toEqual(placeholders(rule.en));
    }
  });

  it('every reason is thrown somewhere, and every thrown reason is in the catalog', () => {
    const code = sources(join(root, 'src')).filter((p) => !p.endsWith('error-reasons.ts')).map((p) => readFileSync(p, 'utf8')).join('\n');
    for (const reason of Object.keys(errorReasons)) expect(code.includes(`'${reason}'`), `${reason} is never used`).toBe(true);
    // Catches a reason in a string the compiler does not see (a file outside tsconfig, a cast).
    for (const m of code.matchAll(/new AppError\('([a-z_]+)'/g)) expect(Object.keys(errorReasons)).toContain(m[1]);
  });

  it('every field problem the schemas write has a Chinese translation', () => {
    // The English texts the request schemas give zod (error: '…', refine(…, '…'), message: '…'),
    // with any ${…} as a number; the config's own messages are for operators and stay English.
    const files = sources(join(root, 'src')).filter((p) => !/config(-checks)?\.ts$/.test(p) && !p.includes('/cli/'));
    const details = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:error: |message: |refine\([^,]+, )(['`])((?:must|is|cannot) [^'`]*)\1/g)) {
        details.add(m[2]!.replace(/\$\{[^}]+\}/g, '7'));
      }
    }
    expect(details.size).toBeGreaterThan(25);
    const missing = [...details].filter((d) => zhDetail(d) === undefined);
    expect(missing).toEqual([]);
  });

  it('docs/errors.md is what the catalog renders (npm run docs:errors)', () => {
    expect(readFileSync(join(root, 'docs/errors.md'), 'utf8')).toBe(renderErrorsDoc());
  });

  it('renders parameters in each language, a per-language parameter in its own', () => {
    const err = new AppError('file_type_mismatch', { want: { en: 'a video', zh: '视频' } });
    expect(err.message).toBe('the file content is not a video');
    expect([err.text('en'), err.text('zh'), err.code, err.status]).toEqual(['the file content is not a video', '文件内容不是视频', 1000, 400]);
    expect(new AppError('too_many_admins', { max: 3 }).text('zh')).toBe('一个群最多 3 个管理员');
  });

  it('picks the language from Accept-Language, else the default', () => {
    const cases: Array<[string | undefined, 'zh' | 'en', 'zh' | 'en']> = [
      [undefined, 'zh', 'zh'],
      [undefined, 'en', 'en'],
      ['', 'zh', 'zh'],
      ['en', 'zh', 'en'],
      ['en-US,en;q=0.9', 'zh', 'en'],
      ['zh-CN,zh;q=0.9,en;q=0.8', 'en', 'zh'],
      ['zh-TW', 'en', 'zh'],
      ['fr-FR,fr;q=0.9', 'zh', 'zh'],
      ['fr-FR,fr;q=0.9', 'en', 'en'],
      ['fr,en;q=0.5', 'zh', 'en'],
      ['en;q=0.2,zh;q=0.8', 'en', 'zh'],
      ['*', 'zh', 'zh'],
      ['*', 'en', 'en'],
      ['garbage;;;q=x', 'zh', 'zh'],
    ];
    for (const [header, fallback, want] of cases) expect(localeOf(header, fallback), `${header} / ${fallback}`).toBe(want);
  });
});

describe.each(testDialects())('error messages by language on %s', (dialect) => {
  let t: TestNode;
  let english: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_I18N_DEFAULT_LOCALE: 'zh' });
    english = await startTestNode(dialect, { WEIM_I18N_DEFAULT_LOCALE: 'en' });
  });
  afterAll(async () => {
    for (const s of open) s.ws.terminate();
    await t.stop();
    await english.stop();
  });

  it('HTTP: Chinese when the request names no language, English on Accept-Language: en; reason in both', async () => {
    const a = await registerUser(t.api);
    const body = { group_id: 999_999_999 };
    const zh = await post(t.api, '/im/group/join/request', body, { token: a.token });
    const en = await post(t.api, '/im/group/join/request', body, { token: a.token, headers: { 'Accept-Language': 'en-US,en;q=0.9' } });
    const zhCN = await post(t.api, '/im/group/join/request', body, { token: a.token, headers: { 'Accept-Language': 'zh-CN' } });
    expect([zh.status, zh.code, zh.reason, zh.msg]).toEqual([404, 1002, 'group_not_found', '群组不存在']);
    expect([en.status, en.code, en.reason, en.msg]).toEqual([404, 1002, 'group_not_found', 'group not found']);
    expect(zhCN.msg).toBe('群组不存在');
    // A validation error: the field's problem in the same language (zod's own text in Chinese too).
    const badZh = await post(t.api, '/user/update/nickname', { nickname: 'x'.repeat(200) }, { token: a.token });
    const badEn = await post(t.api, '/user/update/nickname', { nickname: 'x'.repeat(200) }, { token: a.token, headers: { 'Accept-Language': 'en' } });
    expect([badZh.reason, badEn.reason]).toEqual(['invalid_field', 'invalid_field']);
    expect(badZh.msg).toMatch(/^参数 nickname 无效：.*\p{Script=Han}/u);
    expect(badEn.msg).toMatch(/^nickname: /);
    // Unknown routes and errors raised outside the services (body limits) too.
    const route = await post(t.api, '/no/such/route', {}, { headers: { 'Accept-Language': 'en' } });
    expect([route.code, route.reason, route.msg]).toEqual([1002, 'no_route', 'no such route']);
  });

  it('HTTP: i18n.default_locale en answers English to a request that names no language', async () => {
    const res = await post(english.api, '/login', { username: 'nobody_here', password: 'wrong-password' });
    expect([res.status, res.reason, res.msg]).toEqual([401, 'bad_credentials', 'wrong username or password']);
    const zh = await post(english.api, '/login', { username: 'nobody_here', password: 'wrong-password' }, { headers: { 'Accept-Language': 'zh' } });
    expect(zh.msg).toBe('用户名或密码错误');
  });

  it('WebSocket: Cmd 2 in the upgrade request\'s language, replaced by Lang in Cmd 3, with Code and Reason', async () => {
    const a = await registerUser(t.api);
    const plain = await openSocket(t.url);
    const english = await openSocket(t.url, { headers: { 'Accept-Language': 'en' } });
    open.push(plain, english);
    for (const s of [plain, english]) s.send({ Cmd: 15, FromId: 0, ToId: 0, Ope: 0, Type: 0, Body: '' });
    const [zhFail, enFail] = await Promise.all([plain.next((f) => f.Cmd === 2), english.next((f) => f.Cmd === 2)]);
    expect([zhFail.Body, zhFail.Code, zhFail.Reason]).toEqual(['请先登录（Cmd 3）', 1000, 'sign_in_first']);
    expect([enFail.Body, enFail.Reason]).toEqual(['sign in first (Cmd 3)', 'sign_in_first']);

    // Lang in the sign-in switches the socket's language; a refused send is then in English.
    plain.send({ Cmd: 3, FromId: 0, ToId: 0, Ope: 0, Type: 0, Body: a.token, Lang: 'en-GB' });
    await plain.next((f) => f.Cmd === 4);
    plain.send({ Cmd: 17, FromId: a.user.id, ToId: 999_999_999, Ope: 0, Type: 0, Body: 'hi', ClientMsgId: 'c1' });
    const refused = await plain.next((f) => f.Cmd === 2 && f.ClientMsgId === 'c1');
    expect([refused.Code, refused.Reason, refused.Body]).toEqual([1003, 'friends_only', 'you can only message your friends']);

    // A bad token: the sign-in's Lang already applies to its refusal.
    const third = await openSocket(t.url);
    open.push(third);
    third.send({ Cmd: 3, FromId: 0, ToId: 0, Ope: 0, Type: 0, Body: 'not-a-token', Lang: 'zh' });
    const bad = await third.next((f) => f.Cmd === 2);
    expect([bad.Code, bad.Reason, bad.Body]).toEqual([1001, 'token_invalid', '登录凭证无效、已过期或已被撤销']);
  });
});
