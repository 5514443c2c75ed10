/**
 * Every rule a request can break, by its stable `reason` key: the envelope code and HTTP status
 * of API.md it answers with, and its message in English and Chinese. `{name}` in a message is a
 * parameter the thrower supplies (the type of `new AppError` demands exactly those). Keys never
 * change once shipped: clients branch on them; messages may be reworded.
 */

/** The envelope code and HTTP status of each family of rules (API.md §1). */
const family = {
  invalid: { code: 1000, status: 400 },
  conflict: { code: 1000, status: 409 },
  reused: { code: 1000, status: 422 },
  range: { code: 1000, status: 416 },
  unauthenticated: { code: 1001, status: 401 },
  notFound: { code: 1002, status: 404 },
  forbidden: { code: 1003, status: 403 },
  tooLarge: { code: 1004, status: 413 },
  rateLimited: { code: 1005, status: 429 },
  muted: { code: 1006, status: 403 },
  filtered: { code: 1007, status: 400 },
  rejected: { code: 1008, status: 403 },
  banned: { code: 1009, status: 403 },
  internal: { code: 1500, status: 500 },
  unavailable: { code: 1503, status: 503 },
} as const;

type Family = keyof typeof family;

function rule<const En extends string, const Zh extends string>(of: Family, en: En, zh: Zh) {
  return { ...family[of], en, zh };
}

export const errorReasons = {
  // Malformed or invalid input (400 / 1000).
  bad_request: rule('invalid', 'invalid request', '请求无效'),
  invalid_field: rule('invalid', '{field}: {detail}', '参数 {field} 无效：{detail}'),
  malformed_body: rule('invalid', 'malformed request body', '请求体格式错误'),
  body_not_utf8: rule('invalid', 'request bodies must be UTF-8 and not compressed', '请求体必须是 UTF-8 编码，且不能压缩'),
  body_invalid_utf8: rule('invalid', 'request body must be valid UTF-8', '请求体必须是有效的 UTF-8'),
  request_aborted: rule('invalid', 'request aborted', '请求被中断'),
  too_many_parameters: rule('invalid', 'too many parameters', '参数过多'),
  malformed_multipart: rule('invalid', 'malformed multipart body', 'multipart 请求体格式错误'),
  file_part_required: rule('invalid', '{field}: a multipart/form-data file part is required', '{field}：需要一个 multipart/form-data 文件'),
  upload_refused: rule('invalid', 'upload refused: {detail}', '上传被拒绝：{detail}'),
  file_empty: rule('invalid', 'the file is empty', '文件为空'),
  file_type_mismatch: rule('invalid', 'the file content is not {want}', '文件内容不是{want}'),
  sync_token_malformed: rule('invalid', 'sync token is malformed', '同步令牌格式错误'),
  too_many_cursors: rule('invalid', 'at most {max} cursors', '同步游标最多 {max} 个'),
  idempotency_key_invalid: rule('invalid', 'Idempotency-Key must be 1 to 255 printable ASCII characters', 'Idempotency-Key 必须是 1 到 255 个可打印的 ASCII 字符'),
  push_json_required: rule('invalid', 'push requests carry a JSON body (Content-Type: application/json)', '推送请求须携带 JSON 请求体（Content-Type: application/json）'),
  id_card_format: rule('invalid', 'id_card must be 17 digits followed by a digit or X', '身份证号必须是 17 位数字加一位数字或 X'),
  id_card_region: rule('invalid', 'id_card region code is not valid', '身份证号的地区码无效'),
  id_card_birth_date: rule('invalid', 'id_card birth date is not valid', '身份证号的出生日期无效'),
  id_card_checksum: rule('invalid', 'id_card checksum does not match', '身份证号校验位不符'),
  message_type_invalid: rule('invalid', 'type must be 0, 1, 2, 3, 4, 6 or 10', '消息类型必须是 0、1、2、3、4、6 或 10'),
  body_lone_surrogate: rule('invalid', 'body must be valid Unicode (no lone surrogate)', '消息内容必须是有效的 Unicode（不能有孤立的代理字符）'),
  body_empty: rule('invalid', 'body must not be empty', '消息内容不能为空'),
  body_control_chars: rule('invalid', 'body must not contain control characters other than tab and newlines', '消息内容不能含有制表符和换行以外的控制字符'),
  body_too_long: rule('invalid', 'body must be at most {max} characters', '消息内容最多 {max} 个字符'),
  geo_body_too_long: rule('invalid', 'geo body must be at most 1000 characters', '位置消息内容最多 1000 个字符'),
  geo_body_not_json: rule('invalid', 'geo body must be a JSON object with longitude and latitude', '位置消息内容必须是含有 longitude 和 latitude 的 JSON 对象'),
  geo_body_out_of_range: rule('invalid', 'geo body needs longitude (-180..180) and latitude (-90..90)', '位置消息需要经度（-180..180）和纬度（-90..90）'),
  media_url_too_long: rule('invalid', 'body must be a URL of at most 2048 characters', '消息内容必须是不超过 2048 个字符的 URL'),
  media_not_uploaded: rule('invalid', 'body must be the URL of {what} uploaded with /im/chat/upload', '消息内容必须是通过 /im/chat/upload 上传的{what}的 URL'),
  media_not_uploaded_or_origin: rule('invalid', 'body must be the URL of {what} uploaded with /im/chat/upload or a URL on an allowed media origin', '消息内容必须是通过 /im/chat/upload 上传的{what}的 URL，或允许的媒体域名上的 URL'),
  media_wrong_kind: rule('invalid', 'body must be the URL of {what} (this upload is {actual})', '消息内容必须是{what}的 URL（这个上传是{actual}）'),
  hook_rewrite_invalid: rule('invalid', 'body: the before-send hook rewrote it into an invalid body', '发送前回调改写后的消息内容无效'),
  mentions_not_members: rule('invalid', 'mentions: not members of this group: {ids}', '被 @ 的用户不是本群成员：{ids}'),
  mentions_group_only: rule('invalid', 'mentions: only in group messages', '只有群消息可以 @ 他人'),
  reply_not_in_conversation: rule('invalid', 'reply_to: not a message of this conversation', '回复的消息不属于这个会话'),
  edit_text_only: rule('invalid', 'only text messages can be edited', '只有文本消息可以编辑'),
  type_to_self: rule('invalid', 'cannot type to yourself', '不能向自己发送输入状态'),
  add_self: rule('invalid', 'cannot add yourself', '不能添加自己'),
  remove_self: rule('invalid', 'cannot remove yourself', '不能移除自己'),
  mute_self: rule('invalid', 'cannot mute yourself', '不能禁言自己'),
  invite_self: rule('invalid', 'user_ids: invite someone other than yourself', '不能邀请自己'),
  already_owner: rule('invalid', 'you own the group already', '你已经是群主'),
  owner_not_admin: rule('invalid', 'the owner is not an admin', '群主不是管理员'),
  already_signed_in: rule('invalid', 'already signed in', '已经登录'),
  unknown_command: rule('invalid', 'unknown command {cmd}', '未知指令 {cmd}'),
  frame_not_json: rule('invalid', 'malformed frame: not JSON', '消息帧格式错误：不是 JSON'),
  text_frames_only: rule('invalid', 'text frames only', '只接受文本帧'),
  frame_too_large: rule('invalid', 'frame too large (max {max} bytes)', '消息帧过大（最多 {max} 字节）'),
  sign_in_first: rule('invalid', 'sign in first (Cmd 3)', '请先登录（Cmd 3）'),
  invalid_frame: rule('invalid', 'invalid frame: {field}: {detail}', '无效消息帧：{field}：{detail}'),
  range_not_satisfiable: rule('range', 'range not satisfiable', '请求的范围无法满足'),

  // The state does not allow it (409 / 1000), a reused key (422 / 1000).
  username_taken: rule('conflict', 'username already taken', '用户名已被占用'),
  id_card_taken: rule('conflict', 'this ID card is already verified on another account', '该身份证已在其他账号上实名认证'),
  already_verified: rule('conflict', 'real name already verified', '已经实名认证'),
  idempotency_in_progress: rule('conflict', 'a request with this Idempotency-Key is still in progress; retry later', '使用该 Idempotency-Key 的请求仍在处理中，请稍后重试'),
  idempotency_key_reused: rule('reused', 'this Idempotency-Key was used for another request (another body or route)', '该 Idempotency-Key 已用于另一个请求（不同的请求体或路由）'),
  sync_running: rule('conflict', 'a sync is already running', '同步正在进行中'),
  group_dissolved: rule('conflict', 'the group was dissolved', '该群已解散'),
  message_withdrawn: rule('conflict', 'the message was withdrawn', '该消息已撤回'),
  withdraw_window_passed: rule('conflict', 'too late to withdraw this message', '已超过撤回时限'),
  edit_window_passed: rule('conflict', 'too late to edit this message', '已超过编辑时限'),
  too_many_reaction_kinds: rule('conflict', 'at most {max} kinds of reactions on one message', '一条消息最多 {max} 种表情回应'),
  too_many_admins: rule('conflict', 'a group has at most {max} admins', '一个群最多 {max} 个管理员'),
  owner_cannot_leave: rule('conflict', 'the owner cannot leave the group', '群主不能退出群组'),
  join_request_handled: rule('conflict', 'join request already handled', '该入群申请已处理'),
  group_full: rule('conflict', 'group is full', '群已满员'),
  already_friends: rule('conflict', 'already friends', '你们已经是好友'),
  already_member: rule('conflict', 'already a member', '已经是群成员'),

  // Who you are (401 / 1001).
  login_required: rule('unauthenticated', 'login required', '请先登录'),
  token_invalid: rule('unauthenticated', 'token invalid, expired or revoked', '登录凭证无效、已过期或已被撤销'),
  bad_credentials: rule('unauthenticated', 'wrong username or password', '用户名或密码错误'),
  push_headers_missing: rule('unauthenticated', 'push requests need X-Weim-App, X-Weim-Timestamp, X-Weim-Nonce and X-Weim-Signature', '推送请求需要 X-Weim-App、X-Weim-Timestamp、X-Weim-Nonce 和 X-Weim-Signature 请求头'),
  push_headers_malformed: rule('unauthenticated', 'malformed push signature headers', '推送签名请求头格式错误'),
  push_signature_bad: rule('unauthenticated', 'bad push signature', '推送签名错误'),
  push_timestamp_skew: rule('unauthenticated', 'X-Weim-Timestamp is too far from the server clock', 'X-Weim-Timestamp 与服务器时间相差太大'),
  nonce_replayed: rule('unauthenticated', 'this nonce was used before (a replayed request)', '该 nonce 已被使用（重放的请求）'),
  admin_token_required: rule('unauthenticated', 'admin token required (Authorization: Bearer …)', '需要管理令牌（Authorization: Bearer …）'),

  // What does not exist, or is not yours to see (404 / 1002).
  not_found: rule('notFound', 'not found', '未找到'),
  no_route: rule('notFound', 'no such route', '没有这个接口'),
  user_not_found: rule('notFound', 'user not found', '用户不存在'),
  message_not_found: rule('notFound', 'message not found', '消息不存在'),
  group_not_found: rule('notFound', 'group not found', '群组不存在'),
  conversation_not_found: rule('notFound', 'conversation not found', '会话不存在'),
  member_not_found: rule('notFound', 'not a member of this group', '该用户不是本群成员'),
  not_friends: rule('notFound', 'not friends', '你们还不是好友'),
  friend_request_not_found: rule('notFound', 'no such pending friend request', '没有这个待处理的好友申请'),
  join_request_not_found: rule('notFound', 'no such join request', '没有这个入群申请'),
  file_not_found: rule('notFound', 'no such file', '文件不存在'),
  device_not_found: rule('notFound', 'no such device', '设备不存在'),
  app_client_not_found: rule('notFound', 'no such connection of this app', '该应用没有这个连接'),
  app_node_unreachable: rule('unavailable', 'the node holding this connection did not answer in time, retry', '持有该连接的节点未及时响应，请重试'),

  // Not allowed to you (403 / 1003).
  not_group_member: rule('forbidden', 'you are not a member of this group', '你不是本群成员'),
  friends_only: rule('forbidden', 'you can only message your friends', '只能给好友发消息'),
  invite_friends_only: rule('forbidden', 'you can invite only your friends; not friends: {ids}', '只能邀请好友；以下用户不是你的好友：{ids}'),
  invite_only_group: rule('forbidden', 'this group takes members by invitation only', '该群只能通过邀请加入'),
  receipts_sender_only: rule('forbidden', 'only the sender sees who read a message', '只有发送者能查看已读名单'),
  withdraw_sender_only: rule('forbidden', 'only the sender can withdraw a message', '只有发送者能撤回消息'),
  edit_sender_only: rule('forbidden', 'only the sender can edit a message', '只有发送者能编辑消息'),
  owner_only_admins: rule('forbidden', 'only the owner names admins', '只有群主能设置管理员'),
  owner_only_transfer: rule('forbidden', 'only the owner hands the group over', '只有群主能转让群'),
  owner_only_dissolve: rule('forbidden', 'only the owner dissolves the group', '只有群主能解散群'),
  admins_only_update: rule('forbidden', 'only the owner and admins update the group', '只有群主和管理员能修改群资料'),
  admins_only_see_requests: rule('forbidden', 'only the owner and admins see join requests', '只有群主和管理员能查看入群申请'),
  admins_only_handle_requests: rule('forbidden', 'only the owner and admins handle join requests', '只有群主和管理员能处理入群申请'),
  admins_only_remove: rule('forbidden', 'only the owner and admins remove members', '只有群主和管理员能移除成员'),
  admins_only_mute_group: rule('forbidden', 'only the owner and admins mute the group', '只有群主和管理员能全员禁言'),
  admins_only_mute_members: rule('forbidden', 'only the owner and admins mute members', '只有群主和管理员能禁言成员'),
  admins_only_mention_all: rule('forbidden', 'only the owner and admins may mention everyone', '只有群主和管理员能 @ 所有人'),
  admins_only_invite: rule('forbidden', 'only the owner and admins invite to this group', '只有群主和管理员能邀请成员加入该群'),
  admin_removes_members_only: rule('forbidden', 'admins remove members only', '管理员只能移除普通成员'),
  admin_mutes_members_only: rule('forbidden', 'admins mute members only', '管理员只能禁言普通成员'),

  payload_too_large: rule('tooLarge', 'payload too large', '内容过大'),

  rate_limited: rule('rateLimited', 'too many requests, retry later', '请求过于频繁，请稍后重试'),
  too_many_in_flight: rule('rateLimited', 'too many requests in flight, retry later', '处理中的请求过多，请稍后重试'),
  too_many_idempotency_keys: rule('rateLimited', 'too many idempotency keys kept, retry later', '保存的 Idempotency-Key 过多，请稍后重试'),
  too_many_pings: rule('rateLimited', 'too many pings (Cmd 15): at most {max} a minute', 'ping（Cmd 15）过于频繁：每分钟最多 {max} 次'),
  too_many_syncs: rule('rateLimited', 'too many syncs (Cmd 22): at most {max} a minute, retry later', '同步（Cmd 22）过于频繁：每分钟最多 {max} 次，请稍后重试'),
  too_many_typing: rule('rateLimited', 'too many typing notices (Cmd 27): at most {max} a minute', '输入状态（Cmd 27）过于频繁：每分钟最多 {max} 次'),
  too_many_sockets: rule('rateLimited', 'too many open sockets for this user (at most {max}): close one, or retry later', '该用户打开的连接过多（最多 {max} 个）：请关闭一个，或稍后重试'),

  muted: rule('muted', 'you are muted in this group', '你在本群已被禁言'),
  forbidden_word: rule('filtered', '{field}: contains a word that is not allowed', '{field}：含有不允许的词语'),
  rejected: rule('rejected', 'message rejected', '消息被拒绝'),
  rejected_with_reason: rule('rejected', 'message rejected: {reason}', '消息被拒绝：{reason}'),
  banned: rule('banned', 'this account is banned', '该账号已被封禁'),
  banned_with_reason: rule('banned', 'this account is banned: {reason}', '该账号已被封禁：{reason}'),

  internal: rule('internal', 'internal error', '服务器内部错误'),
  unavailable: rule('unavailable', 'service temporarily unavailable, retry', '服务暂时不可用，请重试'),
  check_unavailable: rule('unavailable', 'message check unavailable, retry', '消息审核暂时不可用，请重试'),
} as const;

export type Reason = keyof typeof errorReasons;

/** The `{name}` placeholders of a message. */
type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;

/** A parameter's value: the same in both languages, or one text per language. */
export type ParamValue = string | number | { en: string; zh: string };

/** The parameters a reason's message needs (never, when it needs none). */
export type ParamsOf<R extends Reason> = Placeholders<(typeof errorReasons)[R]['en']>;

export type Params<R extends Reason> = [ParamsOf<R>] extends [never] ? undefined : Record<ParamsOf<R>, ParamValue>;
