/** `token_revocations`: a revoked token's id until the token would have expired anyway. */
export interface TokenRevocationsTable {
  jti: string;
  user_id: number;
  /** Epoch ms; rows past it are pruned. */
  expires_at: number;
}
