import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Connection ids of app connections (woodylan's clientId). An id names the node that holds the
 * connection, so a send to it goes to that node alone (as woodylan's encrypted ip:port did), and
 * carries a MAC over the app, the node and 9 random bytes: it cannot be forged, guessed from
 * another, or used by another app (a valid id of app B is "no such client" to app A).
 *
 *   <node, base64url>.<random, 12 chars>.<MAC, 16 chars>
 */
const SHAPE = /^[A-Za-z0-9_-]{1,160}\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{16}$/;

export class ClientIds {
  private readonly key: Buffer;

  /** `secret`: shared by every node of the cluster (derived from `auth.jwt_secret`). */
  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('weim app client ids').digest();
  }

  issue(app: string, node: string): string {
    const nodePart = Buffer.from(node).toString('base64url');
    const random = randomBytes(9).toString('base64url');
    return `${nodePart}.${random}.${this.mac(app, nodePart, random)}`;
  }

  /** The node holding `id`, when `id` is one this cluster issued to `app`; else undefined. */
  nodeOf(app: string, id: unknown): string | undefined {
    if (typeof id !== 'string' || !SHAPE.test(id)) return undefined;
    const [nodePart, random, mac] = id.split('.') as [string, string, string];
    if (!timingSafeEqual(Buffer.from(this.mac(app, nodePart, random)), Buffer.from(mac))) return undefined;
    return Buffer.from(nodePart, 'base64url').toString();
  }

  private mac(app: string, nodePart: string, random: string): string {
    return createHmac('sha256', this.key).update(`${app}\n${nodePart}\n${random}`).digest().subarray(0, 12).toString('base64url');
  }
}
