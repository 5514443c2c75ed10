import type { Db } from '../src/db/database.js';

/** Deterministic pseudo-random numbers (mulberry32), so every run seeds the same people. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SURNAMES = [...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'];
const GIVEN = [...'伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩然子轩梓涵一诺欣怡思雨嘉豪俊杰晨曦雨萱博文佳琪天佑梦瑶语嫣志强海峰建国文静晓东丹丹春梅秋菊冬雪晴川'];
const FIRST = ['emma', 'olivia', 'ava', 'sophia', 'mia', 'liam', 'noah', 'oliver', 'elijah', 'james', 'lucas', 'mason', 'ethan', 'chloe', 'grace', 'jack', 'henry', 'leo', 'lily', 'zoe', 'anna', 'david', 'kevin', 'tony', 'lucy', 'amy', 'eric', 'jason', 'linda', 'peter'];
const LAST = ['smith', 'johnson', 'brown', 'wilson', 'taylor', 'lee', 'walker', 'hall', 'young', 'king', 'wright', 'scott', 'green', 'baker', 'adams', 'chen', 'wang', 'zhang', 'liu', 'huang'];
/** Where people are: a few cities (latitude, longitude), most users within ~30 km of one. */
export const CITIES = [
  { name: 'Beijing', latitude: 39.9042, longitude: 116.4074 },
  { name: 'Shanghai', latitude: 31.2304, longitude: 121.4737 },
  { name: 'Guangzhou', latitude: 23.1291, longitude: 113.2644 },
  { name: 'Chengdu', latitude: 30.5728, longitude: 104.0668 },
  { name: 'Hangzhou', latitude: 30.2741, longitude: 120.1551 },
];

export interface SeedUser {
  username: string;
  nickname: string;
  latitude: number | null;
  longitude: number | null;
  location_updated_at: number | null;
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** User `i` of the data set: a random username, a Chinese or Latin nickname, maybe a location. */
export function seedUser(rnd: () => number, i: number, now: number): SeedUser {
  const latin = `${pick(rnd, FIRST)}${rnd() < 0.5 ? `_${pick(rnd, LAST)}` : ''}`;
  const username = `${latin}${Math.floor(rnd() * 100000)}_${i.toString(36)}`.slice(-20);
  const nickname =
    rnd() < 0.6
      ? pick(rnd, SURNAMES) + pick(rnd, GIVEN) + (rnd() < 0.6 ? pick(rnd, GIVEN) : '')
      : `${pick(rnd, FIRST)} ${pick(rnd, LAST)}`.replace(/^./, (c) => c.toUpperCase());
  if (rnd() < 0.1) return { username, nickname, latitude: null, longitude: null, location_updated_at: null };
  const city = pick(rnd, CITIES);
  const spread = rnd() < 0.9 ? 0.15 : 1.5;
  return {
    username,
    nickname,
    latitude: Math.max(-90, Math.min(90, city.latitude + gaussian(rnd) * spread)),
    longitude: city.longitude + gaussian(rnd) * spread,
    location_updated_at: now - Math.floor(rnd() * 14 * 86_400_000),
  };
}

/** Inserts `count` users in batches (one transaction each), reporting progress. */
export async function seedUsers(db: Db, count: number, progress: (done: number) => void): Promise<SeedUser[]> {
  const rnd = random(42);
  const now = Date.now();
  const all: SeedUser[] = [];
  const batchSize = 1000;
  for (let start = 0; start < count; start += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, count - start) }, (_, k) => seedUser(rnd, start + k, now));
    all.push(...batch);
    await db
      .insertInto('users')
      .values(batch.map((u) => ({ ...u, password_hash: 'x', created_at: now, updated_at: now })))
      .execute();
    progress(start + batch.length);
  }
  return all;
}
