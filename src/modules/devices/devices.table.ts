import type { Generated } from 'kysely';

/** `devices` (migration 0041): where a user's offline notifications go. */
export interface DevicesTable {
  id: Generated<number>;
  user_id: number;
  /** `fcm`, `apns` or `webhook`. */
  platform: string;
  token: string;
  created_at: number;
  updated_at: number;
}

export const PLATFORMS = ['fcm', 'apns', 'webhook'] as const;
export type Platform = (typeof PLATFORMS)[number];
