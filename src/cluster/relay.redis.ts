import DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import type { Batch, Relay } from './bus.js';
import { encodeBatch } from './bus.redis.js';
import { BY_NODE_FROM } from './directory.redis.js';
import type { Discovery } from './discovery.js';
import { busChannel, userKey } from './redis-keys.js';

/** Batches one script call carries at most. */
const MAX_PER_CALL = 500;

/**
 * KEYS: the users' sets of nodes, batch after batch. ARGV: this node, the bus's channel prefix,
 * the number of live nodes and their ids, then per batch the number of its keys and the batch as
 * published. Each batch is published to the live nodes in the union of its sets but this one,
 * in order; returns per batch 1 if this node is among them.
 */
const RELAY = `local self, channel = ARGV[1], ARGV[2]
local liveCount = tonumber(ARGV[3])
local live = {}
for i = 1, liveCount do live[ARGV[3 + i]] = true end
local here = {}
local k, a = 1, 4 + liveCount
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local wire = ARGV[a + 1]
  local held = 0
  for _, node in ipairs(redis.call('SUNION', unpack(KEYS, k, k + n - 1))) do
    if live[node] then
      if node == self then held = 1 else redis.call('PUBLISH', channel .. node, wire) end
    end
  end
  here[#here + 1] = held
  k = k + n
  a = a + 2
end
return here`;

type RelayCommand = (...args: Array<string | number>) => Promise<number[]>;

/**
 * The cluster's relay (Redis): the few-user batches of one turn of the event loop (a writer batch's
 * 1:1 messages, answered together) go in one script call that looks each one's users up (SUNION)
 * and publishes it to their other live nodes, instead of a SUNION and then a PUBLISH each: one
 * command and one round trip a turn instead of two a message, for this node and for Redis.
 * Batches leave in the order they were relayed (one connection, run in order by the script).
 */
export class RedisRelay implements Relay {
  readonly maxUsers = BY_NODE_FROM - 1;
  private readonly command: RelayCommand;
  private readonly pending = new DataLoader<Batch, boolean>((batches) => this.run(batches), {
    cache: false,
    maxBatchSize: MAX_PER_CALL,
    batchScheduleFn: (run) => setImmediate(run),
  });

  constructor(
    private readonly nodeId: string,
    redis: Redis,
    private readonly discovery: Pick<Discovery, 'liveNodes'>,
    /** Told when a call failed: its batches may be lost (the bus tells every node to resync). */
    private readonly failed: () => void,
    private readonly prefix = 'weim',
  ) {
    // EVALSHA, the script sent once per connection (ioredis loads it again after a reconnect).
    if (!('weimRelay' in redis)) redis.defineCommand('weimRelay', { lua: RELAY });
    this.command = (redis as unknown as { weimRelay: RelayCommand }).weimRelay.bind(redis);
  }

  relay(batch: Batch): Promise<boolean> {
    if (batch.userIds.length === 0 || batch.userIds.length > this.maxUsers) return Promise.reject(new Error(`a relayed batch names 1 to ${this.maxUsers} users`));
    return this.pending.load(batch);
  }

  private async run(batches: readonly Batch[]): Promise<boolean[]> {
    const live = this.discovery.liveNodes();
    const keys: string[] = [];
    const args: Array<string | number> = [this.nodeId, busChannel(this.prefix, ''), live.length, ...live];
    for (const batch of batches) {
      for (const userId of batch.userIds) keys.push(userKey(this.prefix, userId));
      args.push(batch.userIds.length, encodeBatch(batch));
    }
    try {
      const here = await this.command(keys.length, ...keys, ...args);
      return here.map((held) => held === 1);
    } catch (err) {
      this.failed();
      throw err;
    }
  }
}
