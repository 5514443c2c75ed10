import { type ClientHttp2Session, connect } from 'node:http2';
import jwt from 'jsonwebtoken';
import type { PushNote, PushProvider, SendOutcome } from './provider.js';

export interface ApnsOptions {
  /** The `.p8` token key (PEM). */
  key: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id (`apns-topic`). */
  topic: string;
  /** https://api.push.apple.com (or api.sandbox.push.apple.com). */
  host: string;
  timeoutMs: number;
}

/**
 * APNs over HTTP/2 with a token key: a JWT signed ES256 (`kid` the key id, `iss` the team, renewed
 * every 50 minutes, as Apple asks for at most one an hour and at least one every 20 minutes of
 * use), one connection kept open, `POST /3/device/<token>` with `apns-topic`, `apns-push-type:
 * alert` and `apns-priority: 10`. 410, or 400 BadDeviceToken / DeviceTokenNotForTopic, means the
 * token is gone.
 */
export class ApnsProvider implements PushProvider {
  private session: ClientHttp2Session | undefined;
  private bearer: { token: string; until: number } | undefined;

  constructor(private readonly options: ApnsOptions) {}

  send(token: string, note: PushNote): Promise<SendOutcome> {
    const body = JSON.stringify({ aps: { alert: { title: note.title, body: note.body }, badge: note.badge, sound: 'default' }, ...note.data });
    return new Promise((resolve, reject) => {
      const request = this.connection().request({
        ':method': 'POST',
        ':path': `/3/device/${encodeURIComponent(token)}`,
        authorization: `bearer ${this.jwt()}`,
        'apns-topic': this.options.topic,
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'content-type': 'application/json',
      });
      request.setTimeout(this.options.timeoutMs, () => request.close());
      let status = 0;
      let text = '';
      request.on('response', (headers) => (status = Number(headers[':status'])));
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        if (status === 200) resolve('sent');
        else if (status === 410 || (status === 400 && /BadDeviceToken|DeviceTokenNotForTopic/.test(text))) resolve('invalid_token');
        else resolve('failed');
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  close(): void {
    this.session?.close();
  }

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(this.options.host);
    session.on('error', () => session.destroy());
    session.unref();
    this.session = session;
    return session;
  }

  private jwt(): string {
    if (this.bearer && this.bearer.until > Date.now()) return this.bearer.token;
    const token = jwt.sign({}, this.options.key, { algorithm: 'ES256', issuer: this.options.teamId, keyid: this.options.keyId });
    this.bearer = { token, until: Date.now() + 50 * 60_000 };
    return token;
  }
}
