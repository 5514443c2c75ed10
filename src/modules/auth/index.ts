export type { TokenRevocationsTable } from './revocations.table.js';
export { AuthService, type AuthLimits, type Session } from './auth.service.js';
export { TokenService, type TokenClaims } from './tokens.js';
export { authRoutes } from './auth.routes.js';
export { pruneRevocations } from './revocations.repo.js';
