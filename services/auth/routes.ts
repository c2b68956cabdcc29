/** HTTP routes of the auth service, under /api/v1/auth. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PERMISSIONS } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import {
  bearerSecurity,
  cookieValue,
  dateTimeSchema,
  errorResponses,
  principalOf,
  requireAuth,
  uuidSchema,
} from '../../lib/http.js';
import { MAX_PASSWORD_BYTES } from './passwords.js';
import type { AuthService, NewApiKey, Session } from './service.js';

const userSchema = {
  type: 'object',
  required: ['id', 'email', 'name', 'createdAt'],
  properties: { id: uuidSchema, email: { type: 'string' }, name: { type: 'string' }, createdAt: dateTimeSchema },
} as const;

const sessionSchema = {
  type: 'object',
  required: ['user', 'accessToken', 'expiresIn', 'tokenType'],
  properties: {
    user: userSchema,
    accessToken: { type: 'string' },
    refreshToken: { type: 'string', description: 'Absent when the refresh token travels in the HttpOnly cookie' },
    expiresIn: { type: 'integer', description: 'Seconds until the access token expires' },
    tokenType: { type: 'string', enum: ['Bearer'] },
  },
} as const;

const emailSchema = { type: 'string', format: 'email', maxLength: 254 } as const;
// Characters, not bytes: the byte limit of bcrypt is checked by the service with a clear message.
const passwordSchema = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_BYTES } as const;
const refreshBodySchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Without refreshToken, the HttpOnly refresh cookie is used (and the rotated token goes back in it)',
  properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 512 } },
} as const;

/** How a sign-in hands over the refresh token: in the body (programs) or only in an HttpOnly cookie (browsers). */
const transportSchema = { type: 'string', enum: ['body', 'cookie'], default: 'body' } as const;
type Transport = 'body' | 'cookie';

/**
 * The refresh token of a browser session lives in this cookie: out of script reach (HttpOnly), sent only to
 * the auth routes, never by another site (SameSite=Strict).
 */
export const REFRESH_COOKIE = 'vf_refresh';
const REFRESH_COOKIE_PATH = '/api/v1/auth';

function refreshCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${REFRESH_COOKIE}=${encodeURIComponent(value)}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

/** The session as the transport wants it: with cookie transport the refresh token goes in the cookie only. */
function deliver(request: FastifyRequest, reply: FastifyReply, session: Session, transport: Transport, ttlSeconds: number) {
  if (transport === 'body') return session;
  reply.header('set-cookie', refreshCookie(request, session.refreshToken, ttlSeconds));
  const { refreshToken: _inCookie, ...rest } = session;
  return rest;
}

/**
 * A cookie is sent whoever made the page: a browser request that carries one must come from an origin we
 * serve (the API's own, or an allowed IDE origin), so no other page can rotate or end the session.
 */
function checkCookieOrigin(request: FastifyRequest, allowedOrigins: readonly string[]): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const own = `${request.protocol}://${request.headers.host ?? ''}`;
  if (origin !== own && !allowedOrigins.includes(origin)) {
    throw new AppError('FORBIDDEN', 'The session cookie is only accepted from the Vaporform IDE');
  }
}

/** The refresh token of a request: in the body, else in the cookie (then from an allowed origin only). */
function refreshTokenOf(
  request: FastifyRequest<{ Body: { refreshToken?: string } | undefined }>,
  allowedOrigins: readonly string[],
): { token: string; transport: Transport } {
  const fromBody = request.body?.refreshToken;
  if (fromBody !== undefined) return { token: fromBody, transport: 'body' };
  const fromCookie = cookieValue(request.headers.cookie, REFRESH_COOKIE);
  if (!fromCookie) throw new AppError('REFRESH_TOKEN_INVALID', 'No refresh token: sign in again');
  checkCookieOrigin(request, allowedOrigins);
  return { token: fromCookie, transport: 'cookie' };
}

const apiKeySchema = {
  type: 'object',
  required: ['id', 'name', 'prefix', 'permissions', 'projectIds', 'expiresAt', 'lastUsedAt', 'revokedAt', 'createdAt'],
  properties: {
    id: uuidSchema,
    name: { type: 'string' },
    prefix: { type: 'string', description: 'The visible start of the key, to recognise it' },
    permissions: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
    projectIds: { type: ['array', 'null'], items: uuidSchema },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: dateTimeSchema,
  },
} as const;

export async function authRoutes(
  app: FastifyInstance,
  opts: { auth: AuthService; allowedOrigins: readonly string[]; refreshTtlSeconds: number },
): Promise<void> {
  const { auth, allowedOrigins, refreshTtlSeconds } = opts;

  app.post<{ Body: { email: string; password: string; name?: string; transport: Transport } }>(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: {
            email: emailSchema,
            password: passwordSchema,
            name: { type: 'string', maxLength: 200 },
            transport: transportSchema,
          },
        },
        response: { 201: sessionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { transport, ...input } = request.body;
      const session = await auth.register(input);
      reply.code(201);
      return deliver(request, reply, session, transport, refreshTtlSeconds);
    },
  );

  app.post<{ Body: { email: string; password: string; transport: Transport } }>(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: { email: { type: 'string', maxLength: 254 }, password: passwordSchema, transport: transportSchema },
        },
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { transport, email, password } = request.body;
      const session = await auth.login({ email, password, address: request.ip });
      return deliver(request, reply, session, transport, refreshTtlSeconds);
    },
  );

  app.post<{ Body: { refreshToken?: string } | undefined }>(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new session (the old token stops working)',
        body: refreshBodySchema,
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, transport } = refreshTokenOf(request, allowedOrigins);
      try {
        return deliver(request, reply, await auth.refresh(token), transport, refreshTtlSeconds);
      } catch (err) {
        // A cookie that no longer works is dropped, so the browser stops sending it.
        if (transport === 'cookie') reply.header('set-cookie', refreshCookie(request, '', 0));
        throw err;
      }
    },
  );

  app.post<{ Body: { refreshToken?: string } | undefined }>(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End the session of a refresh token',
        body: refreshBodySchema,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, transport } = refreshTokenOf(request, allowedOrigins);
      await auth.logout(token);
      if (transport === 'cookie') reply.header('set-cookie', refreshCookie(request, '', 0));
      reply.code(204).send();
    },
  );

  // Everything below needs a credential.
  await app.register(async (signedIn) => {
    signedIn.addHook('onRequest', requireAuth((token) => auth.authenticate(token)));

    signedIn.get(
      '/auth/me',
      {
        schema: {
          tags: ['auth'],
          summary: 'The signed-in account',
          security: bearerSecurity,
          response: { 200: userSchema, ...errorResponses },
        },
      },
      async (request) => auth.me(principalOf(request)),
    );

    signedIn.post<{ Body: NewApiKey }>(
      '/auth/api-keys',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an API key; the key is shown in this response only',
          security: bearerSecurity,
          body: {
            type: 'object',
            required: ['name', 'permissions'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 100 },
              permissions: { type: 'array', minItems: 1, maxItems: 4, items: { type: 'string', enum: PERMISSIONS } },
              projectIds: { type: 'array', minItems: 1, maxItems: 100, items: uuidSchema },
              expiresAt: dateTimeSchema,
            },
          },
          response: {
            201: {
              type: 'object',
              required: ['apiKey', 'key'],
              properties: { apiKey: apiKeySchema, key: { type: 'string' } },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return auth.createApiKey(principalOf(request), request.body);
      },
    );

    signedIn.get(
      '/auth/api-keys',
      {
        schema: {
          tags: ['auth'],
          summary: 'List your API keys (never the keys themselves)',
          security: bearerSecurity,
          response: {
            200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: apiKeySchema } } },
            ...errorResponses,
          },
        },
      },
      async (request) => ({ items: await auth.listApiKeys(principalOf(request)) }),
    );

    signedIn.delete<{ Params: { keyId: string } }>(
      '/auth/api-keys/:keyId',
      {
        schema: {
          tags: ['auth'],
          summary: 'Revoke an API key',
          security: bearerSecurity,
          params: {
            type: 'object',
            required: ['keyId'],
            additionalProperties: false,
            properties: { keyId: uuidSchema },
          },
          response: { 204: { type: 'null' }, ...errorResponses },
        },
      },
      async (request, reply) => {
        await auth.revokeApiKey(principalOf(request), request.params.keyId);
        reply.code(204).send();
      },
    );
  });
}
