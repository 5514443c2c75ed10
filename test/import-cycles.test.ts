import { parseCircular, parseDependencyTree } from 'dpdm';
import { describe, expect, it } from 'vitest';

/**
 * No module imports itself at run time, through any chain (issue 20): a cycle makes the order in
 * which modules initialise depend on which one is loaded first, and it is how modules that should
 * stack (conversations ← messages, groups, friends ← sync) grow into one. Type-only imports are
 * left out (`transform`: TypeScript erases them). Every file of the server, the client SDK and the
 * web app is an entry, so a cycle among files main.ts does not load is found too.
 */
describe('import cycles', () => {
  it('src/ and web/ have no runtime import cycle', async () => {
    const tree = await parseDependencyTree(['src/**/*.ts', 'web/**/*.ts'], { transform: true, skipDynamicImports: false, tsconfig: 'tsconfig.json' });
    const files = Object.keys(tree).filter((f) => f.startsWith('src/') || f.startsWith('web/'));
    // The parse saw the project (not an empty glob): a test that cannot fail is a defect.
    expect(files.length).toBeGreaterThan(150);
    const cycles = parseCircular(tree).map((cycle) => cycle.join(' → '));
    expect(cycles, `runtime import cycles:\n${cycles.join('\n')}`).toEqual([]);
  }, 60_000);
});
