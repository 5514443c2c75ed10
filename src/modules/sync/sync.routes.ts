import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import type { ConversationsService } from './conversations.service.js';
import { encodeCursors } from './cursors.js';
import { cursorsFrom } from './sync-request.js';
import type { ReceiptsService } from './receipts.js';
import { historyInput, readInput, receiptsInput, syncInput, targetOf } from './sync.schema.js';
import type { SyncService } from './sync.service.js';

export function syncRoutes(sync: SyncService, conversations: ConversationsService, receipts: ReceiptsService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const me = (req: unknown) => (req as AuthedRequest).auth.userId;
  router.post('/im/sync', auth, async (req, res) => {
    const input = parseInput(syncInput, req.body);
    const page = await sync.page(me(req), cursorsFrom({ Token: input.token, Cursors: input.cursors, EventSeq: input.event_seq }), input.limit);
    sendOk(res, { list: page.items.map((i) => i.frame), token: encodeCursors(page.next), more: page.more });
  });
  router.post('/im/conversation/list', auth, async (req, res) => {
    sendOk(res, { list: await conversations.list(me(req)) });
  });
  router.post('/im/chat/history', auth, async (req, res) => {
    const input = parseInput(historyInput, req.body);
    sendOk(res, await conversations.history(me(req), targetOf(input), input.before_seq, input.limit));
  });
  router.post('/im/chat/read', auth, async (req, res) => {
    const input = parseInput(readInput, req.body);
    sendOk(res, await conversations.markRead(me(req), targetOf(input), input.seq));
  });
  router.post('/im/chat/receipts', auth, async (req, res) => {
    sendOk(res, await receipts.receipt(me(req), parseInput(receiptsInput, req.body).message_id));
  });
  return router;
}
