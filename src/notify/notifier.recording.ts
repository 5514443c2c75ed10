import type { Notification, Notifier } from './notifier.js';

/**
 * Keeps the most recent notifications in memory. The single-node default until the gateway
 * delivers them to sockets; tests read `recent` to assert what would have been pushed.
 */
export class RecordingNotifier implements Notifier {
  readonly recent: Notification[] = [];

  constructor(private readonly capacity = 10_000) {}

  notify(notification: Notification): void {
    this.recent.push(notification);
    if (this.recent.length > this.capacity) this.recent.splice(0, this.recent.length - this.capacity);
  }
}
