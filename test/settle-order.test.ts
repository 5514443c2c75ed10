import { describe, expect, it } from 'vitest';
import { SettleOrder } from '../src/modules/messages/settle-order.js';

/**
 * Two batches on two sessions: the database commits those sharing a conversation in seq order,
 * but their answers come on two connections and may be read in either order. What settles when.
 */
describe('settle order of batches running at once', () => {
  const keys = (...k: string[]) => new Set(k);
  const tick = () => new Promise((r) => setImmediate(r));

  it('the later commit answered first waits for the earlier one, which settles first', async () => {
    const order = new SettleOrder();
    const first = order.begin(keys('u:1:2', 'u:3:4'));
    const second = order.begin(keys('u:1:2', 'u:5:6'));
    const settled: string[] = [];
    const secondGoes = order.committed(second, new Map([['u:1:2', 8], ['u:5:6', 1]])).then(() => {
      settled.push('second');
      order.settled(second);
    });
    await tick();
    expect(settled).toEqual([]);
    await order.committed(first, new Map([['u:1:2', 7], ['u:3:4', 3]]));
    settled.push('first');
    order.settled(first);
    await secondGoes;
    expect(settled).toEqual(['first', 'second']);
  });

  it('the earlier commit answered first waits only for the other\'s answer (which could have been the earlier); one sharing nothing goes at once', async () => {
    const order = new SettleOrder();
    const first = order.begin(keys('u:1:2'));
    const second = order.begin(keys('u:1:2'));
    const apart = order.begin(keys('g:9'));
    let firstWent = false;
    void order.committed(first, new Map([['u:1:2', 7]])).then(() => (firstWent = true));
    let apartWent = false;
    void order.committed(apart, new Map([['g:9', 40]])).then(() => (apartWent = true));
    await tick();
    expect([firstWent, apartWent]).toEqual([false, true]);
    // The second's answer (seq 8): the first goes; the second waits until the first has settled.
    let secondWent = false;
    void order.committed(second, new Map([['u:1:2', 8]])).then(() => (secondWent = true));
    await tick();
    expect([firstWent, secondWent]).toEqual([true, false]);
    order.settled(first);
    await tick();
    expect(secondWent).toBe(true);
  });

  it('a batch that failed stops holding the other; a shared conversation without new seqs (resends, refusals) orders nothing', async () => {
    const order = new SettleOrder();
    const failing = order.begin(keys('u:1:2'));
    const waiting = order.begin(keys('u:1:2', 'u:3:4'));
    let went = false;
    void order.committed(waiting, new Map([['u:3:4', 2]])).then(() => (went = true));
    await tick();
    expect(went).toBe(false);
    order.settled(failing);
    await tick();
    expect(went).toBe(true);

    const resent = order.begin(keys('u:5:6'));
    const fresh = order.begin(keys('u:5:6'));
    void order.committed(resent, new Map());
    let freshWent = false;
    void order.committed(fresh, new Map([['u:5:6', 11]])).then(() => (freshWent = true));
    await tick();
    expect(freshWent).toBe(true);
  });
});
