export { PresenceService, type PresenceOptions } from './presence.service.js';
export { presenceRoutes } from './presence.routes.js';
