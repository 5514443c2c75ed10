import { z } from 'zod';
import { jsonSchemaOf } from '../http/validate.js';
import { clientFrame } from './protocol.js';
import { serverFrames } from '../notify/server-frames.js';

/**
 * The AsyncAPI 3.0 document of the WebSocket at /ws: the client frames' JSON Schemas come from the
 * zod union the gateway parses with (`clientFrame`), the server frames' from `serverFrames`.
 */
export function asyncApiDocument(version: string): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const sent: string[] = [];
  const received: string[] = [];
  for (const option of clientFrame.options) {
    const cmd = (option.shape.Cmd as z.ZodLiteral<number>).value;
    messages[`client${cmd}`] = { name: `Cmd ${cmd}`, title: `Client Cmd ${cmd}`, contentType: 'application/json', payload: jsonSchemaOf(option) };
    sent.push(`client${cmd}`);
  }
  for (const frame of serverFrames) {
    const cmd = (frame.shape.Cmd as z.ZodLiteral<number>).value;
    messages[`server${cmd}`] = { name: `Cmd ${cmd}`, title: frame.description ?? `Server Cmd ${cmd}`, contentType: 'application/json', payload: jsonSchemaOf(frame) };
    received.push(`server${cmd}`);
  }
  const refs = (names: string[]) => names.map((n) => ({ $ref: `#/channels/ws/messages/${n}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'weim WebSocket',
      version,
      description: 'Real time over one WebSocket at /ws: sign in with Cmd 3 within 15 s, then frames both ways (docs/protocol.md). Each frame is one JSON text message.',
    },
    servers: { weim: { host: 'localhost:8080', protocol: 'ws', pathname: '/ws' } },
    channels: {
      ws: {
        address: '/ws',
        messages: Object.fromEntries(Object.keys(messages).map((n) => [n, { $ref: `#/components/messages/${n}` }])),
      },
    },
    // Operations of the application this document describes: the weim server.
    operations: {
      receiveClientFrames: { action: 'receive', channel: { $ref: '#/channels/ws' }, messages: refs(sent) },
      sendServerFrames: { action: 'send', channel: { $ref: '#/channels/ws' }, messages: refs(received) },
    },
    components: { messages },
  };
}
