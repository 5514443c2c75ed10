import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import type { EditsService } from './edits.service.js';
import { editInput, reactInput, sendGroupInput, sendUserInput, withdrawInput } from './messages.schema.js';
import type { MessagesService } from './messages.service.js';
import type { ReactionsService } from './reactions.service.js';

export function messagesRoutes(messages: MessagesService, edits: EditsService, reactions: ReactionsService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const claims = (req: unknown) => (req as AuthedRequest).auth;
  router.post('/im/chat/send/user', auth, async (req, res) => {
    const input = parseInput(sendUserInput, req.body);
    const { userId, jti } = claims(req);
    sendOk(res, await messages.sendToUser(userId, input.to_uid, { type: input.type, body: input.body, clientMsgId: input.client_msg_id, replyTo: input.reply_to, mentions: input.mentions, except: { jti } }));
  });
  router.post('/im/chat/send/group', auth, async (req, res) => {
    const input = parseInput(sendGroupInput, req.body);
    const { userId, jti } = claims(req);
    sendOk(res, await messages.sendToGroup(userId, input.group_id, { type: input.type, body: input.body, clientMsgId: input.client_msg_id, replyTo: input.reply_to, mentions: input.mentions, except: { jti } }));
  });
  router.post('/im/chat/withdraw/user', auth, async (req, res) => {
    await messages.withdraw(claims(req).userId, parseInput(withdrawInput, req.body).message_id, 0);
    sendOk(res, {});
  });
  router.post('/im/chat/withdraw/group', auth, async (req, res) => {
    await messages.withdraw(claims(req).userId, parseInput(withdrawInput, req.body).message_id, 1);
    sendOk(res, {});
  });
  router.post('/im/chat/react', auth, async (req, res) => {
    const input = parseInput(reactInput, req.body);
    sendOk(res, await reactions.react(claims(req).userId, input.message_id, input.emoji, input.on === 1));
  });
  for (const [path, ope] of [['/im/chat/edit/user', 0], ['/im/chat/edit/group', 1]] as const) {
    router.post(path, auth, async (req, res) => {
      const input = parseInput(editInput, req.body);
      sendOk(res, await edits.edit(claims(req).userId, input.message_id, ope, input.body));
    });
  }
  return router;
}
