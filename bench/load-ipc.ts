/** A load process's side of its orchestrator's requests (bench/*-load.ts, forked with an IPC channel). */

/** One request: an id to answer under, the operation, its fields. */
export type LoadRequest = { id: number; op: string; [key: string]: unknown };

/**
 * Answers each request from the orchestrator with `handle`'s result or its error, under the
 * request's id; after answering `close` it lets go of the channel, and it exits when the
 * orchestrator dies or lets go.
 */
export function serveLoadRequests(handle: (request: LoadRequest) => Promise<unknown>): void {
  process.on('message', (message: unknown) => {
    const request = message as LoadRequest;
    handle(request).then(
      (result) => {
        // Let go only once the answer is out: disconnecting right after send() could drop it, and
        // the orchestrator then saw the process exit (0) with `close` unanswered.
        process.send!({ id: request.id, result }, undefined, {}, () => {
          if (request.op === 'close') process.disconnect();
        });
      },
      (err: unknown) => process.send!({ id: request.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
