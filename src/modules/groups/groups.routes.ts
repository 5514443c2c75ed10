import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import type { GroupAdminService } from './admin.service.js';
import { adminSetInput, groupCreateInput, groupIdInput, groupMembersInput, joinHandleInput, joinListInput, joinRequestInput, kickInput, muteAllInput, muteInput, transferInput, groupUpdateInput, inviteInput } from './groups.schema.js';
import { joinModeNames } from './groups.table.js';
import type { GroupsService } from './groups.service.js';

export function groupsRoutes(groups: GroupsService, admin: GroupAdminService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const me = (req: unknown) => (req as AuthedRequest).auth.userId;
  router.post('/im/group/create', auth, async (req, res) => {
    const input = parseInput(groupCreateInput, req.body);
    sendOk(res, { group: await groups.create(me(req), input.name, { joinMode: input.join_mode, avatar: input.avatar }) });
  });
  router.post('/im/group/my', auth, async (req, res) => {
    sendOk(res, { list: await groups.mine(me(req)) });
  });
  router.post('/im/group/info', auth, async (req, res) => {
    sendOk(res, await groups.infoWithNotice(parseInput(groupIdInput, req.body).group_id));
  });
  router.post('/im/group/members', auth, async (req, res) => {
    const input = parseInput(groupMembersInput, req.body);
    sendOk(res, await groups.members(me(req), input.group_id, input.page));
  });
  router.post('/im/group/join/request', auth, async (req, res) => {
    const input = parseInput(joinRequestInput, req.body);
    sendOk(res, await groups.requestJoin(me(req), input.group_id, input.reason));
  });
  router.post('/im/group/join/list', auth, async (req, res) => {
    sendOk(res, { list: await groups.pendingJoins(me(req), parseInput(joinListInput, req.body).group_id) });
  });
  router.post('/im/group/join/handle', auth, async (req, res) => {
    const input = parseInput(joinHandleInput, req.body);
    await groups.handleJoin(me(req), input.join_id, input.status === 1);
    sendOk(res, {});
  });
  router.post('/im/group/leave', auth, async (req, res) => {
    await groups.leave(me(req), parseInput(groupIdInput, req.body).group_id);
    sendOk(res, {});
  });
  router.post('/im/group/shot', auth, async (req, res) => {
    const input = parseInput(kickInput, req.body);
    await groups.kick(me(req), input.group_id, input.user_id);
    sendOk(res, {});
  });
  router.post('/im/group/admin/set', auth, async (req, res) => {
    const input = parseInput(adminSetInput, req.body);
    await admin.setAdmin(me(req), input.group_id, input.user_id, input.admin === 1);
    sendOk(res, {});
  });
  router.post('/im/group/mute', auth, async (req, res) => {
    const input = parseInput(muteInput, req.body);
    sendOk(res, await admin.mute(me(req), input.group_id, input.user_id, input.seconds));
  });
  router.post('/im/group/mute/all', auth, async (req, res) => {
    const input = parseInput(muteAllInput, req.body);
    await admin.muteAll(me(req), input.group_id, input.on === 1);
    sendOk(res, {});
  });
  router.post('/im/group/update', auth, async (req, res) => {
    const input = parseInput(groupUpdateInput, req.body);
    const { group_id: groupId, join_mode: joinMode, ...rest } = input;
    const change = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    await admin.update(me(req), groupId, { ...change, ...(joinMode === undefined ? {} : { join_mode: joinModeNames.indexOf(joinMode) }) });
    sendOk(res, {});
  });
  router.post('/im/group/invite', auth, async (req, res) => {
    const input = parseInput(inviteInput, req.body);
    sendOk(res, await groups.invite(me(req), input.group_id, input.user_ids));
  });
  router.post('/im/group/dissolve', auth, async (req, res) => {
    await admin.dissolve(me(req), parseInput(groupIdInput, req.body).group_id);
    sendOk(res, {});
  });
  router.post('/im/group/transfer', auth, async (req, res) => {
    const input = parseInput(transferInput, req.body);
    await admin.transfer(me(req), input.group_id, input.user_id);
    sendOk(res, {});
  });
  return router;
}
