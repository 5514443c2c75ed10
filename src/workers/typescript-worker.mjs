import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

/**
 * Starts a TypeScript module on a worker thread. Node 20 does not apply the main thread's tsx
 * loader inside workers, so the module is imported after registering tsx here;
 * `workerData.module` is its file URL (the module reads the rest of `workerData` itself).
 */
// Plain JavaScript: this file is what makes TypeScript importable on the thread.
register();
await import(workerData.module);
