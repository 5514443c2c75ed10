/**
 * Where a client stands: for each conversation the highest `Seq` below which it holds everything,
 * and the same for its event stream. What a sign-in presents (`Sync`) and what it persists.
 */
export interface CursorState {
  /** Conversation id → highest seq held with nothing missing below it. */
  conversations: Record<string, number>;
  /** Highest event seq held with nothing missing below it. */
  events: number;
}

/** Where cursors are kept between runs: memory (tests, servers), `localStorage` (browsers), or your own. */
export interface CursorStore {
  load(): Promise<CursorState | undefined> | CursorState | undefined;
  save(state: CursorState): Promise<void> | void;
}

export class MemoryCursorStore implements CursorStore {
  private state: CursorState | undefined;
  load(): CursorState | undefined {
    return this.state && structuredClone(this.state);
  }
  save(state: CursorState): void {
    this.state = structuredClone(state);
  }
}

/** What LocalStorageCursorStore needs of `localStorage`. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Browsers: the cursors under one `localStorage` key (per user: give each user its own key). */
export class LocalStorageCursorStore implements CursorStore {
  private readonly storage: KeyValueStorage;

  constructor(private readonly key: string, storage?: KeyValueStorage) {
    const found = storage ?? (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (!found) throw new Error('no localStorage here: pass a storage');
    this.storage = found;
  }
  load(): CursorState | undefined {
    const text = this.storage.getItem(this.key);
    if (!text) return undefined;
    try {
      const state = JSON.parse(text) as CursorState;
      return typeof state.events === 'number' && state.conversations && typeof state.conversations === 'object' ? state : undefined;
    } catch {
      return undefined;
    }
  }
  save(state: CursorState): void {
    this.storage.setItem(this.key, JSON.stringify(state));
  }
}

/**
 * One stream's order on the client: each seq is let through once, in order. A seq that comes early
 * is held until the ones before it arrive; `gapSince` says since when something is missing.
 *
 * A stream the client has no cursor for starts at the first seq the server sends it: the server
 * sends each socket a stream in order from where the user's part of it begins (a group joined at
 * seq 57 starts there), so nothing before that frame is the client's. The answer to its own send
 * does not come in that order (another device's message may still be on its way from another
 * node), so it starts a stream only at seq 1; otherwise it waits for the server's first frame.
 */
export class StreamGate<T> {
  private held = new Map<number, T>();
  /** When the oldest seq still missing was first noticed (0: nothing missing). */
  gapSince = 0;

  constructor(public cursor: number | undefined = undefined) {}

  /** The seqs held above the cursor, waiting for the ones before them (a sync need not send them again). */
  heldSeqs(): number[] {
    return [...this.held.keys()];
  }

  /**
   * Takes `seq` (with its item); returns what may now be delivered, in order. `inOrder`: it came in
   * the server's order for this socket (a frame), not as the answer to a send.
   */
  take(seq: number, item: T, now: number, inOrder = true): T[] {
    if (this.cursor === undefined) {
      if (!inOrder && seq > 1) {
        this.held.set(seq, item);
        this.gapSince ||= now;
        return [];
      }
      this.cursor = seq - 1;
    }
    if (seq <= this.cursor || this.held.has(seq)) return [];
    this.held.set(seq, item);
    const out: T[] = [];
    let cursor = this.cursor;
    while (this.held.has(cursor + 1)) {
      out.push(this.held.get(cursor + 1)!);
      this.held.delete(++cursor);
    }
    this.cursor = cursor;
    this.gapSince = this.held.size === 0 ? 0 : this.gapSince || now;
    return out;
  }
}
