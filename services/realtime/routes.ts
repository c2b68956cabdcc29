/** The one WebSocket endpoint, /api/v1/ws. Browsers pass the access token as `?token=`. */
import type { FastifyInstance } from 'fastify';
// Adds the `websocket` route option and the socket handler signature.
import type {} from '@fastify/websocket';
import { AppError } from '../../lib/errors.js';
import { bearerToken, type Authenticate } from '../../lib/http.js';
import type { RealtimeService } from './service.js';

export async function realtimeRoutes(
  app: FastifyInstance,
  opts: { realtime: RealtimeService; authenticate: Authenticate },
): Promise<void> {
  app.get<{ Querystring: { token?: string } }>(
    '/ws',
    {
      websocket: true,
      schema: {
        tags: ['realtime'],
        summary: 'WebSocket: subscribe to projects and receive their events live',
        querystring: {
          type: 'object',
          properties: { token: { type: 'string', description: 'Access token or API key (browsers cannot set headers)' } },
        },
      },
      // Authenticated before the upgrade: a bad token gets a plain 401, never an open socket.
      preValidation: async (request) => {
        const token = bearerToken(request) ?? request.query.token;
        if (!token) throw new AppError('UNAUTHENTICATED', 'Pass an access token as ?token= or a bearer header');
        const principal = await opts.authenticate(token);
        // A socket outlives its request: a credential that still verifies but was revoked (a signed-out session's
        // access token) opens none.
        await opts.realtime.admit(principal);
        request.principal = principal;
      },
    },
    (socket, request) => {
      opts.realtime.attach(socket, request.principal!);
    },
  );
}
