import type { Generated } from 'kysely';

/** `apps` (migration 0043): the realtime gateway's tenants. */
export interface AppsTable {
  id: Generated<number>;
  /** The app's name in every call and connection (woodylan's systemId): 1–64 of a-z A-Z 0-9 _ -. */
  app_key: string;
  name: string;
  /** Signs the app backend's calls (HMAC) and its clients' tokens (HS256); 32+ characters. */
  secret: string;
  /** 0: its connections are refused and its calls answered 403. */
  enabled: Generated<number>;
  /** How /api/* answers this app: `woodylan`, or `goravel-socket` (its envelopes, docs/gateway.md). */
  api: Generated<string>;
  created_at: number;
  updated_at: number;
}
