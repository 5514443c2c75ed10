import type { Notification, Notifier } from './notifier.js';

/**
 * Passes every notification on to `next` and keeps the most recent ones in memory, so tests can
 * assert what was pushed without a socket. Enabled by `NodeOptions.recordNotifications`.
 */
export class RecordingNotifier implements Notifier {
  readonly recent: Notification[] = [];

  constructor(
    private readonly next: Notifier,
    private readonly capacity = 10_000,
  ) {}

  notify(notification: Notification): void {
    this.recent.push(notification);
    if (this.recent.length > this.capacity) this.recent.splice(0, this.recent.length - this.capacity);
    this.next.notify(notification);
  }
}
