import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

/** The paths of every POST route the app serves under /api/v1, read from Express's own router. */
function servedPaths(t: TestNode): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; name?: string };
  const app = t.node.server.listeners('request')[0] as unknown as { router: { stack: Layer[] } };
  const paths: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route?.methods.post) paths.push(prefix + layer.route.path);
      // Mounted routers: the API under /api/v1 and, inside it, the push API under /push.
      else if (layer.name === 'router' && layer.handle?.stack) walk(layer.handle.stack, prefix === '' ? '/api/v1' : `${prefix}/push`);
    }
  };
  walk(app.router.stack, '');
  return paths.filter((p) => p.startsWith('/api/v1/')).sort();
}

describe('the OpenAPI document and the API reference', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', { WEIM_PUSH_APPS: `shop:${'s'.repeat(32)}` });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is a valid OpenAPI 3.1 document naming exactly the routes the app serves', async () => {
    const res = await fetch(`${t.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties?: object } }> } } }> };
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(servedPaths(t));
    // The body schemas are the handlers' own: a field the route reads is in it, with its rule.
    const send = doc.paths['/api/v1/im/chat/send/user']!.post.requestBody.content['application/json']!.schema as { properties: Record<string, { type?: string; maxLength?: number }>; required: string[] };
    expect(send.required).toEqual(['to_uid', 'type', 'body']);
    expect(send.properties.client_msg_id).toMatchObject({ type: 'string', maxLength: 64 });
    expect(doc.paths['/api/v1/im/chat/upload']!.post.requestBody.content['multipart/form-data']).toBeDefined();
  });

  it('a body the document calls valid is taken by the route', async () => {
    const reg = await post(t.api, '/register', { username: 'openapi_1', password: 'secret123' });
    expect(reg.code).toBe(0);
    const nickname = await post(t.api, '/user/update/nickname', { nickname: 'From the spec' }, { token: reg.data.t });
    expect(nickname.code).toBe(0);
  });

  it('/docs/ serves the reference UI from this node under a strict CSP, no CDN', async () => {
    const page = await fetch(`${t.url}/docs/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.every((a) => !a.includes('//'))).toBe(true);
    for (const a of assets) expect((await fetch(`${t.url}/docs/${a}`)).status, a).toBe(200);
    expect(await (await fetch(`${t.url}/docs/init.js`)).text()).toContain("url: '../api/v1/openapi.json'");
    expect((await fetch(`${t.url}/docs/package.json`)).status).toBe(404);
  });
});
