export { requirePushApp, signPush, type PushRequest } from './push.auth.js';
export { pruneProgress, type PushProgressTable } from './push-progress.js';
export { pushRoutes, type PushRoutesOptions } from './push.routes.js';
export { PushService } from './push.service.js';
