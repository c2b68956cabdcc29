/**
 * What every service's routes share: the principal on a request, bearer parsing, and schema fragments
 * (the error body, ids) so the OpenAPI document describes every route the same way.
 */
import type { FastifyRequest } from 'fastify';
// Adds OpenAPI fields (tags, summary, security) to route schemas.
import type {} from '@fastify/swagger';
import type { Principal } from './access.js';
import { AppError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of a service's routes; null on public routes. */
    principal: Principal | null;
  }
}

export type Authenticate = (token: string) => Promise<Principal>;

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}

/** An onRequest hook that requires a valid bearer credential and puts its principal on the request. */
export function requireAuth(authenticate: Authenticate) {
  return async function authenticateRequest(request: FastifyRequest): Promise<void> {
    const token = bearerToken(request);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in first: this route needs a bearer token');
    request.principal = await authenticate(token);
  };
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHENTICATED', 'Sign in first: this route needs a bearer token');
  return request.principal;
}

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

/** The error responses every authenticated route may give. */
export const errorResponses = {
  '4xx': errorRef,
  '5xx': errorRef,
} as const;

export const bearerSecurity = [{ bearerAuth: [] }];

export const uuidSchema = { type: 'string', format: 'uuid' } as const;

export const dateTimeSchema = { type: 'string', format: 'date-time' } as const;

/** Path parameters of every route under /projects/:projectId. */
export const projectIdParams = {
  type: 'object',
  required: ['projectId'],
  additionalProperties: false,
  properties: { projectId: uuidSchema },
} as const;
