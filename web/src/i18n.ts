/** The UI's strings in English and Chinese; the language follows navigator.language until toggled. */
const en = {
  appName: 'weim',
  username: 'Username',
  password: 'Password',
  login: 'Log in',
  register: 'Register',
  logout: 'Log out',
  loginHint: '6–20 letters, digits or _; password 6+ characters',
  chats: 'Chats',
  friends: 'Friends',
  groups: 'Groups',
  nearby: 'Nearby',
  noChats: 'No conversations yet. Find friends or join a group to start one.',
  pickChat: 'Pick a conversation, or start one from Friends or Groups.',
  typeMessage: 'Write a message…',
  send: 'Send',
  attach: 'Attach',
  loadEarlier: 'Load earlier messages',
  noMore: 'The beginning of the conversation',
  withdrawn: 'message withdrawn',
  picture: '[picture]',
  file: '[file]',
  voice: '[voice]',
  video: '[video]',
  location: '[location]',
  sending: 'sending…',
  read: 'read',
  failed: 'not sent',
  reconnecting: 'Connection lost, reconnecting…',
  connecting: 'Connecting…',
  syncing: 'Catching up…',
  signedOut: 'Signed out on the server. Please log in again.',
  searchUsers: 'Search people by name',
  search: 'Search',
  add: 'Add',
  requested: 'Requested',
  isFriend: 'Friend',
  requests: 'Friend requests',
  accept: 'Accept',
  reject: 'Reject',
  myFriends: 'My friends',
  noFriends: 'No friends yet: search for someone above.',
  online: 'online',
  offline: 'offline',
  message: 'Message',
  newGroup: 'New group name',
  create: 'Create',
  searchGroups: 'Search groups by name',
  join: 'Join',
  member: 'Member',
  joinRequests: 'Join requests',
  myGroups: 'My groups',
  noGroups: 'No groups yet: create one or search above.',
  members: 'Members',
  owner: 'owner',
  admin: 'admin',
  nearbyHint: 'Share your location to see people near you (within 100 km).',
  findNearby: 'Find people nearby',
  noNearby: 'Nobody nearby yet.',
  noLocation: 'Location is not available',
  noResults: 'No results.',
  atLeast2: 'Type at least 2 characters',
  requestSent: 'Friend request sent',
  nowFriends: 'You are now friends',
  joinSent: 'Join request sent',
  groupCreated: 'Group created',
  uploadFailed: 'Upload failed',
  you: 'You',
  language: 'EN',
  switchLanguage: 'Switch to 中文',
  km: 'km',
  m: 'm',
} as const;

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  appName: 'weim',
  username: '用户名',
  password: '密码',
  login: '登录',
  register: '注册',
  logout: '退出',
  loginHint: '用户名 6–20 位字母、数字或 _；密码至少 6 位',
  chats: '消息',
  friends: '好友',
  groups: '群组',
  nearby: '附近',
  noChats: '还没有会话。去添加好友或加入群组吧。',
  pickChat: '选择一个会话，或从好友、群组开始聊天。',
  typeMessage: '输入消息…',
  send: '发送',
  attach: '附件',
  loadEarlier: '查看更早的消息',
  noMore: '已经是最早的消息',
  withdrawn: '消息已撤回',
  picture: '[图片]',
  file: '[文件]',
  voice: '[语音]',
  video: '[视频]',
  location: '[位置]',
  sending: '发送中…',
  read: '已读',
  failed: '发送失败',
  reconnecting: '连接已断开，正在重连…',
  connecting: '正在连接…',
  syncing: '正在同步…',
  signedOut: '已在服务器端退出，请重新登录。',
  searchUsers: '按名字搜索用户',
  search: '搜索',
  add: '添加',
  requested: '已申请',
  isFriend: '好友',
  requests: '好友申请',
  accept: '接受',
  reject: '拒绝',
  myFriends: '我的好友',
  noFriends: '还没有好友：在上面搜索吧。',
  online: '在线',
  offline: '离线',
  message: '发消息',
  newGroup: '新群组名称',
  create: '创建',
  searchGroups: '按名称搜索群组',
  join: '加入',
  member: '已加入',
  joinRequests: '入群申请',
  myGroups: '我的群组',
  noGroups: '还没有群组：创建一个或在上面搜索。',
  members: '成员',
  owner: '群主',
  admin: '管理员',
  nearbyHint: '分享你的位置，查看附近 100 公里内的人。',
  findNearby: '查找附近的人',
  noNearby: '附近还没有人。',
  noLocation: '无法获取位置',
  noResults: '没有结果。',
  atLeast2: '请至少输入 2 个字符',
  requestSent: '好友申请已发送',
  nowFriends: '你们已经是好友了',
  joinSent: '入群申请已发送',
  groupCreated: '群组已创建',
  uploadFailed: '上传失败',
  you: '我',
  language: '中文',
  switchLanguage: 'Switch to English',
  km: '公里',
  m: '米',
};

export type Lang = 'en' | 'zh';
const LANG_KEY = 'weim:lang';

function initial(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === 'en' || saved === 'zh') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

let lang: Lang = initial();

export function t(key: Key): string {
  return (lang === 'zh' ? zh : en)[key];
}

export function currentLang(): Lang {
  return lang;
}

export function toggleLang(): void {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
