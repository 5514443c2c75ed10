import jwt from 'jsonwebtoken';
import type { PushNote, PushProvider, SendOutcome } from './provider.js';

/** The fields of a Firebase service-account JSON file that sending needs. */
export interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri: string;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * FCM HTTP v1: an OAuth 2 access token from the service account (a JWT signed RS256 with its
 * private key, exchanged at its `token_uri`, kept until a minute before it expires), then
 * `POST {endpoint}/v1/projects/{project}/messages:send`. 404, or an error whose details say
 * UNREGISTERED or INVALID_ARGUMENT, means the token is gone; 401 fetches a new access token once.
 */
export class FcmProvider implements PushProvider {
  private access: { token: string; until: number } | undefined;

  constructor(
    private readonly account: ServiceAccount,
    private readonly options: { endpoint: string; timeoutMs: number },
  ) {}

  async send(token: string, note: PushNote): Promise<SendOutcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${this.options.endpoint}/v1/projects/${encodeURIComponent(this.account.project_id)}/messages:send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await this.accessToken()}` },
        body: JSON.stringify({
          message: {
            token,
            notification: { title: note.title, body: note.body },
            data: note.data,
            android: { priority: 'high' },
            apns: { payload: { aps: { badge: note.badge } } },
          },
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await response.text();
      if (response.ok) return 'sent';
      if (response.status === 401 && attempt === 0) {
        this.access = undefined;
        continue;
      }
      if (response.status === 404 || /UNREGISTERED|INVALID_ARGUMENT/.test(text)) return 'invalid_token';
      return 'failed';
    }
    return 'failed';
  }

  private async accessToken(): Promise<string> {
    if (this.access && this.access.until > Date.now()) return this.access.token;
    const assertion = jwt.sign({ scope: SCOPE }, this.account.private_key, { algorithm: 'RS256', issuer: this.account.client_email, audience: this.account.token_uri, expiresIn: 3600 });
    const response = await fetch(this.account.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const answer = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!response.ok || !answer.access_token) throw new Error(`FCM token exchange answered ${response.status}`);
    this.access = { token: answer.access_token, until: Date.now() + Math.max(60, (answer.expires_in ?? 3600) - 60) * 1000 };
    return this.access.token;
  }
}
