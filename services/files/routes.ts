/** HTTP routes of the files service: a project's workspace, under /api/v1/projects/:projectId/files. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { bearerSecurity, errorResponses, principalOf, requireAuth, uuidSchema, type Authenticate } from '../../lib/http.js';
import type { FilesService } from './service.js';

const tags = ['files'];
const projectParams = {
  type: 'object',
  required: ['projectId'],
  additionalProperties: false,
  properties: { projectId: uuidSchema },
} as const;

// Longer than any valid path, so that the path rules (and their clear messages) decide, not the schema.
const pathSchema = {
  type: 'string',
  maxLength: 16384,
  default: '',
  description: 'Relative to /workspace; "" is the workspace itself',
} as const;
const requiredPath = { type: 'string', minLength: 1, maxLength: 16384, description: 'Relative to /workspace' } as const;

const writeResultSchema = {
  type: 'object',
  required: ['path', 'version', 'size', 'created'],
  properties: {
    path: { type: 'string' },
    version: { type: 'string' },
    size: { type: 'integer' },
    created: { type: 'boolean' },
  },
} as const;

type Params = { projectId: string };

/** An entity tag as a client sends it (quoted, maybe weak) to the bare version; the first of a list. */
function parseTag(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const first = header.split(',')[0]!.trim();
  return first.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export async function filesRoutes(
  app: FastifyInstance,
  opts: { files: FilesService; authenticate: Authenticate },
): Promise<void> {
  const { files } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));
  const base = '/projects/:projectId/files';

  app.get<{ Params: Params; Querystring: { path: string; includeIgnored: boolean; depth: number } }>(
    `${base}/tree`,
    {
      schema: {
        tags,
        summary:
          'The tree below a directory: { tree: { name, path, type, size, modifiedAt, target?, children? }, truncated }. ' +
          '.git, node_modules, .venv and __pycache__ are left out unless includeIgnored; symlinks are shown, not followed',
        security: bearerSecurity,
        params: projectParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            path: pathSchema,
            includeIgnored: { type: 'boolean', default: false },
            depth: { type: 'integer', minimum: 1, maximum: 64, default: 64 },
          },
        },
        response: errorResponses,
      },
    },
    (request) =>
      files.tree(principalOf(request), request.params.projectId, {
        path: request.query.path,
        includeIgnored: request.query.includeIgnored,
        depth: request.query.depth,
      }),
  );

  app.get<{ Params: Params; Querystring: { path: string } }>(
    `${base}/content`,
    {
      schema: {
        tags,
        summary: "A file's bytes; the ETag header is its version (for If-Match on write)",
        security: bearerSecurity,
        params: projectParams,
        querystring: {
          type: 'object',
          required: ['path'],
          additionalProperties: false,
          properties: { path: requiredPath },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const file = await files.read(principalOf(request), request.params.projectId, request.query.path);
      reply.header('etag', `"${file.version}"`);
      if (parseTag(request.headers['if-none-match']) === file.version) return reply.code(304).send();
      return reply.type(file.contentType).send(file.content);
    },
  );

  app.post<{ Params: Params; Body: { path: string } }>(
    `${base}/mkdir`,
    {
      schema: {
        tags,
        summary: 'Create a directory and any missing parents (200 if it existed already)',
        security: bearerSecurity,
        params: projectParams,
        body: { type: 'object', required: ['path'], additionalProperties: false, properties: { path: requiredPath } },
        response: {
          200: { type: 'object', required: ['path', 'created'], properties: { path: { type: 'string' }, created: { type: 'boolean' } } },
          201: { type: 'object', required: ['path', 'created'], properties: { path: { type: 'string' }, created: { type: 'boolean' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await files.mkdir(principalOf(request), request.params.projectId, request.body.path);
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.delete<{ Params: Params; Querystring: { path: string; recursive: boolean } }>(
    base,
    {
      schema: {
        tags,
        summary: 'Delete a file, a symlink (not its target) or a directory (non-empty ones need recursive=true)',
        security: bearerSecurity,
        params: projectParams,
        querystring: {
          type: 'object',
          required: ['path'],
          additionalProperties: false,
          properties: { path: requiredPath, recursive: { type: 'boolean', default: false } },
        },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await files.remove(principalOf(request), request.params.projectId, request.query.path, request.query.recursive);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: Params; Body: { from: string; to: string; overwrite: boolean } }>(
    `${base}/move`,
    {
      schema: {
        tags,
        summary: 'Rename or move a file or directory; the destination may exist only with overwrite',
        security: bearerSecurity,
        params: projectParams,
        body: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { from: requiredPath, to: requiredPath, overwrite: { type: 'boolean', default: false } },
        },
        response: {
          200: { type: 'object', required: ['from', 'to'], properties: { from: { type: 'string' }, to: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    (request) => files.move(principalOf(request), request.params.projectId, request.body),
  );

  app.get<{
    Params: Params;
    Querystring: { q: string; path: string; maxResults: number; caseSensitive: boolean; includeIgnored: boolean };
  }>(
    `${base}/search`,
    {
      schema: {
        tags,
        summary:
          'Plain text search in text files, run in the sandbox (binaries, files over 1 MiB, ignored directories and what ' +
          'the sandbox user cannot read are skipped). Bounded in files, bytes, matches and time: truncated says it stopped ' +
          'early; column 0 means the match lies beyond the first 16 KiB of a very long line',
        security: bearerSecurity,
        params: projectParams,
        querystring: {
          type: 'object',
          required: ['q'],
          additionalProperties: false,
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 1000 },
            path: pathSchema,
            maxResults: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
            caseSensitive: { type: 'boolean', default: false },
            includeIgnored: { type: 'boolean', default: false },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['matches', 'truncated', 'filesSearched'],
            properties: {
              matches: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['path', 'line', 'column', 'preview'],
                  properties: {
                    path: { type: 'string' },
                    line: { type: 'integer' },
                    column: { type: 'integer' },
                    preview: { type: 'string' },
                  },
                },
              },
              truncated: { type: 'boolean' },
              filesSearched: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) =>
      files.search(principalOf(request), request.params.projectId, {
        query: request.query.q,
        path: request.query.path,
        maxResults: request.query.maxResults,
        caseSensitive: request.query.caseSensitive,
        includeIgnored: request.query.includeIgnored,
      }),
  );

  app.get<{ Params: Params; Querystring: { path: string; includeIgnored: boolean } }>(
    `${base}/archive`,
    {
      schema: {
        tags,
        summary: 'A tar of a directory, streamed (symlinks as links)',
        security: bearerSecurity,
        params: projectParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { path: pathSchema, includeIgnored: { type: 'boolean', default: false } },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { name, stream } = await files.download(principalOf(request), request.params.projectId, request.query);
      const filename = name.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply.type('application/x-tar').header('content-disposition', `attachment; filename="${filename}.tar"`).send(stream);
    },
  );

  // Raw bodies: any content type is taken as bytes (a .json file is not JSON to parse here).
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    raw.put<{ Params: Params; Querystring: { path: string }; Body: Buffer | undefined }>(
      `${base}/content`,
      {
        bodyLimit: files.fileLimit,
        schema: {
          tags,
          summary:
            'Write a file (created with its parents if need be). If-Match: the version last read, else 409 ' +
            'VERSION_MISMATCH with details.currentVersion; If-None-Match: * creates only',
          security: bearerSecurity,
          params: projectParams,
          querystring: {
            type: 'object',
            required: ['path'],
            additionalProperties: false,
            properties: { path: requiredPath },
          },
          response: { 200: writeResultSchema, 201: writeResultSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const ifNoneMatch = request.headers['if-none-match'];
        if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
          throw new AppError('VALIDATION_FAILED', 'If-None-Match accepts only "*" (create only) on a write');
        }
        const result = await files.write(
          principalOf(request),
          request.params.projectId,
          request.query.path,
          request.body ?? Buffer.alloc(0),
          { ifMatch: parseTag(request.headers['if-match']), ifNoneMatch: ifNoneMatch !== undefined },
        );
        reply.header('etag', `"${result.version}"`);
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    raw.put<{ Params: Params; Querystring: { path: string }; Body: Buffer | undefined }>(
      `${base}/archive`,
      {
        bodyLimit: files.archiveLimit,
        schema: {
          tags,
          summary:
            'Extract a tar into a directory (created if need be), all or nothing. Refused whole if an entry is absolute, ' +
            'has "..", goes through a link (of the archive or of the workspace: links are never followed), is a link ' +
            'leading outside the workspace, or the archive extracts to more than the limits (hard links count as copies)',
          security: bearerSecurity,
          params: projectParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { path: pathSchema },
          },
          response: {
            200: {
              type: 'object',
              required: ['path', 'files', 'directories', 'symlinks', 'bytes'],
              properties: {
                path: { type: 'string' },
                files: { type: 'integer' },
                directories: { type: 'integer' },
                symlinks: { type: 'integer' },
                bytes: { type: 'integer' },
              },
            },
            ...errorResponses,
          },
        },
      },
      (request) =>
        files.upload(principalOf(request), request.params.projectId, request.query.path, request.body ?? Buffer.alloc(0)),
    );
  });
}
