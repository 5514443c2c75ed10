export type { DevicesTable, Platform } from './devices.table.js';
export { PLATFORMS } from './devices.table.js';
export { type Device, DevicesService, MAX_DEVICES } from './devices.service.js';
export { devicesRoutes } from './devices.routes.js';
