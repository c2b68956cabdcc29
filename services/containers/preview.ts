/**
 * The preview: a port inside a project's sandbox (3000 unless the project says otherwise, or the port of a
 * managed process that listens when nothing listens there: preview-port.ts), served to people
 * who may read the project from an origin of its own, never the IDE's: `<label>.preview.localhost:<port>` by
 * default (PREVIEW_ORIGIN elsewhere). The label is random, one per person and project, and names the grant:
 * the app needs no cookie or token of ours, so nothing of ours is there for it to steal, and a service worker
 * or cookie it sets stays in its own origin. Access is checked again on every request.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../lib/access.js';
import type { Config } from '../../lib/config.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { choosePreviewPort, PreviewPorts, type ListenerOf, type PreviewServing, type SandboxListeners } from './preview-port.js';
import type { SandboxManager, Stack } from './sandboxes.js';
import { sandboxNames } from './sandbox-spec.js';
import * as store from './store.js';

export type AuthorizePreview = (
  principal: Principal,
  projectId: string,
  permission: 'read',
) => Promise<{ id: string; stack: Stack; previewPort: number }>;

export interface PreviewTarget {
  projectId: string;
  host: string;
  port: number;
}

/** How the caller reached the API: previews default to the same scheme and port. */
export interface RequestOrigin {
  scheme: 'http' | 'https';
  /** The Host header's port ('' for the scheme's default). */
  port: string;
}

const DEFAULT_HOST_SUFFIX = '.preview.localhost';
const LABEL_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 26 base32 characters: 130 random bits. */
const LABEL = /^[a-z2-7]{26}$/;

function newLabel(): string {
  const bytes = randomBytes(26);
  let label = '';
  for (const byte of bytes) label += LABEL_ALPHABET[byte & 31];
  return label;
}

export class PreviewService {
  private readonly hostSuffix: string;

  constructor(
    private readonly deps: {
      db: Db;
      manager: SandboxManager;
      authorize: AuthorizePreview;
      origin: Config['previewOrigin'];
      /** What listens in a sandbox: the preview follows a managed process that listens when its port has nothing. */
      listeners?: SandboxListeners;
      /** Who listens on a port that no managed process holds (a server started in a terminal). */
      listenerOf?: ListenerOf;
    },
  ) {
    this.hostSuffix = deps.origin?.hostSuffix ?? DEFAULT_HOST_SUFFIX;
    this.ports = new PreviewPorts(deps.listeners);
  }

  private readonly ports: PreviewPorts;

  /** The caller's preview of the project: its origin and the URL to open (in a frame or a tab). */
  async open(principal: Principal, projectId: string, via: RequestOrigin): Promise<{ url: string; origin: string; port: number }> {
    const project = await this.deps.authorize(principal, projectId, 'read');
    const label = await store.ensurePreviewHost(this.deps.db, projectId, principal.userId, newLabel());
    const origin = this.originOf(label, via);
    return { url: `${origin}/`, origin, port: project.previewPort };
  }

  /** What the preview serves now: the port, whether anything listens there, and which process that is. */
  async serving(principal: Principal, projectId: string): Promise<PreviewServing> {
    const project = await this.deps.authorize(principal, projectId, 'read');
    if (!this.deps.listeners) return { port: project.previewPort, listening: null, process: null };
    let found: Awaited<ReturnType<SandboxListeners>>;
    try {
      found = await this.deps.listeners(project.id, project.stack);
    } catch {
      return { port: project.previewPort, listening: null, process: null };
    }
    const port = choosePreviewPort(project.previewPort, found.processes, found.listening);
    if (!found.listening.includes(port)) return { port, listening: false, process: null };
    const managed = found.processes.find((p) => p.status === 'running' && p.ports.includes(port));
    if (managed) return { port, listening: true, process: { processId: managed.id, command: managed.command } };
    const other = await this.deps.listenerOf?.(project.id, project.stack, port).catch(() => null);
    return { port, listening: true, process: other ?? null };
  }

  /** Gives the caller a new preview origin for the project; the old one stops answering. */
  async rotate(principal: Principal, projectId: string): Promise<void> {
    await this.deps.authorize(principal, projectId, 'read');
    await store.deletePreviewHost(this.deps.db, projectId, principal.userId);
  }

  /** The preview label a Host header names, or undefined when the host is not a preview's. */
  labelOf(hostHeader: string | undefined): string | undefined {
    if (!hostHeader) return undefined;
    const host = hostHeader.toLowerCase().replace(/:\d+$/, '');
    if (!host.endsWith(this.hostSuffix)) return undefined;
    const label = host.slice(0, -this.hostSuffix.length);
    return LABEL.test(label) ? label : '';
  }

  /** Where the preview of a label answers, for the person it belongs to, resuming the sandbox if need be. */
  async target(label: string): Promise<PreviewTarget> {
    const grant = LABEL.test(label) ? await store.findPreviewHost(this.deps.db, label) : undefined;
    if (!grant) throw new AppError('NOT_FOUND', 'This preview address is not valid (any more): open the preview from the IDE');
    const project = await this.deps.authorize({ kind: 'user', userId: grant.user_id }, grant.project_id, 'read');
    const container = await this.deps.manager.ensureRunning(project.id, project.stack);
    const info = await container.inspect();
    const host = info.NetworkSettings.Networks[sandboxNames(project.id).network]?.IPAddress;
    if (!host) throw new AppError('SERVICE_UNAVAILABLE', 'The sandbox has no network address yet');
    return { projectId: project.id, host, port: await this.ports.portFor(project) };
  }

  /** The CSP source that matches every preview origin (the IDE frames them). */
  frameSource(): string {
    const origin = this.deps.origin;
    if (!origin) return `http://*${DEFAULT_HOST_SUFFIX}:* https://*${DEFAULT_HOST_SUFFIX}:*`;
    return `${origin.scheme}://*${origin.hostSuffix}${origin.port ? `:${origin.port}` : ''}`;
  }

  private originOf(label: string, via: RequestOrigin): string {
    const configured = this.deps.origin;
    const scheme = configured?.scheme ?? via.scheme;
    const port = configured ? configured.port : via.port;
    return `${scheme}://${label}${this.hostSuffix}${port ? `:${port}` : ''}`;
  }
}
