/** A batch in flight: its conversations, and once its commit is answered, the highest seq it took in each. */
export interface InFlight {
  readonly keys: ReadonlySet<string>;
  seqs?: ReadonlyMap<string, number>;
  release?: () => void;
}

/**
 * Settles batches that run at once on two sessions in seq order where they share a conversation.
 * The database commits them in that order (the second waits for the first's row lock), but their
 * answers come on two connections, and a busy event loop may read the later commit's first: its
 * messages would be acked and their frames sent before the earlier seqs'. So a batch whose commit
 * is answered waits while a batch sharing a conversation with it has no answer yet, or has one
 * with a lower seq there and has not settled.
 */
export class SettleOrder {
  private readonly open = new Set<InFlight>();

  begin(keys: ReadonlySet<string>): InFlight {
    const batch: InFlight = { keys };
    this.open.add(batch);
    return batch;
  }

  /** The batch committed, taking `seqs`; resolves when it may settle (then call `settled`). */
  committed(batch: InFlight, seqs: ReadonlyMap<string, number>): Promise<void> {
    batch.seqs = seqs;
    const goes = this.mayGo(batch) ? Promise.resolve() : new Promise<void>((resolve) => (batch.release = resolve));
    // Its answer may be what a batch answered earlier waits for.
    this.wake();
    return goes;
  }

  /** The batch settled, or failed (nothing of it was committed): batches waiting on it may go. */
  settled(batch: InFlight): void {
    this.open.delete(batch);
    this.wake();
  }

  private wake(): void {
    for (const other of this.open) {
      if (other.release && this.mayGo(other)) {
        const release = other.release;
        other.release = undefined;
        release();
      }
    }
  }

  private mayGo(batch: InFlight): boolean {
    for (const other of this.open) {
      if (other === batch) continue;
      for (const key of batch.keys) {
        if (!other.keys.has(key)) continue;
        if (!other.seqs) return false;
        const mine = batch.seqs!.get(key);
        const theirs = other.seqs.get(key);
        if (mine !== undefined && theirs !== undefined && theirs < mine) return false;
      }
    }
    return true;
  }
}
