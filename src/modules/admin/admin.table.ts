import type { Generated } from 'kysely';

/** `admin_audit` (migration 0040): every admin API action, as it was asked and what it did. */
export interface AdminAuditTable {
  id: Generated<number>;
  /** `ban`, `unban`, `dissolve_group`, `delete_message`. */
  action: string;
  /** The user, group or message it acted on. */
  target_id: number;
  /** JSON: the reason given, and what changed. */
  detail: string;
  /** The caller's address. */
  ip: string;
  created_at: number;
}
