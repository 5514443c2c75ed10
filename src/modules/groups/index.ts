export type { GroupsTable, GroupMembersTable, GroupJoinRequestsTable, GroupEventsTable, Group } from './groups.table.js';
export { GroupsService, type GroupsOptions } from './groups.service.js';
export { GroupAdminService } from './admin.service.js';
export { groupsRoutes } from './groups.routes.js';
export { isDissolved, memberIds, memberRole, sendRefusal } from './groups.repo.js';
export { Role } from './groups.table.js';
export { GROUP_COLUMNS, JoinMode, toGroup } from './groups.table.js';
