/**
 * Configuration: read from the environment once, validated, then passed in. Nothing else reads
 * `process.env`. Every variable and its default is listed in README.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  dbPoolMax: number;
  redisUrl: string | undefined;
  temporal: { address: string; namespace: string; taskQueue: string };
  docker: { socketPath: string | undefined; host: string | undefined };
  auth: {
    jwtSecret: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    bcryptCost: number;
    loginFailuresPerAccount: number;
    loginAttemptsPerAddress: number;
    loginWindowSeconds: number;
  };
  http: { bodyLimitBytes: number; corsOrigins: string[]; trustProxy: boolean };
  /** How long an open WebSocket may go without re-checking its credential and its subscriptions' access. */
  realtime: { recheckMs: number };
  sandbox: {
    memoryBytes: number;
    cpus: number;
    pids: number;
    pauseAfterMs: number;
    stopAfterMs: number;
    /** A terminal nobody attached to (and that printed nothing) for this long no longer keeps its sandbox awake. */
    terminalIdleMs: number;
    execOutputLimitBytes: number;
    execTimeoutMs: number;
    subnetPool: string;
    /** Each project's disk (workspace and home): an ext4 file system of this size, see sandbox-disk.ts. */
    diskBytes: number;
    /** Where the projects' disk images and their mount points are kept. */
    disksDir: string;
    /** Limits of a project's own PostgreSQL (PROJECT_POSTGRES_MEMORY_MB, _CPU_MILLIS, _PIDS). */
    postgres: { memoryBytes: number; cpus: number; pids: number };
    /** Limits of a project's own Redis (PROJECT_REDIS_MEMORY_MB, _CPU_MILLIS, _PIDS). */
    redis: { memoryBytes: number; cpus: number; pids: number };
  };
  images: SandboxImageSettings;
  /** Worker threads for work whose cost a user controls (IR checks, generation): see lib/worker-pool.ts. */
  workers: { size: number; timeoutMs: number; maxHeapMb: number };
  objectsDir: string;
  /** S3 or MinIO for objects; unset: the local objects directory. */
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string } | undefined;
  ideDistDir: string;
  /**
   * Where previews are served: an origin template whose host starts with `*.`, the `*` becoming a preview's
   * own label (one origin per project and person). Unset: `<scheme>://*.preview.localhost:<the API's port>`,
   * a name browsers resolve to loopback and a site apart from the IDE's.
   */
  previewOrigin: { scheme: 'http' | 'https'; hostSuffix: string; port: string } | undefined;
  /** LLM providers: the default choice, and each provider's key and base URL (unset: the provider's own API). */
  llm: {
    provider: LlmProviderName;
    /** Unset: the default provider's own default model (services/agents/providers). */
    model: string | undefined;
    anthropic: { apiKey: string | undefined; baseUrl: string | undefined };
    openai: { apiKey: string | undefined; baseUrl: string | undefined };
    /** Context windows in tokens by model name (LLM_CONTEXT_WINDOWS), for models the price list does not know. */
    contextWindows: Record<string, number>;
    /** LLM_USER_BASE_URL_PRIVATE=allow: a person's own base URL may point at loopback or a private network. */
    userBaseUrlPrivate: boolean;
  };
  /**
   * Envelope encryption of secrets (services/secrets): the master key that wraps new data keys, and earlier
   * master keys still readable while a rotation re-wraps under the new one.
   */
  secrets: { masterKey: Buffer; previousMasterKeys: Buffer[] };
  /** What one stretch of an agent run's work (the goal, or a message) may use before it stops and asks. */
  agents: {
    /** AGENT_MAX_TOKENS */
    maxTokens: number;
    /** AGENT_MAX_COST_CENTS */
    maxCostUsd: number;
    /** AGENT_MAX_MINUTES */
    maxWallMs: number;
    /** AGENT_TOOL_TIMEOUT_SECONDS: the longest a tool other than run_command may take. */
    toolTimeoutMs: number;
  };
}

/** The same names as services/agents/providers' `ProviderName` (lib imports no service). */
export type LlmProviderName = 'anthropic' | 'openai';

type Env = Record<string, string | undefined>;

/** How sandbox images are built and found; the image build (sandbox-images/build.ts) reads it without a database. */
export interface SandboxImageSettings {
  /** The tag of the base and stack images (`latest`; another keeps a second checkout's images apart). */
  tag: string;
  /** Extra CA certificates (`*.crt`) every sandbox trusts besides Debian's, e.g. a TLS-inspecting proxy's; null: none. */
  caCertsDir: string | null;
  /** Downloaded Node/npm tarballs and the build lock. */
  cacheDir: string;
}

/** The host's own extra CA certificates on Debian (what update-ca-certificates adds to the system store). */
const HOST_CA_CERTS_DIR = '/usr/local/share/ca-certificates';

class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** A secret from the environment, or one generated once and kept under the data directory (one machine). */
function secret(
  env: Env,
  name: string,
  dataDir: string,
  fileName: string,
  generate: () => string = () => randomBytes(48).toString('base64url'),
): string {
  const fromEnv = env[name];
  if (fromEnv) {
    if (fromEnv.length < 32) throw new ConfigError(`${name} must be at least 32 characters`);
    return fromEnv;
  }
  const file = path.join(dataDir, 'secrets', fileName);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = generate();
  // 'wx' so that two processes starting at once cannot each write a different secret.
  try {
    writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}

/** A master key: 32 bytes in base64 (`openssl rand -base64 32`). */
function masterKeyOf(name: string, raw: string): Buffer {
  const key = Buffer.from(raw.trim(), 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return key;
}

/**
 * VAPORFORM_MASTER_KEY, and VAPORFORM_MASTER_KEY_PREVIOUS (comma-separated) during a rotation. Unset outside
 * production: one generated once under DATA_DIR/secrets/master-key (mode 0600) and reused.
 */
function secretsSettings(env: Env, dataDir: string): Config['secrets'] {
  const previousMasterKeys = (env.VAPORFORM_MASTER_KEY_PREVIOUS ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((raw) => masterKeyOf('VAPORFORM_MASTER_KEY_PREVIOUS', raw));
  const given = env.VAPORFORM_MASTER_KEY;
  if (given) return { masterKey: masterKeyOf('VAPORFORM_MASTER_KEY', given), previousMasterKeys };
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('VAPORFORM_MASTER_KEY is not set: in production the master key of secrets must be given (32 bytes in base64)');
  }
  const file = path.join(dataDir, 'secrets', 'master-key');
  return { masterKey: masterKeyOf(`the master key in ${file}`, secret({}, 'unused', dataDir, 'master-key', () => randomBytes(32).toString('base64'))), previousMasterKeys };
}

/** PREVIEW_ORIGIN, e.g. `https://*.preview.example.com` or `http://*.preview.localhost:4000`. */
function previewOrigin(env: Env): Config['previewOrigin'] {
  const raw = env.PREVIEW_ORIGIN;
  if (!raw) return undefined;
  const match = /^(https?):\/\/\*((?:\.[a-z0-9-]+)+)(?::(\d{1,5}))?\/?$/i.exec(raw.trim());
  if (!match) {
    throw new ConfigError(`PREVIEW_ORIGIN must look like http(s)://*.preview.example.com[:port], got "${raw}"`);
  }
  return { scheme: match[1]!.toLowerCase() as 'http' | 'https', hostSuffix: match[2]!.toLowerCase(), port: match[3] ?? '' };
}

function s3Settings(env: Env): Config['s3'] {
  const endpoint = env.S3_ENDPOINT;
  if (!endpoint) return undefined;
  if (!/^https?:\/\//.test(endpoint)) throw new ConfigError(`S3_ENDPOINT must be an http(s) URL, got "${endpoint}"`);
  const accessKey = env.S3_ACCESS_KEY;
  const secretKey = env.S3_SECRET_KEY;
  if (!accessKey || !secretKey) throw new ConfigError('S3_ENDPOINT is set: S3_ACCESS_KEY and S3_SECRET_KEY are needed too');
  return { endpoint, accessKey, secretKey, bucket: env.S3_BUCKET || 'vaporform', region: env.S3_REGION || 'us-east-1' };
}

function llmSettings(env: Env): Config['llm'] {
  const provider = env.LLM_PROVIDER || 'anthropic';
  if (provider !== 'anthropic' && provider !== 'openai') {
    throw new ConfigError(`LLM_PROVIDER must be anthropic or openai, got "${provider}"`);
  }
  const url = (name: string): string | undefined => {
    const value = env[name];
    if (!value) return undefined;
    if (!/^https?:\/\//.test(value)) throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
    return value;
  };
  return {
    provider,
    model: env.LLM_MODEL || undefined,
    anthropic: { apiKey: env.ANTHROPIC_API_KEY || undefined, baseUrl: url('ANTHROPIC_BASE_URL') },
    openai: { apiKey: env.OPENAI_API_KEY || undefined, baseUrl: url('OPENAI_BASE_URL') },
    contextWindows: contextWindows(env.LLM_CONTEXT_WINDOWS),
    userBaseUrlPrivate: env.LLM_USER_BASE_URL_PRIVATE === 'allow',
  };
}

/** `model=tokens,model=tokens`, e.g. `llama-3.3-70b=131072,qwen3-coder=262144`. */
function contextWindows(raw: string | undefined): Record<string, number> {
  const windows: Record<string, number> = {};
  for (const entry of (raw ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=(\d+)$/.exec(entry);
    const tokens = match ? Number(match[2]) : NaN;
    if (!match || !Number.isSafeInteger(tokens) || tokens < 4096) {
      throw new ConfigError(`LLM_CONTEXT_WINDOWS must look like model=tokens,model=tokens (at least 4096 tokens each), got "${entry}"`);
    }
    windows[match[1]!] = tokens;
  }
  return windows;
}

export function sandboxImageSettings(env: Env = process.env): SandboxImageSettings {
  const dataDir = path.resolve(repoRoot, env.DATA_DIR ?? '.data');
  const tag = env.SANDBOX_IMAGE_TAG || 'latest';
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new ConfigError(`SANDBOX_IMAGE_TAG must be a Docker tag, got "${tag}"`);
  const given = env.SANDBOX_CA_CERTS_DIR;
  let caCertsDir: string | null;
  if (given === undefined) caCertsDir = existsSync(HOST_CA_CERTS_DIR) ? HOST_CA_CERTS_DIR : null;
  else if (given === '') caCertsDir = null;
  else {
    caCertsDir = path.resolve(repoRoot, given);
    if (!existsSync(caCertsDir) || !statSync(caCertsDir).isDirectory()) {
      throw new ConfigError(`SANDBOX_CA_CERTS_DIR is not a directory: "${given}" (set it empty to trust no extra CA)`);
    }
  }
  return { tag, caCertsDir, cacheDir: path.join(dataDir, 'image-cache') };
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(repoRoot, env.DATA_DIR ?? '.data');
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    throw new ConfigError('DATABASE_URL is not set: start Vaporform with `npm start`, or set DATABASE_URL');
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 4000, 0, 65535),
    logLevel: env.LOG_LEVEL || 'info',
    dataDir,
    databaseUrl,
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    redisUrl: env.REDIS_URL || undefined,
    temporal: {
      address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || 'vaporform',
    },
    docker: { socketPath: env.DOCKER_SOCKET || undefined, host: env.DOCKER_HOST || undefined },
    auth: {
      jwtSecret: secret(env, 'JWT_SECRET', dataDir, 'jwt-secret'),
      accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 15 * 60, 10),
      refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 24 * 3600, 60),
      bcryptCost: int(env, 'BCRYPT_COST', 12, 4, 15),
      loginFailuresPerAccount: int(env, 'LOGIN_FAILURES_PER_ACCOUNT', 5, 1),
      loginAttemptsPerAddress: int(env, 'LOGIN_ATTEMPTS_PER_ADDRESS', 30, 1),
      loginWindowSeconds: int(env, 'LOGIN_WINDOW_SECONDS', 15 * 60, 1),
    },
    http: {
      bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024),
      corsOrigins: (env.CORS_ORIGINS ?? 'http://127.0.0.1:5173,http://localhost:5173')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
      trustProxy: bool(env, 'TRUST_PROXY', false),
    },
    realtime: { recheckMs: int(env, 'REALTIME_RECHECK_SECONDS', 30, 1, 3600) * 1000 },
    sandbox: {
      memoryBytes: int(env, 'SANDBOX_MEMORY_MB', 1024, 64) * 1024 * 1024,
      cpus: int(env, 'SANDBOX_CPU_MILLIS', 1000, 100) / 1000,
      pids: int(env, 'SANDBOX_PIDS', 256, 16),
      pauseAfterMs: int(env, 'SANDBOX_PAUSE_AFTER_SECONDS', 300, 1) * 1000,
      stopAfterMs: int(env, 'SANDBOX_STOP_AFTER_SECONDS', 1800, 1) * 1000,
      terminalIdleMs: int(env, 'SANDBOX_TERMINAL_IDLE_SECONDS', 900, 1, 7 * 24 * 3600) * 1000,
      execOutputLimitBytes: int(env, 'EXEC_OUTPUT_LIMIT_BYTES', 1024 * 1024, 1024),
      execTimeoutMs: int(env, 'EXEC_MAX_TIMEOUT_SECONDS', 600, 1) * 1000,
      subnetPool: env.SANDBOX_SUBNET_POOL || '10.213.0.0/16',
      diskBytes: int(env, 'SANDBOX_DISK_MB', 2048, 16, 16 * 1024 * 1024) * 1024 * 1024,
      disksDir: path.join(dataDir, 'disks'),
      /** A project's own PostgreSQL (its `services.postgres` setting), beside its sandbox. */
      postgres: {
        memoryBytes: int(env, 'PROJECT_POSTGRES_MEMORY_MB', 256, 64) * 1024 * 1024,
        cpus: int(env, 'PROJECT_POSTGRES_CPU_MILLIS', 500, 100) / 1000,
        pids: int(env, 'PROJECT_POSTGRES_PIDS', 128, 32),
      },
      /** A project's own Redis (its `services.redis` setting), beside its sandbox. */
      redis: {
        memoryBytes: int(env, 'PROJECT_REDIS_MEMORY_MB', 128, 32) * 1024 * 1024,
        cpus: int(env, 'PROJECT_REDIS_CPU_MILLIS', 250, 100) / 1000,
        pids: int(env, 'PROJECT_REDIS_PIDS', 64, 16),
      },
    },
    images: sandboxImageSettings(env),
    workers: {
      size: int(env, 'WORKER_THREADS', 2, 1, 64),
      timeoutMs: int(env, 'WORKER_TIMEOUT_SECONDS', 20, 1, 3600) * 1000,
      maxHeapMb: int(env, 'WORKER_HEAP_MB', 512, 64, 65536),
    },
    objectsDir: path.resolve(repoRoot, env.OBJECTS_DIR ?? path.join(dataDir, 'objects')),
    s3: s3Settings(env),
    ideDistDir: path.resolve(repoRoot, env.IDE_DIST_DIR ?? 'ide/dist'),
    previewOrigin: previewOrigin(env),
    llm: llmSettings(env),
    secrets: secretsSettings(env, dataDir),
    agents: {
      maxTokens: int(env, 'AGENT_MAX_TOKENS', 5_000_000, 1000),
      maxCostUsd: int(env, 'AGENT_MAX_COST_CENTS', 2000, 0) / 100,
      maxWallMs: int(env, 'AGENT_MAX_MINUTES', 120, 1) * 60_000,
      toolTimeoutMs: int(env, 'AGENT_TOOL_TIMEOUT_SECONDS', 120, 1) * 1000,
    },
  };
}
