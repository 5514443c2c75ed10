import { Router } from 'express';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import { requireAdmin } from './admin.auth.js';
import { banInput, groupInput, lookupInput, messageInput, userIdInput } from './admin.schema.js';
import type { AdminService } from './admin.service.js';

/** `/admin/*`: the operator's routes, behind `admin.token` (never a user's token). */
export function adminRoutes(admin: AdminService, token: string, router: Router = Router()): Router {
  const auth = requireAdmin(token);
  const ip = (req: { ip?: string }) => req.ip ?? '';
  router.post('/admin/users/ban', auth, async (req, res) => {
    const input = parseInput(banInput, req.body);
    await admin.ban(input.user_id, input.reason, ip(req));
    sendOk(res, {});
  });
  router.post('/admin/users/unban', auth, async (req, res) => {
    await admin.unban(parseInput(userIdInput, req.body).user_id, ip(req));
    sendOk(res, {});
  });
  router.post('/admin/users/lookup', auth, async (req, res) => {
    sendOk(res, await admin.lookup(parseInput(lookupInput, req.body)));
  });
  router.post('/admin/groups/dissolve', auth, async (req, res) => {
    const input = parseInput(groupInput, req.body);
    await admin.dissolveGroup(input.group_id, input.reason, ip(req));
    sendOk(res, {});
  });
  router.post('/admin/messages/delete', auth, async (req, res) => {
    const input = parseInput(messageInput, req.body);
    await admin.deleteMessage(input.message_id, input.reason, ip(req));
    sendOk(res, {});
  });
  router.post('/admin/stats', auth, async (_req, res) => {
    sendOk(res, await admin.stats());
  });
  return router;
}
