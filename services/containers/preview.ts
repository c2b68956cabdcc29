/**
 * The preview: a port inside a project's sandbox (3000 unless the project says otherwise), served at
 * /preview/:projectId/ to people who may read the project. A browser frame cannot send a bearer header, so
 * the IDE asks for a short-lived preview token that opens the preview once and then lives in a cookie
 * scoped to that project's preview path.
 */
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import { signToken, verifyToken } from '../../lib/signed-token.js';
import type { SandboxManager, Stack } from './sandboxes.js';
import { sandboxNames } from './sandbox-spec.js';
import type Docker from 'dockerode';

export const PREVIEW_TOKEN_PARAM = 'vf_preview_token';
export const PREVIEW_COOKIE = 'vf_preview';
const PREVIEW_TOKEN_TTL_SECONDS = 12 * 3600;

export type AuthorizePreview = (
  principal: Principal,
  projectId: string,
  permission: 'read',
) => Promise<{ id: string; stack: Stack; previewPort: number }>;

export interface PreviewTarget {
  host: string;
  port: number;
}

export class PreviewService {
  constructor(
    private readonly deps: {
      docker: Docker;
      manager: SandboxManager;
      authorize: AuthorizePreview;
      secret: string;
    },
  ) {}

  /** A URL that opens the project's preview in a browser, for whoever may read the project. */
  async open(principal: Principal, projectId: string): Promise<{ url: string; port: number; expiresAt: string }> {
    const project = await this.deps.authorize(principal, projectId, 'read');
    const token = signToken({ typ: 'preview', sub: principal.userId, pid: projectId }, this.deps.secret, PREVIEW_TOKEN_TTL_SECONDS);
    return {
      url: `/preview/${projectId}/?${PREVIEW_TOKEN_PARAM}=${encodeURIComponent(token)}`,
      port: project.previewPort,
      expiresAt: new Date(Date.now() + PREVIEW_TOKEN_TTL_SECONDS * 1000).toISOString(),
    };
  }

  /** Checks a preview token for this project (access is checked again on every request). */
  principalOf(token: string, projectId: string): Principal {
    let claims;
    try {
      claims = verifyToken(token, this.deps.secret, 'preview');
    } catch {
      throw new AppError('UNAUTHENTICATED', 'Open the preview from the IDE: the preview link is missing or has expired');
    }
    if (claims.pid !== projectId) throw new AppError('PROJECT_NOT_FOUND', 'No such project');
    return { kind: 'user', userId: claims.sub };
  }

  /** Where the project's preview port answers, resuming the sandbox if need be. */
  async target(principal: Principal, projectId: string): Promise<PreviewTarget> {
    const project = await this.deps.authorize(principal, projectId, 'read');
    const container = await this.deps.manager.ensureRunning(projectId, project.stack);
    const info = await container.inspect();
    const host = info.NetworkSettings.Networks[sandboxNames(projectId).network]?.IPAddress;
    if (!host) throw new AppError('SERVICE_UNAVAILABLE', 'The sandbox has no network address yet');
    return { host, port: project.previewPort };
  }
}
