/**
 * The preview origin's server: every request whose Host is a preview's goes here instead of the API, before
 * any API route, hook or header, and is proxied to the project's preview port (HTTP and WebSocket). The app
 * runs in its own origin, so its headers (cookies, CSP, service workers) are its own business; ours (the
 * Authorization header, our cookies) never reach it.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { AppError } from '../../lib/errors.js';
import type { PreviewService, PreviewTarget } from './preview.js';
import { BRIDGE_PATH, BRIDGE_SCRIPT, MAX_INJECTED_PAGE_BYTES, withBridge } from './preview-bridge.js';

/** Hop-by-hop headers are not passed on; neither are credentials meant for us. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'authorization',
  'host',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);
const UPSTREAM_TIMEOUT_MS = 30_000;
const MAX_WS_PAYLOAD = 16 * 1024 * 1024;

export interface PreviewProxy {
  /** The preview label of a request's Host (`''` for a preview host with a bad label), or undefined. */
  labelOf(request: http.IncomingMessage): string | undefined;
  handleRequest(request: http.IncomingMessage, response: http.ServerResponse, label: string): void;
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer, label: string): void;
  close(): void;
}

export function createPreviewProxy(preview: PreviewService, onError: (err: unknown) => void): PreviewProxy {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD });

  const failure = (err: unknown): AppError => {
    if (err instanceof AppError) return err;
    onError(err);
    return new AppError('INTERNAL', 'The preview failed on our side');
  };

  return {
    labelOf: (request) => preview.labelOf(request.headers.host),

    handleRequest(request, response, label) {
      if (request.url === BRIDGE_PATH) return sendBridge(response);
      preview.target(label).then(
        (target) => proxyHttp(request, response, target),
        (err: unknown) => sendError(request, response, failure(err)),
      );
    },

    handleUpgrade(request, socket, head, label) {
      socket.on('error', () => socket.destroy());
      preview.target(label).then(
        (target) => sockets.handleUpgrade(request, socket, head, (client) => proxyWebSocket(client, request, target)),
        (err: unknown) => {
          const error = failure(err);
          socket.end(`HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? ''}\r\nConnection: close\r\n\r\n`);
        },
      );
    },

    close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
    },
  };
}

/** A page for a person in a browser, JSON for a program. */
function sendError(request: http.IncomingMessage, response: http.ServerResponse, error: AppError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const wantsHtml = (request.headers.accept ?? '').includes('text/html');
  const body = wantsHtml
    ? `<!doctype html><meta charset="utf-8"><title>Preview</title><body style="font:15px system-ui;margin:3em;color:#333"><h1 style="font-size:18px">Preview</h1><p>${escapeHtml(error.message)}</p>`
    : JSON.stringify(error.toBody());
  response.writeHead(error.status, {
    'content-type': wantsHtml ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendBridge(response: http.ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'no-cache',
    'content-length': Buffer.byteLength(BRIDGE_SCRIPT),
  });
  response.end(BRIDGE_SCRIPT);
}

/** A page load the bridge goes into: a GET that asks for HTML. */
function isPageLoad(request: http.IncomingMessage): boolean {
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
}

function forwardedHeaders(request: http.IncomingMessage, target: PreviewTarget): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!DROPPED_REQUEST_HEADERS.has(name) && value !== undefined) headers[name] = value;
  }
  headers.host = `${target.host}:${target.port}`;
  headers['x-forwarded-host'] = request.headers.host ?? '';
  headers['x-forwarded-proto'] = 'encrypted' in request.socket ? 'https' : 'http';
  // A page is read whole to add the bridge: ask for it uncompressed.
  if (isPageLoad(request)) headers['accept-encoding'] = 'identity';
  return headers;
}

function proxyHttp(request: http.IncomingMessage, response: http.ServerResponse, target: PreviewTarget): void {
  const upstream = http.request({
    host: target.host,
    port: target.port,
    method: request.method,
    path: request.url ?? '/',
    headers: forwardedHeaders(request, target),
    timeout: UPSTREAM_TIMEOUT_MS,
  });
  upstream.on('response', (answer) => {
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) response.setHeader(name, value);
    }
    // The preview's address is a credential of sorts: it must not leak to the sites the app links to.
    response.setHeader('referrer-policy', 'no-referrer');
    answer.on('error', () => response.destroy());
    const html = (answer.headers['content-type'] ?? '').includes('text/html');
    const encoded = (answer.headers['content-encoding'] ?? 'identity') !== 'identity';
    if (isPageLoad(request) && html && !encoded) return sendWithBridge(answer, response);
    response.writeHead(answer.statusCode ?? 502);
    answer.pipe(response);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
  upstream.on('error', () =>
    sendError(
      request,
      response,
      new AppError(
        'UPSTREAM_UNAVAILABLE',
        `Nothing answers on port ${target.port} in the sandbox yet: start the app there (the preview port is a project setting)`,
      ),
    ),
  );
  response.on('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

/** The page with the bridge added; a page too large to hold passes through as it is. */
function sendWithBridge(answer: http.IncomingMessage, response: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const passThrough = () => {
    answer.removeListener('data', collect);
    answer.removeListener('end', finish);
    response.writeHead(answer.statusCode ?? 502);
    for (const chunk of chunks) response.write(chunk);
    answer.pipe(response);
  };
  const collect = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_INJECTED_PAGE_BYTES) passThrough();
  };
  const finish = () => {
    const body = withBridge(Buffer.concat(chunks));
    response.setHeader('content-length', body.length);
    response.writeHead(answer.statusCode ?? 502);
    response.end(body);
  };
  answer.on('data', collect);
  answer.on('end', finish);
}

/** Message by message, both ways; either side closing closes the other. */
function proxyWebSocket(client: WebSocket, request: http.IncomingMessage, target: PreviewTarget): void {
  const protocols = (request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const upstream = new WebSocket(`ws://${target.host}:${target.port}${request.url ?? '/'}`, protocols, {
    headers: { origin: `http://${target.host}:${target.port}`, ...(request.headers.cookie ? { cookie: request.headers.cookie } : {}) },
    maxPayload: MAX_WS_PAYLOAD,
  });
  const pending: Array<{ data: WebSocket.RawData; binary: boolean }> = [];
  client.on('message', (data, binary) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary });
    else if (pending.length < 1000) pending.push({ data, binary });
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
  client.on('error', () => upstream.terminate());
}
