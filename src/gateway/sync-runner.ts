import { type Cursors, encodeCursors, type SyncService } from '../modules/sync/index.js';
import { servesCmd } from '../notify/features.js';
import type { Connection } from './connection.js';
import { syncDoneFrame } from '../notify/frames.js';

const NO_HELD: ReadonlySet<string> = new Set();

/** Most pages one sync sends before answering SyncDone with More (the client asks again). */
const MAX_PAGES = 50;

/**
 * Sends a signed-in socket everything it missed since `cursors`, page by page, then SyncDone
 * with the token of where it now is. Frames the socket has already (received live since it signed
 * in) are skipped; live stream frames are held meanwhile and sent afterwards unless the sync sent
 * them, so each frame arrives once and in seq order per stream.
 */
export async function runSync(connection: Connection, sync: SyncService, cursors: Cursors, held: ReadonlySet<string> = NO_HELD): Promise<void> {
  connection.beginSync();
  try {
    let current = cursors;
    let more = false;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await sync.page(connection.userId!, current);
      // A message this device sent may have committed before the page read it while its ack is
      // still on the way back from the writer: wait for the sends queued so far (they never
      // reject), so each one's position is known (`skip`) and the page does not send it back.
      await connection.serial;
      // A page's frames go out together: a write per 64 KB (`sendAll`), not one per frame.
      const payloads: string[] = [];
      for (const item of result.items) {
        if (connection.has(item.stream)) continue;
        // Held by the client above its cursor (`Held`): it has this one.
        if (held.size > 0 && held.has(`${item.stream.key}:${item.stream.seq}`)) continue;
        // Frames of a feature the socket did not declare are left out; the cursors still pass them.
        if (!servesCmd(connection.features, item.frame.Cmd)) continue;
        payloads.push(JSON.stringify(item.frame));
      }
      if (!(await connection.sendAll(payloads))) return;
      for (const [id, seq] of result.next.conversations) connection.synced(`c${id}`, seq);
      connection.synced('e', result.next.events);
      current = result.next;
      more = result.more;
      if (!more) break;
    }
    connection.sendFrame(syncDoneFrame(encodeCursors(current), more));
  } finally {
    connection.endSync();
  }
}
