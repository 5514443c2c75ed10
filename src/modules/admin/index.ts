export type { AdminAuditTable } from './admin.table.js';
export { adminRoutes } from './admin.routes.js';
export { AdminService } from './admin.service.js';
