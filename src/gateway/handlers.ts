import type { Logger } from 'pino';
import type { Directory } from '../cluster/directory.js';
import { AppError } from '../errors.js';
import { localeOf } from '../i18n.js';
import type { TokenService } from '../modules/auth/index.js';
import type { MessagesService, TypingService } from '../modules/messages/index.js';
import type { PresenceService } from '../modules/presence/index.js';
import { type ConversationsService, cursorsFrom, heldKeys, type SyncService } from '../modules/sync/index.js';
import { acceptedFeatures } from '../notify/features.js';
import { Cmd } from '../notify/cmd.js';
import { pongFrame, sendAckFrame, signedInFrame } from '../notify/frames.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { type ClientCmd, type ClientFrame, CloseCode } from './protocol.js';
import { runSync } from './sync-runner.js';

export interface HandlerDeps {
  tokens: TokenService;
  messages: MessagesService;
  typing: TypingService;
  sync: SyncService;
  conversations: ConversationsService;
  presence: PresenceService;
  directory: Directory;
  hub: Hub;
  log: Logger;
  /** Called once a socket has signed in (the gateway stops its sign-in timer). */
  onSignedIn(connection: Connection): void;
  /** Counts the socket against its user's cap: false when the user holds as many as allowed (or it closed meanwhile). */
  admitUser(connection: Connection, userId: number): Promise<boolean>;
  /** The cap `admitUser` applies (for the refusal's text). */
  maxSocketsPerUser: number;
}

/** One handler per client command; a new command in the union does not compile until it is here. */
export type Handlers = { [K in ClientCmd]: (connection: Connection, frame: Extract<ClientFrame, { Cmd: K }>) => Promise<void> };

export function createHandlers(deps: HandlerDeps): Handlers {
  /** Cmd 3 itself: the token, the optional cursors, then the hub, the directory and the answer. */
  const signIn = async (connection: Connection, frame: Extract<ClientFrame, { Cmd: typeof Cmd.Sign }>) => {
    if (frame.Lang) connection.locale = localeOf(frame.Lang, connection.locale);
    let claims;
    try {
      claims = await deps.tokens.verify(frame.Body);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      connection.fail(err);
      connection.close(CloseCode.SignInFailed, 'sign-in failed');
      return;
    }
    if (connection.ws.readyState !== connection.ws.OPEN) return;
    // Cursors are checked before the socket joins the hub, so a bad one changes nothing.
    const cursors = frame.Sync ? cursorsOrFail(connection, frame.Sync) : undefined;
    if (frame.Sync && !cursors) return;
    const admitted = await deps.admitUser(connection, claims.userId);
    if (connection.ws.readyState !== connection.ws.OPEN) return;
    if (!admitted) {
      connection.fail(new AppError('too_many_sockets', { max: deps.maxSocketsPerUser }));
      connection.close(CloseCode.TooManySockets, 'too many sockets for this user');
      return;
    }
    connection.userId = claims.userId;
    connection.jti = claims.jti;
    connection.features = acceptedFeatures(frame.Features);
    connection.issuedAtMs = claims.issuedAtMs;
    connection.expiresAt = claims.exp;
    deps.onSignedIn(connection);
    // With a Sync in the sign-in, live frames are held from the moment the socket can get any.
    if (cursors) connection.beginSync();
    if (deps.hub.add(connection)) {
      await deps.directory.register(claims.userId);
      deps.presence.changed(claims.userId);
    }
    // A client that declared features learns which this server accepted; one that declared none
    // (weIm-go's) gets the Cmd 4 it always got.
    connection.sendFrame(signedInFrame(claims.userId, frame.Features ? [...connection.features] : undefined));
    if (cursors) await runSync(connection, deps.sync, cursors, heldKeys(frame.Sync?.Held));
  };

  return {
    [Cmd.Sign]: async (connection, frame) => {
      // Marked before the first await: a second Cmd 3 right behind the first (same read) must not
      // sign the socket in as another user too (it would stay in the hub under both).
      if (connection.signedIn || connection.signingIn) {
        connection.fail(new AppError('already_signed_in'));
        return;
      }
      connection.signingIn = true;
      try {
        await signIn(connection, frame);
      } finally {
        connection.signingIn = false;
      }
    },

    [Cmd.Sync]: async (connection, frame) => {
      if (connection.syncing) {
        connection.fail(new AppError('sync_running'));
        return;
      }
      const cursors = cursorsOrFail(connection, frame);
      if (cursors) await runSync(connection, deps.sync, cursors, heldKeys(frame.Held));
    },

    [Cmd.Read]: async (connection, frame) => {
      try {
        await deps.conversations.markRead(connection.userId!, { conversationId: frame.ConvId }, frame.Seq, connection.id);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        connection.fail(err);
      }
    },

    [Cmd.Typing]: async (connection, frame) => {
      try {
        await deps.typing.typing(connection.userId!, frame.Ope, frame.ToId);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        connection.fail(err);
      }
    },

    [Cmd.Ping]: async (connection) => {
      connection.sendFrame(pongFrame());
    },

    [Cmd.Send]: async (connection, frame) => {
      const input = { type: frame.Type, body: frame.Body, clientMsgId: frame.ClientMsgId, replyTo: frame.ReplyTo, mentions: frame.Mentions, except: { connectionId: connection.id } };
      try {
        const stored = frame.Ope === 0
          ? await deps.messages.sendToUser(connection.userId!, frame.ToId, input)
          : await deps.messages.sendToGroup(connection.userId!, frame.ToId, input);
        // The device has its message from the ack: its stream moves past it now, whether or not
        // the push reaches this node (it goes through the directory, which may be out of reach).
        connection.skip({ key: `c${stored.conversation_id}`, seq: stored.seq });
        connection.sendFrame(sendAckFrame({
          fromId: connection.userId!, toId: frame.ToId, ope: frame.Ope, type: frame.Type,
          id: stored.id, convId: stored.conversation_id, seq: stored.seq, time: stored.created_at, clientMsgId: frame.ClientMsgId,
        }));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        connection.fail(err, frame.ClientMsgId);
      }
    },
  };
}

function cursorsOrFail(connection: Connection, spec: Parameters<typeof cursorsFrom>[0]) {
  try {
    return cursorsFrom(spec);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    connection.fail(err);
    return undefined;
  }
}
