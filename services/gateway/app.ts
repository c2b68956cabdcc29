/**
 * The composition root: builds the services from the infrastructure they need and mounts their routes on
 * one Fastify app. `main.ts` runs it; tests build it the same way against their own components.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import helmet from 'helmet';
import type { Config } from '../../lib/config.js';
import type { Db } from '../../lib/db.js';
import type { EventBus } from '../../lib/event-bus.js';
import { errorSchema } from '../../lib/http.js';
import type { ObjectStore } from '../../lib/object-store.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { WorkerPool } from '../../lib/worker-pool.js';
import {
  ApprovalPolicies,
  Checkpoints,
  checkUserBaseUrl,
  createProvider,
  createToolbox,
  policyRoutes,
  registerRunStreaming,
  RunEngine,
  RunEventsHub,
  RunFailure,
  RunsService,
  runsRoutes,
  type LlmProvider,
  type RunLimits,
  type Toolbox,
} from '../agents/index.js';
import { AuthService, authRoutes } from '../auth/index.js';
import {
  ContainersService,
  containersRoutes,
  processRoutes,
  createPreviewProxy,
  PreviewService,
  previewRoutes,
  registerExecStreaming,
  registerTerminals,
  pingDocker,
  SandboxDisks,
  DeploymentIdentity,
  reapOrphans,
  ProjectPostgres,
  ProjectRedis,
  SandboxManager,
  sandboxEvents,
  type Docker,
  type Stack,
} from '../containers/index.js';
import { DEFAULT_FILES_LIMITS, FilesService, filesRoutes } from '../files/index.js';
import { ProjectIrService, irRoutes } from '../ir/index.js';
import { GenerateService, generatorsRoutes } from '../generators/index.js';
import { ProjectsService, projectsRoutes } from '../projects/index.js';
import { LoggedEventBus, ProjectEventLog, RealtimeService, realtimeRoutes } from '../realtime/index.js';
import { LLM_SECRET_NAMES, SecretsService, secretsRoutes } from '../secrets/index.js';
import { checkSandboxImages } from '../../sandbox-images/build.js';
import type { TemporalClient } from '../../workflows/client.js';
import { temporalRunOrchestrator } from '../../workflows/agent-runs.js';
import { registerErrorHandling, routeNotFound } from './errors.js';
import { cachedCheck, registerHealth } from './health.js';
import { registerMetrics } from './metrics.js';
import { genRequestId, loggerOptions } from './logging.js';

export interface Infrastructure {
  config: Config;
  db: Db;
  bus: EventBus;
  docker: Docker;
  temporal: TemporalClient;
  limiter: RateLimiter;
  objects: ObjectStore;
  /** The image of a stack's sandboxes (sandbox-images/ builds them). */
  imageFor: (stack: Stack) => string;
  /** The image of projects' own PostgreSQL (sandbox-images/postgres). */
  postgresImage: string;
  /** The image of projects' own Redis (sandbox-images/redis). */
  redisImage: string;
}

export interface Services {
  auth: AuthService;
  projects: ProjectsService;
  realtime: RealtimeService;
  sandboxes: SandboxManager;
  /** Project and personal secrets: encrypted at rest, given to commands as environment, redacted from output. */
  secrets: SecretsService;
  /** Removes the sandboxes of deleted projects (at start-up and periodically); the ids it reaped. */
  reapSandboxes: () => Promise<string[]>;
  containers: ContainersService;
  preview: PreviewService;
  files: FilesService;
  ir: ProjectIrService;
  generate: GenerateService;
  /** Each project's approval policy for agent runs. */
  approvalPolicies: ApprovalPolicies;
  /** Agent runs' checkpoints of the workspace (a git repository apart from the user's), and their revert. */
  checkpoints: Checkpoints;
  /** Threads for work whose cost a user controls; ended when the app closes. */
  workers: WorkerPool;
  /** Agent runs: started and steered here, run by the worker's `agentRun` workflow. */
  runs: RunsService;
  /** Run events as the worker appends them, live to this instance's subscribers. */
  runEvents: RunEventsHub;
  /** Every project's events, numbered: what a reconnecting or newly opened IDE replays. */
  events: ProjectEventLog;
  /** The bus the services publish on: each event is logged (numbered) before it goes out. */
  bus: EventBus;
}

export function createServices(infra: Infrastructure, onError: (err: unknown) => void): Services {
  const { config, db, limiter } = infra;
  // Every event is numbered in its project's log before it goes out: clients resume and replay from there.
  const events = new ProjectEventLog(db);
  const bus = new LoggedEventBus(infra.bus, events, onError);
  // Auth and projects need each other's answers; the late binding keeps their modules independent.
  let projects: ProjectsService | undefined;
  const auth = new AuthService({
    db,
    config: config.auth,
    limiter,
    visibleProjects: (userId, ids) => projects!.visibleProjectIds(userId, ids),
    onBackgroundError: onError,
  });
  projects = new ProjectsService({ db, bus, users: auth });
  const authorize = projects.authorize.bind(projects);
  const secrets = new SecretsService({ db, keys: config.secrets, authorize, onError });
  const realtime = new RealtimeService({
    bus,
    log: events,
    canRead: async (principal, projectId) => void (await projects.authorize(principal, projectId, 'read')),
    checkPrincipal: (principal) => auth.checkPrincipal(principal),
    recheckMs: config.realtime.recheckMs,
    onError,
  });
  const deployment = new DeploymentIdentity(db);
  // Projects' own services derive their passwords from the server's secret.
  const serviceDeps = { docker: infra.docker, secret: config.auth.jwtSecret, deployment };
  const sandboxes = new SandboxManager({
    docker: infra.docker,
    db,
    objects: infra.objects,
    imageFor: infra.imageFor,
    limits: { memoryBytes: config.sandbox.memoryBytes, cpus: config.sandbox.cpus, pids: config.sandbox.pids },
    subnetPool: config.sandbox.subnetPool,
    idle: { pauseAfterMs: config.sandbox.pauseAfterMs, stopAfterMs: config.sandbox.stopAfterMs, terminalIdleMs: config.sandbox.terminalIdleMs },
    onChange: sandboxEvents(bus),
    onError,
    agentSecret: config.auth.jwtSecret,
    disks: new SandboxDisks({ docker: infra.docker, db, dir: config.sandbox.disksDir, sizeBytes: config.sandbox.diskBytes, deployment }),
    deployment,
    services: {
      containers: {
        postgres: new ProjectPostgres({ ...serviceDeps, image: infra.postgresImage, limits: config.sandbox.postgres }),
        redis: new ProjectRedis({ ...serviceDeps, image: infra.redisImage, limits: config.sandbox.redis }),
      },
      enabled: (projectId) => projects.servicesEnabled(projectId),
    },
  });
  const containers = new ContainersService({
    docker: infra.docker,
    manager: sandboxes,
    authorize,
    config: config.sandbox,
    bus,
    secrets,
  });
  registerExecStreaming(realtime, containers, onError);
  registerTerminals(realtime, containers, onError);
  const preview = new PreviewService({
    db,
    manager: sandboxes,
    authorize,
    origin: config.previewOrigin,
    listeners: (projectId, stack) => containers.sandboxProcesses(projectId, stack),
    listenerOf: (projectId, stack, port) => containers.listenerOf(projectId, stack, port),
  });
  const files = new FilesService({
    sandboxes,
    exec: (projectId, stack, request) => containers.run(projectId, stack, request),
    authorize,
    bus,
    db,
    limits: { searchTimeoutMs: Math.min(DEFAULT_FILES_LIMITS.searchTimeoutMs, config.sandbox.execTimeoutMs) },
    onError,
  });
  // Turning a project's service on starts it now when the sandbox runs; turning it off removes its container.
  projects.onServicesChange((projectId) => containers.syncServices(projectId));
  // A project's sandbox goes with it, its workspace saved as a snapshot first.
  projects.onDelete(async (projectId) => {
    await files.stopWatching(projectId);
    await containers.destroyForProject(projectId);
  });
  const workers = new WorkerPool(config.workers);
  const ir = new ProjectIrService({ files, db, workers });
  const generate = new GenerateService({ ir, files, workers });
  const reapSandboxes = () =>
    reapOrphans({
      docker: infra.docker,
      manager: sandboxes,
      deployment,
      existingProjects: (ids) => projects.existingProjectIds(ids),
      onError,
    });
  const approvalPolicies = new ApprovalPolicies({ db, authorize });
  const checkpoints = new Checkpoints({ authorize, run: (projectId, stack, request) => containers.run(projectId, stack, request), db });
  const runs = new RunsService({
    db,
    authorize,
    orchestrator: temporalRunOrchestrator(infra.temporal),
    checkpoints,
    llm: { provider: config.llm.provider, model: config.llm.model },
  });
  const runEvents = new RunEventsHub({ db, bus, onError });
  registerRunStreaming(realtime, runs, runEvents);
  return {
    auth,
    projects,
    realtime,
    sandboxes,
    containers,
    preview,
    files,
    ir,
    generate,
    approvalPolicies,
    checkpoints,
    workers,
    reapSandboxes,
    runs,
    runEvents,
    events,
    bus,
    secrets,
  };
}

/** The engine the worker's agent activities drive, acting through the same services as the API. */
export function createRunEngine(
  infra: Infrastructure,
  services: Services,
  onError: (err: unknown) => void,
  options: {
    limits?: Partial<RunLimits>;
    wrapToolbox?: (toolbox: Toolbox) => Toolbox;
    /** Changes each model provider the engine uses (the agent benchmark times the model's share of a step). */
    wrapProvider?: (provider: LlmProvider) => LlmProvider;
  } = {},
): RunEngine {
  const { config } = infra;
  const built = createToolbox({
    ir: services.ir,
    files: services.files,
    generate: services.generate,
    containers: services.containers,
    maxCommandTimeoutMs: config.sandbox.execTimeoutMs,
  });
  const toolbox = options.wrapToolbox ? options.wrapToolbox(built) : built;
  return new RunEngine({
    db: infra.db,
    toolbox,
    checkpoints: services.checkpoints,
    ir: services.ir,
    policies: services.approvalPolicies,
    // The run's user's own key and base URL (their secrets, opened in the activity) before the server's.
    provider: (name, credentials) => {
      const provider = createProvider(name, {
        apiKey: credentials?.apiKey ?? config.llm[name].apiKey,
        baseUrl: credentials?.baseUrl ?? config.llm[name].baseUrl,
      });
      return options.wrapProvider ? options.wrapProvider(provider) : provider;
    },
    secrets: {
      redactorFor: (projectId, userId) => services.secrets.redactorFor(projectId, userId),
      projectSecretNames: (projectId) => services.secrets.projectSecretNames(projectId),
      async llmCredentials(userId, name, context) {
        const prefix = name === 'anthropic' ? 'ANTHROPIC' : 'OPENAI';
        const names = LLM_SECRET_NAMES.filter((secret) => secret.startsWith(`${prefix}_`));
        const values = await services.secrets.userValues(userId, names, context);
        const baseUrl = values[`${prefix}_BASE_URL`];
        if (baseUrl !== undefined && !config.llm.userBaseUrlPrivate) {
          await checkUserBaseUrl(baseUrl, `${prefix}_BASE_URL`).catch((err: Error) => {
            throw new RunFailure(err.message);
          });
        }
        return { apiKey: values[`${prefix}_API_KEY`], baseUrl };
      },
    },
    contextWindows: config.llm.contextWindows,
    limits: options.limits ?? config.agents,
    onError,
  });
}

export const API_PREFIX = '/api/v1';
const IMAGES_CHECK_TTL_MS = 5000;

export async function buildApp(
  infra: Infrastructure,
  services: Services,
  options: { logger?: FastifyServerOptions['logger'] } = {},
): Promise<FastifyInstance> {
  const { config } = infra;
  // Requests for a preview's origin never reach the API: the server hands them (HTTP and WebSocket upgrades)
  // to the preview proxy before Fastify sees them; the API's own upgrades go to its WebSocket plugin.
  const previewProxy = createPreviewProxy(services.preview, (err) => app.log.error({ err }, 'preview failure'));
  const apiUpgrades = new EventEmitter();
  const app = Fastify({
    serverFactory: (handler) => {
      const server = http.createServer((request, response) => {
        const label = previewProxy.labelOf(request);
        if (label === undefined) handler(request, response);
        else previewProxy.handleRequest(request, response, label);
      });
      server.on('upgrade', (request: http.IncomingMessage, socket, head: Buffer) => {
        const label = previewProxy.labelOf(request);
        if (label === undefined) apiUpgrades.emit('upgrade', request, socket, head);
        else previewProxy.handleUpgrade(request, socket, head, label);
      });
      return server;
    },
    logger: options.logger ?? loggerOptions(config.logLevel),
    genReqId: genRequestId,
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    // Unknown fields are refused, not silently dropped: a typo in a field name must not pass unnoticed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  app.decorateRequest('principal', null);
  app.addHook('onClose', () => services.workers.close());
  app.addHook('onClose', async () => services.containers.close());
  app.addHook('onClose', () => services.runEvents.close());
  // A wrong or missing master key stops the start here, before anything is written with it.
  await services.secrets.open();
  await services.runEvents.start();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  app.setNotFoundHandler(ideFallback(config.ideDistDir));

  // Built once: the security headers are the same for every response (building them per request showed
  // in the API benchmark's profile).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Monaco sets inline styles and runs its language services in workers.
        styleSrc: ["'self'", "'unsafe-inline'"],
        workerSrc: ["'self'", 'blob:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        frameSrc: ["'self'", ...services.preview.frameSource().split(' ')],
        frameAncestors: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) =>
    securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err instanceof Error ? err : undefined)),
  );
  await app.register(cors, {
    origin: config.http.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
  // `server` only tells the plugin where upgrades arrive: the API's share of them, sorted above.
  await app.register(websocket, { options: { maxPayload: 1024 * 1024, server: apiUpgrades as unknown as http.Server } });
  app.addHook('onClose', async () => previewProxy.close());
  // Another instance takes over the file watchers this one held.
  app.addHook('onClose', async () => services.files.close());
  app.addSchema(errorSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vaporform API',
        version: '1',
        description: 'Projects, sandboxes and agents of Vaporform. Errors are { "error": { code, message, details? } }.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token, or an API key (vf_...)' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  registerMetrics(app);
  registerHealth(app, {
    postgres: async () => void (await infra.db.query('SELECT 1')),
    temporal: () => infra.temporal.check(),
    docker: () => pingDocker(infra.docker),
    // Hashes the images' recipes and inspects five images: reused for a few seconds.
    sandboxImages: cachedCheck(() => checkSandboxImages(infra.docker, config.images), IMAGES_CHECK_TTL_MS),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const authenticate = (token: string) => services.auth.authenticate(token);
  await app.register(
    async (api) => {
      await api.register(authRoutes, {
        auth: services.auth,
        allowedOrigins: config.http.corsOrigins,
        refreshTtlSeconds: config.auth.refreshTokenTtlSeconds,
      });
      await api.register(projectsRoutes, { projects: services.projects, authenticate });
      await api.register(realtimeRoutes, { realtime: services.realtime, authenticate });
      await api.register(containersRoutes, { containers: services.containers, authenticate });
      await api.register(processRoutes, { containers: services.containers, authenticate });
      await api.register(filesRoutes, { files: services.files, authenticate });
      await api.register(irRoutes, { ir: services.ir, authenticate });
      await api.register(generatorsRoutes, { generate: services.generate, authenticate });
      await api.register(previewRoutes, { preview: services.preview, authenticate });
      await api.register(policyRoutes, { policies: services.approvalPolicies, authenticate });
      await api.register(runsRoutes, { runs: services.runs, authenticate });
      await api.register(secretsRoutes, { secrets: services.secrets, authenticate });
    },
    { prefix: API_PREFIX },
  );

  if (existsSync(path.join(config.ideDistDir, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: config.ideDistDir,
      wildcard: false,
      index: ['index.html'],
      // The build writes .br and .gz beside each file; the browser's Accept-Encoding picks one.
      preCompressed: true,
      cacheControl: false,
      setHeaders: (reply, filePath) => reply.header('cache-control', ideCacheControl(filePath)),
    });
  }
  return app;
}

/**
 * Hashed build assets never change under their name: cached for a year. Everything else (index.html, the
 * favicon) is checked with the server on each use, so a new build is picked up at once.
 */
export function ideCacheControl(filePath: string): string {
  return /[\\/]assets[\\/]/.test(filePath) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** Unknown API paths get a JSON 404; any other page path gets the IDE, which routes on the client. */
function ideFallback(ideDistDir: string) {
  const hasIde = () => existsSync(path.join(ideDistDir, 'index.html'));
  return (request: Parameters<typeof routeNotFound>[0], reply: Parameters<typeof routeNotFound>[1]) => {
    const isPage =
      (request.method === 'GET' || request.method === 'HEAD') &&
      !request.url.startsWith(API_PREFIX) &&
      (request.headers.accept ?? '').includes('text/html');
    if (isPage && hasIde()) return reply.sendFile('index.html');
    return routeNotFound(request, reply);
  };
}
