import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

/** A random run of CJK ideographs: unique enough that other tests' rows never match it. */
function hanzi(length: number): string {
  return Array.from({ length }, () => String.fromCodePoint(0x4e00 + Math.floor(Math.random() * 20_000))).join('');
}

/** Random lower-case letters (usernames allow [a-z0-9_]). */
function letters(length: number): string {
  return Array.from({ length }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
}

describe.each(testDialects())('search API on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_SEARCH_PAGE_SIZE: '2' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function userWithNickname(nickname: string, username?: string) {
    const u = await registerUser(t.api, username);
    const res = await post(t.api, '/user/update/nickname', { nickname }, { token: u.token });
    expect(res.code).toBe(0);
    return { ...u, user: { ...u.user, nickname } };
  }

  it('finds users by any 2+ character substring of a Chinese nickname, with ids, in id order', async () => {
    const han = hanzi(4);
    const a = await userWithNickname(`${han}同学`);
    const b = await userWithNickname(`老${han.slice(1)}`);
    for (const word of [han.slice(0, 2), han.slice(1, 3), han.slice(2), han, `${han.slice(2)}同学`]) {
      const res = await post(t.api, '/im/friend/search', { word }, { token: a.token, form: true });
      expect(res.code, word).toBe(0);
      const expected = [a.user, b.user].filter((u) => u.nickname.includes(word));
      expect(res.data, word).toEqual({ list: expected, page: 1 });
    }
    const none = await post(t.api, '/im/friend/search', { word: `${han}x` }, { token: a.token });
    expect(none.data.list).toEqual([]);
  });

  it('matches usernames case-insensitively and pages results', async () => {
    const stem = letters(6);
    const users = [];
    for (let i = 0; i < 5; i++) users.push((await registerUser(t.api, `${stem}_${i}_${letters(3)}`)).user);
    const { token } = await registerUser(t.api);
    const seen = [];
    for (let page = 1; page <= 3; page++) {
      const res = await post(t.api, '/im/friend/search', { word: ` ${stem.toUpperCase()} `, page }, { token });
      expect(res.data.page).toBe(page);
      seen.push(...res.data.list);
    }
    expect(seen).toEqual(users);
    const past = await post(t.api, '/im/friend/search', { word: stem, page: 4 }, { token });
    expect(past.data.list).toEqual([]);
  });

  it('follows nickname changes: the old nickname is no longer found, the new one is', async () => {
    const before = hanzi(3);
    const after = hanzi(3);
    const u = await userWithNickname(before);
    await post(t.api, '/user/update/nickname', { nickname: after }, { token: u.token });
    expect((await post(t.api, '/im/friend/search', { word: before }, { token: u.token })).data.list).toEqual([]);
    expect((await post(t.api, '/im/friend/search', { word: after.slice(1) }, { token: u.token })).data.list).toEqual([{ ...u.user, nickname: after }]);
  });

  it('finds groups by name substring, with ids, paged', async () => {
    const han = hanzi(3);
    const owner = await registerUser(t.api);
    const groups = [];
    for (const name of [`${han}读书会`, `周末${han}`, `${han} hiking`]) {
      groups.push((await post(t.api, '/im/group/create', { name }, { token: owner.token })).data.group);
    }
    const page1 = await post(t.api, '/im/group/search', { word: han }, { token: owner.token, form: true });
    expect(page1.data).toEqual({ list: groups.slice(0, 2), page: 1 });
    const page2 = await post(t.api, '/im/group/search', { word: han, page: 2 }, { token: owner.token });
    expect(page2.data).toEqual({ list: groups.slice(2), page: 2 });
    const hiking = await post(t.api, '/im/group/search', { word: `${han.slice(2)} HIK` }, { token: owner.token });
    expect(hiking.data.list).toEqual([groups[2]]);
  });

  it('refuses words of one character, too long, missing, bad pages, and anonymous callers', async () => {
    const { token } = await registerUser(t.api);
    for (const path of ['/im/friend/search', '/im/group/search']) {
      for (const body of [{ word: '张' }, { word: '  a  ' }, { word: 'x'.repeat(21) }, {}, { word: 'abc', page: 0 }, { word: 'abc', page: 'x' }]) {
        const res = await post(t.api, path, body, { token });
        expect([res.status, res.code], `${path} ${JSON.stringify(body)}`).toEqual([400, 1000]);
      }
      const one = await post(t.api, path, { word: '张' }, { token });
      expect([one.reason, one.msg]).toEqual(['invalid_field', 'word: must be at least 2 character(s)']);
      const chinese = await post(t.api, path, { word: '张' }, { token, headers: { 'Accept-Language': 'zh-CN,zh;q=0.9' } });
      expect(chinese.msg).toBe('参数 word 无效：至少 2 个字符');
      const anonymous = await post(t.api, path, { word: 'abc' });
      expect([anonymous.status, anonymous.code]).toEqual([401, 1001]);
    }
  });
});
