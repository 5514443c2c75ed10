/**
 * weim's client SDK (`weim/client`): the WebSocket session (`WeimClient`: sign-in with Sync,
 * reconnect, ordered and de-duplicated delivery, sends retried until acked) and the typed REST
 * API (`WeimApi`). No Node built-ins: runs in browsers and in Node.
 */
export { type ClientOptions, type SocketFactory, type SocketLike, WeimClient } from './client.js';
export { type CursorState, type CursorStore, LocalStorageCursorStore, MemoryCursorStore } from './cursors.js';
export type { ClientEvents, ConnectionState, MessageFrame, SendAck, ServerFrame } from './frames.js';
export { ApiError, type Routes, WeimApi } from './rest.js';
