/** Request logging: a request id on every line (taken from X-Request-Id when it is sane), no secrets. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function genRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Query parameters whose values must never reach a log line. */
const SECRET_PARAMS = /([?&](?:token|access_token|key)=)[^&]*/gi;

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, url: request.url.replace(SECRET_PARAMS, '$1[redacted]'), ip: request.ip };
      },
    },
  };
}
