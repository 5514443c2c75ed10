import { type DevicesService, devicesRoutes } from './modules/devices/index.js';
import { type AdminService, adminRoutes } from './modules/admin/index.js';
import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { bodyLimitGuard } from './http/body-limit.js';
import { bodyReader } from './http/body-reader.js';
import { errorHandler, notFoundHandler } from './http/error-handler.js';
import { attachmentsRoutes, type AttachmentsService, filesRoutes } from './modules/attachments/index.js';
import { authRoutes, type AuthService, type TokenService } from './modules/auth/index.js';
import { friendsRoutes, type FriendsService } from './modules/friends/index.js';
import { geoRoutes, type GeoService } from './modules/geo/index.js';
import { type GroupAdminService, groupsRoutes, type GroupsService } from './modules/groups/index.js';
import { type EditsService, messagesRoutes, type MessagesService, type ReactionsService } from './modules/messages/index.js';
import { presenceRoutes, type PresenceService } from './modules/presence/index.js';
import { type ConversationsService, type ReceiptsService, syncRoutes, type SyncService } from './modules/sync/index.js';
import { searchRoutes, type SearchService } from './modules/search/index.js';
import { usersRoutes, type UsersService } from './modules/users/index.js';
import { docsRoutes } from './ops/docs.routes.js';
import { healthRoutes, type HealthDeps } from './ops/health.routes.js';
import { webRoutes } from './ops/web.routes.js';
import type { Metrics } from './ops/metrics.js';
import type { Locale } from './i18n.js';
import type { LocalBlobStore } from './storage/blob-store.local.js';

export interface AppDeps {
  log: Logger;
  /** The language of error messages for a request whose Accept-Language names neither zh nor en. */
  defaultLocale: Locale;
  bodyLimitBytes: number;
  trustProxyHops: number;
  metrics: Metrics;
  health: Omit<HealthDeps, 'registry'>;
  tokens: TokenService;
  auth: AuthService;
  users: UsersService;
  friends: FriendsService;
  groups: GroupsService;
  groupAdmin: GroupAdminService;
  messages: MessagesService;
  sync: SyncService;
  conversations: ConversationsService;
  receipts: ReceiptsService;
  edits: EditsService;
  reactions: ReactionsService;
  presence: PresenceService;
  attachments: AttachmentsService;
  /** Set when attachments live on local disk: weim serves them under `publicPath`. */
  localFiles: { publicPath: string; store: LocalBlobStore } | undefined;
  search: SearchService;
  geo: GeoService;
  devices: DevicesService;
  /** The admin API (`admin.token`), when configured. */
  admin?: { service: AdminService; token: string };
  /** The realtime gateway's woodylan-style routes (docs/gateway.md), mounted at /api. */
  appRoutes?: Router;
  /** Adds the realtime gateway's routes that live under /api/v1 (xlvein's push). */
  addAppApiRoutes?: (api: Router) => void;
  /** Adds the realtime gateway's signed app API (/api/v1/apps/*), which reads its own raw bodies. */
  addSignedAppApiRoutes?: (api: Router) => void;
  /** The server push API's routes (signed by apps), when `push.apps` names any. */
  push: Router | undefined;
  /** The OpenAPI document of this node's API (served at /api/v1/openapi.json, read by /docs/). */
  openApi: () => unknown;
  /** The AsyncAPI document of its WebSocket (served at /api/v1/asyncapi.json). */
  asyncApi: () => unknown;
  /** Serve the web chat app at `/` (`web.enabled`). */
  web?: boolean;
}

/** The Express app. It never listens itself: the caller owns the HTTP server (tests use port 0). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers are POSTs marked no-store: an ETag (a hash of every body) buys nothing.
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxyHops);
  app.use(deps.metrics.httpTimer);
  // A router of its own: at the app's level an OPTIONS request would reach the 404 handler.
  app.use(healthRoutes({ ...deps.health, registry: deps.metrics.registry }));
  app.use(docsRoutes({ openApi: deps.openApi, asyncApi: deps.asyncApi }));
  if (deps.web) app.use(webRoutes(deps.log));

  if (deps.localFiles) app.use(deps.localFiles.publicPath, filesRoutes(deps.attachments, deps.localFiles.store));

  // Every API module adds its routes to this one router rather than mounting a router of its own: a
  // request walked through each module's router in turn, a nested dispatch with its own closures
  // and state per module (on this 2-core machine, ~20 µs of a route's ~200 in the last of ten
  // modules). Only the push API, which has middleware of its own, keeps a mounted router.
  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Expose-Headers', 'Login-Token');
    next();
  });
  // Multipart routes first: they carry their own, larger limits and stream the body themselves.
  attachmentsRoutes(deps.attachments, deps.tokens, api);
  // The push API reads its own body: its signature covers the raw text.
  if (deps.push) api.use('/push', deps.push);
  deps.addSignedAppApiRoutes?.(api);
  api.use(bodyLimitGuard(deps.bodyLimitBytes));
  api.use(bodyReader({ limitBytes: deps.bodyLimitBytes, parameterLimit: 100 }));
  authRoutes(deps.auth, deps.tokens, api);
  usersRoutes(deps.users, deps.tokens, api);
  friendsRoutes(deps.friends, deps.tokens, api);
  groupsRoutes(deps.groups, deps.groupAdmin, deps.tokens, api);
  messagesRoutes(deps.messages, deps.edits, deps.reactions, deps.tokens, api);
  syncRoutes(deps.sync, deps.conversations, deps.receipts, deps.tokens, api);
  presenceRoutes(deps.presence, deps.tokens, api);
  searchRoutes(deps.search, deps.tokens, api);
  geoRoutes(deps.geo, deps.tokens, api);
  devicesRoutes(deps.devices, deps.tokens, api);
  if (deps.admin) adminRoutes(deps.admin.service, deps.admin.token, api);
  deps.addAppApiRoutes?.(api);
  app.use('/api/v1', api);
  // woodylan's routes (their own envelope; docs/gateway.md, not the OpenAPI document of /api/v1).
  const appRoutes = deps.appRoutes;
  if (appRoutes) app.use('/api', function woodylanApi(req, res, next) {
    appRoutes(req, res, next);
  });

  app.use(notFoundHandler);
  app.use(errorHandler(deps.log, deps.defaultLocale));
  return app;
}
