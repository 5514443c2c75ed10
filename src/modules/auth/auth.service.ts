import bcrypt from 'bcrypt';
import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError, isUniqueViolation } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { IndexHook } from '../../search/index.js';
import { findUserByUsername, insertUser, type PublicUser, toPublicUser } from '../users/index.js';
import type { TokenClaims, TokenService } from './tokens.js';

export interface AuthLimits {
  loginPerUser: RateLimiter;
  loginPerIp: RateLimiter;
  registerPerIp: RateLimiter;
}

export interface Session {
  t: string;
  user: PublicUser;
}

/** Register, login, logout. Passwords are bcrypt hashes; sessions are JWTs. */
export class AuthService {
  /** Compared against when the username does not exist, so both paths cost one bcrypt. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly db: Db,
    private readonly tokens: TokenService,
    private readonly limits: AuthLimits,
    private readonly bcryptCost: number,
    /** Avatar URL new users get (`uploads.default_avatar`). */
    private readonly defaultAvatar: string,
    private readonly index: IndexHook,
    private readonly clock: () => number = Date.now,
  ) {
    this.dummyHash = bcrypt.hash('weim-dummy-password', bcryptCost);
  }

  async register(username: string, password: string, ip: string): Promise<Session> {
    await this.limits.registerPerIp.consume(ip);
    const passwordHash = await bcrypt.hash(password, this.bcryptCost);
    const now = this.clock();
    let id: number;
    try {
      id = await transact(this.db, async (trx) => {
        const newId = await insertUser(trx, {
          username,
          password_hash: passwordHash,
          nickname: username,
          avatar: this.defaultAvatar,
          created_at: now,
          updated_at: now,
        });
        await this.index.onChange(trx, { kind: 'user', id: newId });
        return newId;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('username_taken');
      throw err;
    }
    return { t: this.tokens.issue(id), user: toPublicUser({ id, username, nickname: username, avatar: this.defaultAvatar, sex: 0 }) };
  }

  async login(username: string, password: string, ip: string): Promise<Session> {
    await this.limits.loginPerIp.consume(ip);
    await this.limits.loginPerUser.consume(username);
    const user = await findUserByUsername(this.db, username);
    const matches = await bcrypt.compare(password, user?.password_hash ?? (await this.dummyHash));
    if (!user || !matches) throw new AppError('bad_credentials');
    // Told only to whoever knows the password.
    if (user.banned_at !== null) throw (user.ban_reason ? new AppError('banned_with_reason', { reason: user.ban_reason }) : new AppError('banned'));
    await this.limits.loginPerUser.reset(username);
    return { t: this.tokens.issue(user.id), user: toPublicUser(user) };
  }

  async logout(claims: TokenClaims): Promise<void> {
    await this.tokens.revoke(claims);
  }

  /** Ends every session of the user, on every device, this one included. */
  async logoutEverywhere(userId: number): Promise<void> {
    await this.tokens.revokeAll(userId);
  }
}
