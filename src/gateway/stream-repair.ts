import type { Logger } from 'pino';
import type { Cursors, SyncPage, SyncService } from '../modules/sync/index.js';
import type { Connection, StreamRepairPort } from './connection.js';
import { servesCmd } from '../notify/features.js';
import { LiveFrame, type OrderedFrame } from './wire-frame.js';

/** Pages one repair reads at most (a socket that far behind is better off syncing itself). */
const MAX_PAGES = 5;
/** Frames a repair page holds. */
const PAGE_SIZE = 500;
/** Sockets repaired at once when a whole node's are (each costs a few queries). */
const PARALLEL = 8;
/** Failures are logged at most this often (a database restart fails every socket's repair). */
const FAILURE_LOG_MS = 5000;

/**
 * Fills what a socket misses of its streams from the database, as live frames in seq order: the
 * seqs before a frame that came early (a gap: the push of the seq before was lost, or overtaken
 * past `waitMs`), or, after another node died, everything committed past each stream's position
 * (that node's last commits may never have been pushed). The socket drops what it has already,
 * so a repair that finds nothing new sends nothing.
 */
export class StreamRepair implements StreamRepairPort {
  private failuresUnlogged = 0;
  private lastFailureLogAt = 0;
  private stopped = false;
  private readonly running = new Set<Promise<boolean>>();

  constructor(
    private readonly sync: SyncService,
    readonly waitMs: number,
    private readonly log: Logger,
    /** Told of each repair: whether it could read, and how many frames it handed over. */
    private readonly observe: (ok: boolean, frames: number) => void = () => {},
  ) {}

  /**
   * No repair starts from now on (the node is stopping: its sockets are closed, and its database
   * is about to be); resolves when the ones under way are over.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
  }

  /** Reads what the socket misses in `keys` (every stream it knows when omitted) and hands it over. */
  repair(connection: Connection, keys?: readonly string[]): Promise<boolean> {
    if (this.stopped) return Promise.resolve(true);
    const run = this.read(connection, keys);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  private async read(connection: Connection, keys?: readonly string[]): Promise<boolean> {
    const userId = connection.userId;
    if (userId === undefined) return true;
    const { positions, complete } = connection.streamPositions();
    // A socket that synced knows all of its user's streams: reading them all also finds new ones.
    const wanted = keys ?? (complete ? undefined : [...positions.keys()]);
    if (wanted?.length === 0) return true;
    const cursors: Cursors = { conversations: new Map(), events: (positions.get('e') ?? 1) - 1 };
    for (const [key, next] of positions) if (key.startsWith('c')) cursors.conversations.set(Number(key.slice(1)), next - 1);
    const only = wanted && new Set(wanted.filter((k) => k.startsWith('c')).map((k) => Number(k.slice(1))));
    const events = positions.has('e') && (wanted === undefined || wanted.includes('e'));
    let frames = 0;
    try {
      let current = cursors;
      for (let page = 0; page < MAX_PAGES && !this.stopped; page++) {
        const result = await this.sync.page(userId, current, PAGE_SIZE, { conversations: only, events });
        frames += result.items.length;
        // As in a sync (sync-runner.ts): a message this socket sent may be in the page while its
        // ack is on its way; once the sends queued so far are answered, the socket has moved past
        // them and drops their frames.
        await connection.serial;
        connection.repaired(this.streamsOf(result, current, wanted, connection.features));
        if (!result.more) break;
        current = result.next;
      }
      this.observe(true, frames);
      return true;
    } catch (err) {
      this.observe(false, frames);
      // The gap stays held and is tried again, later each time (the database may be restarting).
      this.failuresUnlogged++;
      if (Date.now() - this.lastFailureLogAt >= FAILURE_LOG_MS) {
        this.log.warn({ err, failures: this.failuresUnlogged }, 'repairing sockets\' streams failed; retrying with backoff');
        this.lastFailureLogAt = Date.now();
        this.failuresUnlogged = 0;
      }
      return false;
    }
  }

  /** Repairs every socket given (after another node died), a few at a time; resolves when done. */
  async repairAll(connections: Iterable<Connection>): Promise<number> {
    const queue = [...connections].filter((c) => {
      const { complete, positions } = c.streamPositions();
      return c.signedIn && (complete || positions.size > 0);
    });
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !this.stopped) await this.repair(queue[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
    return queue.length;
  }

  /** A page as the streams it read: where each starts for the user, its frames, and whether the user left it. */
  private streamsOf(page: SyncPage, cursors: Cursors, wanted: readonly string[] | undefined, features: ReadonlySet<string>) {
    const byKey = new Map<string, { key: string; from: number; frames: OrderedFrame[]; gone: boolean }>();
    for (const [id, from] of page.start) byKey.set(`c${id}`, { key: `c${id}`, from, frames: [], gone: false });
    for (const item of page.items) {
      let stream = byKey.get(item.stream.key);
      if (!stream) {
        stream = { key: item.stream.key, from: cursors.events, frames: [], gone: false };
        byKey.set(item.stream.key, stream);
      }
      // A frame of a feature the socket did not declare holds its place in the stream, unsent.
      stream.frames.push(servesCmd(features, item.frame.Cmd) ? new LiveFrame(JSON.stringify(item.frame), item.stream) : { silent: true, stream: item.stream });
    }
    // Conversations asked for that the user is no longer in: nothing more will come, so none stays held.
    if (!page.more) {
      for (const key of wanted ?? []) if (key.startsWith('c') && !byKey.has(key)) byKey.set(key, { key, from: 0, frames: [], gone: true });
    }
    return [...byKey.values()];
  }
}
