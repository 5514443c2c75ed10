export type { UsersTable, PublicUser, SelfUser, UserRow } from './users.table.js';
export { toPublicUser, toSelfUser } from './users.table.js';
export { UsersService } from './users.service.js';
export { usersRoutes } from './users.routes.js';
export { checkIdCard, hashIdCard, maskIdCard } from './id-card.js';
export { insertUser, findUserById, findUserByUsername, publicUsersByIds, updateUser } from './users.repo.js';
