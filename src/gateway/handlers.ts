import type { Logger } from 'pino';
import type { Directory } from '../cluster/directory.js';
import { AppError } from '../errors.js';
import type { TokenService } from '../modules/auth/index.js';
import type { MessagesService } from '../modules/messages/index.js';
import { Cmd } from '../notify/notifier.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { type ClientCmd, type ClientFrame, CloseCode, failFrame, systemFrame, WeimCmd } from './protocol.js';

export interface HandlerDeps {
  tokens: TokenService;
  messages: MessagesService;
  directory: Directory;
  hub: Hub;
  log: Logger;
  /** Called once a socket has signed in (the gateway stops its sign-in timer). */
  onSignedIn(connection: Connection): void;
}

/** One handler per client command; a new command in the union does not compile until it is here. */
export type Handlers = { [K in ClientCmd]: (connection: Connection, frame: Extract<ClientFrame, { Cmd: K }>) => Promise<void> };

export function createHandlers(deps: HandlerDeps): Handlers {
  return {
    [Cmd.Sign]: async (connection, frame) => {
      if (connection.signedIn) {
        connection.send(failFrame('already signed in'));
        return;
      }
      let claims;
      try {
        claims = await deps.tokens.verify(frame.Body);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        connection.send(failFrame('sign-in failed: token invalid, expired or revoked'));
        connection.close(CloseCode.SignInFailed, 'sign-in failed');
        return;
      }
      if (connection.ws.readyState !== connection.ws.OPEN) return;
      connection.userId = claims.userId;
      connection.jti = claims.jti;
      connection.expiresAt = claims.exp;
      deps.onSignedIn(connection);
      if (deps.hub.add(connection)) await deps.directory.register(claims.userId);
      connection.send(systemFrame(Cmd.SignSuccess, String(claims.userId)));
    },

    [WeimCmd.Ping]: async (connection) => {
      connection.send(systemFrame(WeimCmd.Pong, ''));
    },

    [WeimCmd.Send]: async (connection, frame) => {
      const input = { type: frame.Type, body: frame.Body, clientMsgId: frame.ClientMsgId, except: { connectionId: connection.id } };
      try {
        const stored = frame.Ope === 0
          ? await deps.messages.sendToUser(connection.userId!, frame.ToId, input)
          : await deps.messages.sendToGroup(connection.userId!, frame.ToId, input);
        connection.send(JSON.stringify({
          Cmd: WeimCmd.SendAck, FromId: connection.userId, ToId: frame.ToId, Ope: frame.Ope, Type: frame.Type, Body: '',
          Id: stored.id, Seq: stored.seq, Time: stored.created_at, ClientMsgId: frame.ClientMsgId,
        }));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        connection.send(failFrame(err.message, frame.ClientMsgId));
      }
    },
  };
}
