/** HTTP routes of the projects service, under /api/v1/projects. */
import type { FastifyInstance } from 'fastify';
import { PERMISSIONS, ROLES, type Role } from '../../lib/access.js';
import {
  bearerSecurity,
  dateTimeSchema,
  errorResponses,
  projectIdParams,
  principalOf,
  requireAuth,
  uuidSchema,
  type Authenticate,
} from '../../lib/http.js';
import type { NewProject, ProjectPatch, ProjectsService } from './service.js';
import { SLUG_PATTERN } from './slugs.js';

const STACKS = ['node', 'python', 'go'] as const;
const STATUSES = ['active', 'archived'] as const;

const projectSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'slug',
    'description',
    'stack',
    'status',
    'previewPort',
    'services',
    'createdAt',
    'updatedAt',
    'role',
    'permissions',
  ],
  properties: {
    id: uuidSchema,
    name: { type: 'string' },
    slug: { type: 'string' },
    description: { type: 'string' },
    stack: { type: 'string', enum: STACKS },
    status: { type: 'string', enum: STATUSES },
    previewPort: { type: 'integer', description: 'The port inside the sandbox that /preview/:projectId/ serves' },
    services: {
      type: 'object',
      required: ['postgres', 'redis'],
      properties: {
        postgres: { type: 'boolean', description: "A PostgreSQL of the project's own, reached from its sandbox as DATABASE_URL" },
        redis: { type: 'boolean', description: "A Redis of the project's own, reached from its sandbox as REDIS_URL" },
      },
    },
    createdAt: dateTimeSchema,
    updatedAt: dateTimeSchema,
    role: { type: 'string', enum: ROLES, description: "The caller's role in the project" },
    permissions: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
  },
} as const;

const memberSchema = {
  type: 'object',
  required: ['userId', 'email', 'name', 'role', 'joinedAt'],
  properties: {
    userId: uuidSchema,
    email: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ROLES },
    joinedAt: dateTimeSchema,
  },
} as const;

const nameSchema = { type: 'string', minLength: 1, maxLength: 100 } as const;
const slugSchema = { type: 'string', pattern: SLUG_PATTERN, maxLength: 63 } as const;
const descriptionSchema = { type: 'string', maxLength: 2000 } as const;
const servicesSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { postgres: { type: 'boolean' }, redis: { type: 'boolean' } },
} as const;


const memberParams = {
  type: 'object',
  required: ['projectId', 'userId'],
  additionalProperties: false,
  properties: { projectId: uuidSchema, userId: uuidSchema },
} as const;

const tags = ['projects'];

export async function projectsRoutes(
  app: FastifyInstance,
  opts: { projects: ProjectsService; authenticate: Authenticate },
): Promise<void> {
  const { projects } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.post<{ Body: NewProject }>(
    '/projects',
    {
      schema: {
        tags,
        summary: 'Create a project; you become its owner',
        security: bearerSecurity,
        body: {
          type: 'object',
          required: ['name', 'stack'],
          additionalProperties: false,
          properties: {
            name: nameSchema,
            slug: slugSchema,
            description: descriptionSchema,
            stack: { type: 'string', enum: STACKS },
            services: servicesSchema,
          },
        },
        response: { 201: projectSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return projects.create(principalOf(request), request.body);
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/projects',
    {
      schema: {
        tags,
        summary: 'The projects you are a member of, newest first',
        security: bearerSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: {
              items: { type: 'array', items: projectSchema },
              nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => projects.list(principalOf(request), request.query),
  );

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'One project',
        security: bearerSecurity,
        params: projectIdParams,
        response: { 200: projectSchema, ...errorResponses },
      },
    },
    async (request) => projects.get(principalOf(request), request.params.projectId),
  );

  app.patch<{ Params: { projectId: string }; Body: ProjectPatch }>(
    '/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'Change a project (needs "admin")',
        security: bearerSecurity,
        params: projectIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: nameSchema,
            slug: slugSchema,
            description: descriptionSchema,
            stack: { type: 'string', enum: STACKS },
            status: { type: 'string', enum: STATUSES },
            previewPort: { type: 'integer', minimum: 1, maximum: 65535 },
            services: servicesSchema,
          },
        },
        response: { 200: projectSchema, ...errorResponses },
      },
    },
    async (request) => projects.update(principalOf(request), request.params.projectId, request.body),
  );

  app.delete<{ Params: { projectId: string } }>(
    '/projects/:projectId',
    {
      schema: {
        tags,
        summary: 'Delete a project (owners only)',
        security: bearerSecurity,
        params: projectIdParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await projects.delete(principalOf(request), request.params.projectId);
      reply.code(204).send();
    },
  );

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/members',
    {
      schema: {
        tags,
        summary: 'Members of a project and their roles',
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: memberSchema } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ items: await projects.listMembers(principalOf(request), request.params.projectId) }),
  );

  app.post<{ Params: { projectId: string }; Body: { email: string; role: Role } }>(
    '/projects/:projectId/members',
    {
      schema: {
        tags,
        summary: 'Add an existing account by email (needs "admin"; owners alone grant owner or admin)',
        security: bearerSecurity,
        params: projectIdParams,
        body: {
          type: 'object',
          required: ['email', 'role'],
          additionalProperties: false,
          properties: { email: { type: 'string', maxLength: 254 }, role: { type: 'string', enum: ROLES } },
        },
        response: { 201: memberSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return projects.addMember(principalOf(request), request.params.projectId, request.body);
    },
  );

  app.patch<{ Params: { projectId: string; userId: string }; Body: { role: Role } }>(
    '/projects/:projectId/members/:userId',
    {
      schema: {
        tags,
        summary: "Change a member's role",
        security: bearerSecurity,
        params: memberParams,
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: { role: { type: 'string', enum: ROLES } },
        },
        response: { 200: memberSchema, ...errorResponses },
      },
    },
    async (request) =>
      projects.changeMemberRole(principalOf(request), request.params.projectId, request.params.userId, request.body.role),
  );

  app.delete<{ Params: { projectId: string; userId: string } }>(
    '/projects/:projectId/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member, or leave a project yourself',
        security: bearerSecurity,
        params: memberParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await projects.removeMember(principalOf(request), request.params.projectId, request.params.userId);
      reply.code(204).send();
    },
  );
}
