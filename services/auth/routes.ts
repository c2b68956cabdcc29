/** HTTP routes of the auth service, under /api/v1/auth. */
import type { FastifyInstance } from 'fastify';
import { PERMISSIONS } from '../../lib/access.js';
import {
  bearerSecurity,
  dateTimeSchema,
  errorResponses,
  principalOf,
  requireAuth,
  uuidSchema,
} from '../../lib/http.js';
import { MAX_PASSWORD_BYTES } from './passwords.js';
import type { AuthService, NewApiKey } from './service.js';

const userSchema = {
  type: 'object',
  required: ['id', 'email', 'name', 'createdAt'],
  properties: { id: uuidSchema, email: { type: 'string' }, name: { type: 'string' }, createdAt: dateTimeSchema },
} as const;

const sessionSchema = {
  type: 'object',
  required: ['user', 'accessToken', 'refreshToken', 'expiresIn', 'tokenType'],
  properties: {
    user: userSchema,
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    expiresIn: { type: 'integer', description: 'Seconds until the access token expires' },
    tokenType: { type: 'string', enum: ['Bearer'] },
  },
} as const;

const emailSchema = { type: 'string', format: 'email', maxLength: 254 } as const;
// Characters, not bytes: the byte limit of bcrypt is checked by the service with a clear message.
const passwordSchema = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_BYTES } as const;
const refreshBodySchema = {
  type: 'object',
  required: ['refreshToken'],
  additionalProperties: false,
  properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 512 } },
} as const;

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

export async function authRoutes(app: FastifyInstance, opts: { auth: AuthService }): Promise<void> {
  const { auth } = opts;

  app.post<{ Body: { email: string; password: string; name?: string } }>(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: { email: emailSchema, password: passwordSchema, name: { type: 'string', maxLength: 200 } },
        },
        response: { 201: sessionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return auth.register(request.body);
    },
  );

  app.post<{ Body: { email: string; password: string } }>(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: { email: { type: 'string', maxLength: 254 }, password: passwordSchema },
        },
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (request) => auth.login({ ...request.body, address: request.ip }),
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new session (the old token stops working)',
        body: refreshBodySchema,
        response: { 200: sessionSchema, ...errorResponses },
      },
    },
    async (request) => auth.refresh(request.body.refreshToken),
  );

  app.post<{ Body: { refreshToken: string } }>(
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
      await auth.logout(request.body.refreshToken);
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
