/** HTTP routes of secrets: /api/v1/projects/:projectId/secrets and /api/v1/me/secrets. Values go in, never out. */
import type { FastifyInstance } from 'fastify';
import {
  bearerSecurity,
  dateTimeSchema,
  errorResponses,
  principalOf,
  projectIdParams,
  requireAuth,
  uuidSchema,
  type Authenticate,
} from '../../lib/http.js';
import { MAX_DESCRIPTION_LENGTH, MAX_SECRET_VALUE_BYTES, SECRET_NAME_PATTERN, type NewSecret, type SecretPatch, type SecretsService } from './service.js';

const tags = ['secrets'];

const secretSchema = {
  type: 'object',
  required: ['name', 'description', 'fingerprint', 'createdAt', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    fingerprint: { type: 'string', description: 'First 8 hex digits of an HMAC-SHA256 of the value; the value itself is never returned' },
    createdAt: dateTimeSchema,
    updatedAt: dateTimeSchema,
  },
} as const;

const nameSchema = { type: 'string', pattern: SECRET_NAME_PATTERN } as const;
// Characters here; the service checks the UTF-8 byte size.
const valueSchema = { type: 'string', minLength: 1, maxLength: MAX_SECRET_VALUE_BYTES } as const;
const descriptionSchema = { type: 'string', maxLength: MAX_DESCRIPTION_LENGTH } as const;

const newSecretBody = {
  type: 'object',
  required: ['name', 'value'],
  additionalProperties: false,
  properties: { name: nameSchema, value: valueSchema, description: descriptionSchema },
} as const;

const patchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { value: valueSchema, description: descriptionSchema },
} as const;

const listSchema = { type: 'object', required: ['items'], properties: { items: { type: 'array', items: secretSchema } } } as const;

const projectSecretParams = {
  type: 'object',
  required: ['projectId', 'name'],
  additionalProperties: false,
  properties: { projectId: uuidSchema, name: nameSchema },
} as const;

const ownSecretParams = { type: 'object', required: ['name'], additionalProperties: false, properties: { name: nameSchema } } as const;

const auditSchema = {
  type: 'object',
  required: ['items', 'nextBefore'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'secretName', 'action', 'actor', 'context', 'at'],
        properties: {
          id: { type: 'string' },
          secretName: { type: 'string' },
          action: { type: 'string', enum: ['created', 'updated', 'deleted', 'used'] },
          actor: { type: 'object', required: ['kind', 'id'], properties: { kind: { type: 'string' }, id: { type: ['string', 'null'] } } },
          context: { type: ['string', 'null'], description: 'How a secret was used: exec, exec.stream, terminal, process, run:<id>' },
          at: dateTimeSchema,
        },
      },
    },
    nextBefore: { type: ['string', 'null'], description: 'Pass as `before` for older entries' },
  },
} as const;

export async function secretsRoutes(app: FastifyInstance, opts: { secrets: SecretsService; authenticate: Authenticate }): Promise<void> {
  const { secrets } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/secrets',
    {
      schema: {
        tags,
        summary: "The project's secrets: names, descriptions, fingerprints, never values",
        security: bearerSecurity,
        params: projectIdParams,
        response: { 200: listSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await secrets.listProject(principalOf(request), request.params.projectId) }),
  );

  app.post<{ Params: { projectId: string }; Body: NewSecret }>(
    '/projects/:projectId/secrets',
    {
      schema: {
        tags,
        summary: 'Add a secret (needs "write"); commands of members with "execute" get it as an environment variable',
        security: bearerSecurity,
        params: projectIdParams,
        body: newSecretBody,
        response: { 201: secretSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return secrets.createProject(principalOf(request), request.params.projectId, request.body);
    },
  );

  app.get<{ Params: { projectId: string }; Querystring: { limit: number; before?: number } }>(
    '/projects/:projectId/secrets/audit',
    {
      schema: {
        tags,
        summary: 'Who created, changed, deleted or used which secret, newest first (needs "write" or "admin")',
        security: bearerSecurity,
        params: projectIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, before: { type: 'integer', minimum: 1 } },
        },
        response: { 200: auditSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      const items = await secrets.audit(principalOf(request), request.params.projectId, { limit, before });
      return { items, nextBefore: items.length === limit ? items.at(-1)!.id : null };
    },
  );

  app.put<{ Params: { projectId: string; name: string }; Body: SecretPatch }>(
    '/projects/:projectId/secrets/:name',
    {
      schema: {
        tags,
        summary: "Change a secret's value or description (needs \"write\")",
        security: bearerSecurity,
        params: projectSecretParams,
        body: patchBody,
        response: { 200: secretSchema, ...errorResponses },
      },
    },
    async (request) => secrets.updateProject(principalOf(request), request.params.projectId, request.params.name, request.body),
  );

  app.delete<{ Params: { projectId: string; name: string } }>(
    '/projects/:projectId/secrets/:name',
    {
      schema: {
        tags,
        summary: 'Delete a secret (needs "write")',
        security: bearerSecurity,
        params: projectSecretParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await secrets.deleteProject(principalOf(request), request.params.projectId, request.params.name);
      reply.code(204).send();
    },
  );

  app.get(
    '/me/secrets',
    {
      schema: {
        tags,
        summary: 'Your own secrets (e.g. ANTHROPIC_API_KEY, OPENAI_BASE_URL: your agent runs use them before the server\'s)',
        security: bearerSecurity,
        response: { 200: listSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await secrets.listMine(principalOf(request)) }),
  );

  app.post<{ Body: NewSecret }>(
    '/me/secrets',
    {
      schema: { tags, summary: 'Add one of your own secrets', security: bearerSecurity, body: newSecretBody, response: { 201: secretSchema, ...errorResponses } },
    },
    async (request, reply) => {
      reply.code(201);
      return secrets.createMine(principalOf(request), request.body);
    },
  );

  app.put<{ Params: { name: string }; Body: SecretPatch }>(
    '/me/secrets/:name',
    {
      schema: {
        tags,
        summary: 'Change one of your own secrets',
        security: bearerSecurity,
        params: ownSecretParams,
        body: patchBody,
        response: { 200: secretSchema, ...errorResponses },
      },
    },
    async (request) => secrets.updateMine(principalOf(request), request.params.name, request.body),
  );

  app.delete<{ Params: { name: string } }>(
    '/me/secrets/:name',
    {
      schema: { tags, summary: 'Delete one of your own secrets', security: bearerSecurity, params: ownSecretParams, response: { 204: { type: 'null' }, ...errorResponses } },
    },
    async (request, reply) => {
      await secrets.deleteMine(principalOf(request), request.params.name);
      reply.code(204).send();
    },
  );
}
