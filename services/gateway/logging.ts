/** Request logging: a request id on every line (taken from X-Request-Id when it is sane), no secrets. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function genRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Query parameters whose values must never reach a log line: any name that ends in token or key (`token`,
 * `access_token`, `vf_preview_token`, `api_key`...) or names a secret or password.
 */
const SECRET_PARAMS = /([?&][^&=#]*(?:token|key|secret|password)=)[^&#]*/gi;

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
