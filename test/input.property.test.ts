import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { fuzzTargets, type Targets, visible } from './fuzz/run.js';
import { buildWorld, FUZZ_NODE_ENV, type World } from './fuzz/world.js';

/**
 * Property-based input suite (docs/api.md, "How bad input is tested"): for every route of docs/api.md and every client
 * Cmd of docs/protocol.md, generated requests that are certainly wrong (a field of the wrong type
 * or out of range, a required one missing, a bad token, a body in another format, a well-formed
 * request a business rule refuses…) get a 4xx envelope (sockets: Cmd 2 or a documented close)
 * with nothing internal in it, and leave every table and stored file as they were. Fixed seed
 * (WEIM_FUZZ_SEED and WEIM_FUZZ_RUNS override it and the 300 runs per target; WEIM_FUZZ_VERBOSE=1
 * prints each target's time); `npm run bench:fuzz` runs the same properties with many more runs.
 */
const SEED = Number(process.env.WEIM_FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.WEIM_FUZZ_RUNS ?? 300);

describe.each(testDialects())('input property suite on %s', (dialect) => {
  let t: TestNode;
  let world: World;
  let targets: Targets;
  beforeAll(async () => {
    t = await startTestNode(dialect, FUZZ_NODE_ENV);
    world = await buildWorld(t);
    targets = fuzzTargets(world);
  });
  afterAll(async () => {
    targets?.close();
    await t?.stop();
  });

  // The targets need the world, which exists once beforeAll ran: one test runs them all, and
  // reports every target that failed (each with its counterexample, seed and path).
  it('refuses every generated wrong request and frame, changing nothing', { timeout: 600_000 }, async () => {
    const failures: string[] = [];
    for (const target of targets.list) {
      const started = Date.now();
      const details = await fc.check(target.property, { seed: SEED, numRuns: RUNS });
      if (details.failed) failures.push(visible(`${target.name}: ${fc.defaultReportMessage(details)}\n  ${(details.errorInstance as Error)?.message}`));
      if (process.env.WEIM_FUZZ_VERBOSE) console.log(`${dialect} ${target.name}: ${Date.now() - started} ms`);
    }
    expect(failures.join('\n\n')).toBe('');
  });
});
