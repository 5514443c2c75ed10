export type { GroupsTable, GroupMembersTable, GroupJoinRequestsTable, Group } from './groups.table.js';
export { GroupsService, type GroupsOptions } from './groups.service.js';
export { groupsRoutes } from './groups.routes.js';
export { memberIds, memberRole } from './groups.repo.js';
export { Role } from './groups.table.js';
export { toGroup } from './groups.table.js';
