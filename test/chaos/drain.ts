/** The chaos nodes' drain on SIGTERM: /readyz 503 this long, then this many socket closes a second. */
export const DRAIN_DELAY_MS = 500;
export const DRAIN_CLOSES_PER_SECOND = 5;
