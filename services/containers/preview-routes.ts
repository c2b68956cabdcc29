/**
 * /preview/:projectId/... proxied to the project's preview port, HTTP and WebSocket (hot reload), and
 * POST /api/v1/projects/:projectId/preview to get the link that opens it.
 * The previewed app shares the IDE's origin: a sandbox policy (opaque origin) would isolate it, but then
 * browsers withhold the preview cookie from the app's own requests. Serving previews from an origin of
 * their own is the way to isolate them; until then the app's own headers (its CSP included) apply.
 */
import http from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import WebSocket from 'ws';
import { AppError } from '../../lib/errors.js';
import { bearerSecurity, errorResponses, principalOf, projectIdParams, requireAuth, type Authenticate } from '../../lib/http.js';
import { PREVIEW_COOKIE, PREVIEW_TOKEN_PARAM, type PreviewService, type PreviewTarget } from './preview.js';

/** Hop-by-hop headers, and ours, are not passed on. */
const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'authorization', 'cookie', 'host']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type PreviewParams = { projectId: string; '*'?: string };

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** The path and query the app inside sees: without the /preview/:id prefix and without our token. */
function upstreamPath(request: FastifyRequest<{ Params: PreviewParams }>): string {
  const url = new URL(request.url, 'http://preview');
  url.searchParams.delete(PREVIEW_TOKEN_PARAM);
  return `/${request.params['*'] ?? ''}${url.search}`;
}

export async function previewRoutes(
  app: FastifyInstance,
  opts: { preview: PreviewService; authenticate: Authenticate; apiPrefix: string },
): Promise<void> {
  const { preview } = opts;

  await app.register(
    async (api) => {
      api.addHook('onRequest', requireAuth(opts.authenticate));
      api.post<{ Params: { projectId: string } }>(
        '/projects/:projectId/preview',
        {
          schema: {
            tags: ['sandboxes'],
            summary: 'A link that opens the project\'s preview (its preview port, served at /preview/:projectId/)',
            security: bearerSecurity,
            params: projectIdParams,
            response: {
              200: {
                type: 'object',
                required: ['url', 'port', 'expiresAt'],
                properties: { url: { type: 'string' }, port: { type: 'integer' }, expiresAt: { type: 'string', format: 'date-time' } },
              },
              ...errorResponses,
            },
          },
        },
        (request) => preview.open(principalOf(request), request.params.projectId),
      );
    },
    { prefix: opts.apiPrefix },
  );

  await app.register(async (proxy) => {
    // Bodies pass through untouched, whatever their type.
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    /** Who is asking: a first visit with the link's token (then a cookie), or the cookie. */
    const authorize = async (request: FastifyRequest<{ Params: PreviewParams }>, reply: FastifyReply) => {
      const { projectId } = request.params;
      if (!UUID.test(projectId)) throw new AppError('PROJECT_NOT_FOUND', 'No such project');
      const fromLink = (request.query as Record<string, string | undefined>)[PREVIEW_TOKEN_PARAM];
      if (fromLink !== undefined) {
        preview.principalOf(fromLink, projectId);
        reply
          .header(
            'set-cookie',
            `${PREVIEW_COOKIE}=${encodeURIComponent(fromLink)}; Path=/preview/${projectId}/; HttpOnly; SameSite=Lax`,
          )
          .redirect(`/preview/${projectId}${upstreamPath(request)}`, 302);
        return undefined;
      }
      const token = cookieValue(request.headers.cookie, PREVIEW_COOKIE);
      if (!token) throw new AppError('UNAUTHENTICATED', 'Open the preview from the IDE: the preview link is missing or has expired');
      return preview.target(preview.principalOf(token, projectId), projectId);
    };

    const forward = async (request: FastifyRequest<{ Params: PreviewParams }>, reply: FastifyReply) => {
      const target = await authorize(request, reply);
      if (!target) return reply;
      return proxyHttp(request, reply, target);
    };

    proxy.get<{ Params: PreviewParams }>('/preview/:projectId', { schema: { hide: true } }, async (request, reply) =>
      reply.redirect(`/preview/${request.params.projectId}/${request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''}`, 301),
    );
    proxy.route<{ Params: PreviewParams }>({
      method: 'GET',
      url: '/preview/:projectId/*',
      schema: { hide: true },
      handler: forward,
      wsHandler: (socket, request) => {
        const typed = request as FastifyRequest<{ Params: PreviewParams }>;
        void (async () => {
          const token = cookieValue(typed.headers.cookie, PREVIEW_COOKIE);
          if (!token || !UUID.test(typed.params.projectId)) throw new AppError('UNAUTHENTICATED', 'No preview session');
          const target = await preview.target(preview.principalOf(token, typed.params.projectId), typed.params.projectId);
          proxyWebSocket(socket, typed, target);
        })().catch(() => socket.close(1008, 'preview not available'));
      },
    });
    proxy.route<{ Params: PreviewParams }>({
      method: ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/preview/:projectId/*',
      schema: { hide: true },
      handler: forward,
    });
  });
}

function proxyHttp(request: FastifyRequest<{ Params: PreviewParams }>, reply: FastifyReply, target: PreviewTarget): Promise<void> {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!DROPPED_REQUEST_HEADERS.has(name) && value !== undefined) headers[name] = value;
  }
  headers.host = `${target.host}:${target.port}`;
  headers['x-forwarded-prefix'] = `/preview/${request.params.projectId}`;
  headers['x-forwarded-host'] = request.headers.host ?? '';
  return new Promise((resolve) => {
    const upstream = http.request(
      { host: target.host, port: target.port, method: request.method, path: upstreamPath(request), headers, timeout: 30_000 },
      (response) => {
        reply.hijack();
        const raw = reply.raw;
        // The IDE's policy (no inline scripts, ...) is not the app's: the app's own headers decide.
        raw.removeHeader('content-security-policy');
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined || name === 'connection' || name === 'transfer-encoding') continue;
          raw.setHeader(name, value);
        }
        raw.setHeader('referrer-policy', 'no-referrer');
        raw.writeHead(response.statusCode ?? 502);
        response.pipe(raw);
        response.on('end', resolve);
        response.on('error', resolve);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
    upstream.on('error', () => {
      if (reply.sent || reply.raw.headersSent) {
        reply.raw.destroy();
        return resolve();
      }
      const error = new AppError(
        'UPSTREAM_UNAVAILABLE',
        `Nothing answers on port ${target.port} in the sandbox: start the app there (the preview port is a project setting)`,
      );
      void reply.code(error.status).type('application/json').send(error.toBody());
      resolve();
    });
    const body = request.body as NodeJS.ReadableStream | undefined;
    if (body && typeof body.pipe === 'function') body.pipe(upstream);
    else upstream.end();
  });
}

/** Message by message, both ways; either side closing closes the other. */
function proxyWebSocket(client: WebSocket, request: FastifyRequest<{ Params: PreviewParams }>, target: PreviewTarget): void {
  const protocols = (request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const upstream = new WebSocket(`ws://${target.host}:${target.port}${upstreamPath(request)}`, protocols, {
    headers: { origin: `http://${target.host}:${target.port}` },
  });
  const pending: Array<{ data: WebSocket.RawData; binary: boolean }> = [];
  client.on('message', (data, binary) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary });
    else pending.push({ data, binary });
  });
  upstream.on('open', () => {
    for (const { data, binary } of pending.splice(0)) upstream.send(data, { binary });
  });
  upstream.on('message', (data, binary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary });
  });
  const closeCode = (code: number) => (code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1011);
  upstream.on('close', (code) => client.close(closeCode(code)));
  upstream.on('error', () => client.close(1011, 'preview not reachable'));
  client.on('close', () => upstream.terminate());
}
