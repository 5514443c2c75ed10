import fc from 'fast-check';
import { routeCases } from './cases.js';
import { assertRefusal, type HttpCase, send } from './http.js';
import { pushRoutes } from './push.js';
import { jsonRoutes } from './routes.js';
import { type SocketCase, SocketRig, socketTargets } from './socket.js';
import { uploadRoutes } from './uploads.js';
import { assertUnchanged, type World } from './world.js';

/**
 * The input suite's two properties, for the test (test/input.property.test.ts) and the bench
 * (bench/fuzz.ts): every generated request or frame is refused (a 4xx envelope, or Cmd 2 / a
 * documented close, with nothing internal in it), and the stored state is as it was.
 */
export interface Target {
  /** A route of docs/api.md, or a Cmd of docs/protocol.md. */
  name: string;
  property: fc.IAsyncProperty<[unknown]>;
}

export interface Targets {
  list: Target[];
  /** Closes the sockets the socket targets opened. */
  close(): void;
}

/**
 * Every HTTP route (JSON/form, uploads, push) and every client Cmd of the world's node, each one
 * target; `onRun` hears of every run (the bench's progress).
 */
export function fuzzTargets(world: World, onRun: (target: string) => void = () => {}): Targets {
  const bodyLimit = world.node.config.server.body_limit_bytes;
  const httpRoutes: Array<{ path: string; cases: fc.Arbitrary<HttpCase> }> = [
    ...jsonRoutes(world).map((r) => ({ path: r.path, cases: routeCases(r, bodyLimit) })),
    ...uploadRoutes,
    ...pushRoutes(world),
  ];
  const http = httpRoutes.map(({ path, cases }): Target => ({
    name: path,
    property: fc.asyncProperty(cases, (c) => {
      onRun(path);
      return both(async () => assertRefusal(c, await send(world, c)), () => assertUnchanged(world));
    }) as fc.IAsyncProperty<[unknown]>,
  }));
  const rig = new SocketRig(world);
  const sockets = socketTargets(world).map(({ name, cases }): Target => ({
    name: `ws ${name}`,
    property: fc.asyncProperty(cases, (c: SocketCase) => {
      onRun(`ws ${name}`);
      return both(() => rig.run(c), () => assertUnchanged(world));
    }) as fc.IAsyncProperty<[unknown]>,
  }));
  return { list: [...http, ...sockets], close: () => rig.close() };
}

/**
 * Checks the answer and then the state, whatever the answer was (a request wrongly let through
 * must be seen to have changed rows too, and the baseline moved past it), and fails with both.
 */
async function both(answer: () => Promise<void>, state: () => Promise<void>): Promise<void> {
  const problems: string[] = [];
  for (const check of [answer, state]) {
    try {
      await check();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n  and: '));
}

/**
 * Control (but newline), format and separator characters written as \u{…}, so that a
 * counterexample shows them (fast-check prints U+0085 or U+200F as they are).
 */
export function visible(text: string): string {
  return text.replace(/(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
