import { z } from 'zod';
import { idField, idListForms, numeric, textField } from '../../http/validate.js';
import { joinModeNames } from './groups.table.js';

export const pageField = numeric(z.number({ error: 'must be a page number' }).int().min(1).max(10_000)).optional().default(1);

/** How people join: `approval` (the default), `open` or `invite`. */
const joinModeField = z.enum(joinModeNames, { error: 'must be approval, open or invite' });
/** The group's picture: an http(s) URL or a path on this server (an upload's url), at most 255 characters; '' clears it. */
const avatarField = z
  .string({ error: 'must be a URL' })
  .max(255, 'must be at most 255 characters')
  .regex(/^$|^(https?:\/\/[^\s"'<>\\]+|\/[^\s"'<>\\]*)$/, 'must be an http(s) URL or a path on this server');

export const groupCreateInput = z.object({ name: textField(1, 30), join_mode: joinModeField.optional(), avatar: avatarField.optional() });
export const groupIdInput = z.object({ group_id: idField });
export const groupMembersInput = z.object({ group_id: idField, page: pageField });
export const joinRequestInput = z.object({ group_id: idField, reason: textField(0, 100).optional().default('') });
export const joinListInput = z.object({ group_id: idField.optional() });
/** status: 1 accept; 0 or -1 reject. */
export const joinHandleInput = z.object({
  join_id: idField,
  status: numeric(z.number({ error: 'must be 1 (accept), 0 or -1 (reject)' }).int().refine((s) => [1, 0, -1].includes(s), 'must be 1 (accept), 0 or -1 (reject)')),
});
export const kickInput = z.object({ group_id: idField, user_id: idField });
const flag = (what: string) => numeric(z.union([z.literal(0), z.literal(1)], { error: `must be 1 (${what}) or 0` }));
export const adminSetInput = z.object({ group_id: idField, user_id: idField, admin: flag('admin') });
export const muteInput = z.object({ group_id: idField, user_id: idField, seconds: numeric(z.number({ error: 'must be 0 to 31536000 seconds' }).int().min(0).max(31_536_000)) });
export const muteAllInput = z.object({ group_id: idField, on: flag('on') });
export const transferInput = z.object({ group_id: idField, user_id: idField });
export const groupUpdateInput = z
  .object({ group_id: idField, name: textField(1, 30).optional(), notice: textField(0, 500).optional(), avatar: avatarField.optional(), join_mode: joinModeField.optional() })
  .refine((v) => v.name !== undefined || v.notice !== undefined || v.avatar !== undefined || v.join_mode !== undefined, { message: 'give name, notice, avatar or join_mode', path: ['name'] });
/** Most users one invite adds. */
export const MAX_INVITEES = 50;
export const inviteInput = z.object({ group_id: idField, user_ids: z.union(idListForms(MAX_INVITEES), { error: `must be a list of 1 to ${MAX_INVITEES} user ids` }) });
