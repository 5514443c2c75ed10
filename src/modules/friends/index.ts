export type { FriendsTable, FriendRequestsTable } from './friends.table.js';
export { FriendsService } from './friends.service.js';
export { friendsRoutes } from './friends.routes.js';
export { areFriends, friendIds, friendIdsOfMany, friendPairsAmong } from './friends.repo.js';
