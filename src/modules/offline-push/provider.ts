/** What a phone shows: a title, a body, the app's badge, and data for the app (conversation, seq, message). */
export interface PushNote {
  title: string;
  body: string;
  badge: number;
  data: Record<string, string>;
}

/** sent; the provider says the token is gone (the device is forgotten); or failed (retried a few times). */
export type SendOutcome = 'sent' | 'invalid_token' | 'failed';

export interface PushProvider {
  send(token: string, note: PushNote): Promise<SendOutcome>;
}
