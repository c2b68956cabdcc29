/**
 * Agent runs as the API offers them: start one, follow it (its event log, live through `RunEventsHub`), talk to
 * it (messages, approve, deny, cancel) and undo its steps. The loop itself is the `agentRun` workflow, reached
 * through `RunOrchestrator` (workflows/agent-runs.ts implements it over Temporal); this service records what a
 * person asked for in PostgreSQL first and signals the workflow with ids only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Permission, Principal } from '../../../lib/access.js';
import type { Db } from '../../../lib/db.js';
import { AppError } from '../../../lib/errors.js';
import type { Checkpoints, StepDiff } from '../checkpoints.js';
import { promptVersions } from '../prompts.js';
import { PROVIDER_NAMES, resolveModel, type LlmDefaults, type ProviderName } from '../providers/index.js';
import * as store from './store.js';
import type { Run, RunEvent } from './types.js';

/** What the service needs of the workflow engine. */
export interface RunOrchestrator {
  /** Starts the run's workflow; a second start of the same run does nothing. */
  start(runId: string): Promise<void>;
  /** Hands the workflow a message (starting it again, after `steps`, if it had ended). */
  message(runId: string, messageId: string, resume: { steps: number; status: Run['status'] }): Promise<void>;
  approve(runId: string, callId: string): Promise<void>;
  deny(runId: string, callId: string, reason: string | undefined): Promise<void>;
  /** False when the workflow is no longer there (it ended while idle): the run is then cancelled here. */
  cancel(runId: string): Promise<boolean>;
}

export interface RunsDeps {
  db: Db;
  authorize: (principal: Principal, projectId: string, permission: Permission) => Promise<unknown>;
  orchestrator: RunOrchestrator;
  checkpoints: Pick<Checkpoints, 'revert' | 'diff'>;
  llm: LlmDefaults;
  /** Steps a run may take per message when it names none. */
  defaultMaxSteps?: number;
}

export interface StartRun {
  message: string;
  provider?: ProviderName;
  model?: string;
  maxSteps?: number;
  webhookUrl?: string;
}

export const MAX_MESSAGE_CHARS = 32_000;
export const MAX_STEPS_LIMIT = 500;
const DEFAULT_MAX_STEPS = 50;
const EVENTS_PAGE = 1000;

export class RunsService {
  constructor(private readonly deps: RunsDeps) {}

  /** Starts a run; with an idempotency key, a retry returns the run the first request started (201 then 200). */
  async start(principal: Principal, projectId: string, input: StartRun, idempotencyKey?: string): Promise<{ run: Run; created: boolean; webhookSecret?: string }> {
    await this.deps.authorize(principal, projectId, 'write');
    await this.deps.authorize(principal, projectId, 'execute');
    const goal = checkMessage(input.message);
    if (input.provider !== undefined && !PROVIDER_NAMES.includes(input.provider)) {
      throw new AppError('VALIDATION_FAILED', `provider must be one of ${PROVIDER_NAMES.join(', ')}`);
    }
    const key = idempotencyKey?.trim() || null;
    if (key !== null && key.length > 200) throw new AppError('VALIDATION_FAILED', 'The Idempotency-Key header is at most 200 characters');
    if (key !== null) {
      const existing = await store.runByIdempotencyKey(this.deps.db, projectId, principal.userId, key);
      if (existing) return { run: await this.ensureStarted(existing), created: false };
    }
    const { provider, model } = resolveModel(this.deps.llm, { ...(input.provider ? { provider: input.provider } : {}), ...(input.model ? { model: input.model } : {}) });
    const versions = promptVersions('agent');
    const webhookSecret = input.webhookUrl ? randomBytes(32).toString('hex') : null;
    const row = await store.insertRun(this.deps.db, {
      id: randomUUID(),
      projectId,
      principal,
      idempotencyKey: key,
      goal,
      provider,
      model,
      promptVersion: versions.at(-1) ?? 'v1',
      maxSteps: input.maxSteps ?? this.deps.defaultMaxSteps ?? DEFAULT_MAX_STEPS,
      webhookUrl: input.webhookUrl ? checkWebhook(input.webhookUrl) : null,
      webhookSecret,
    });
    if (!row) {
      // Two requests with one key raced: the other inserted first.
      const existing = key !== null ? await store.runByIdempotencyKey(this.deps.db, projectId, principal.userId, key) : undefined;
      if (!existing) throw new AppError('CONFLICT', 'The run could not be recorded; try again');
      return { run: await this.ensureStarted(existing), created: false };
    }
    await store.appendMessage(this.deps.db, row.id, { key: 'goal', step: 0, kind: 'user', data: { text: goal } });
    await store.appendEvent(this.deps.db, row.id, 'message.user', { text: goal }, { dedupeKey: 'goal' });
    await store.appendEvent(this.deps.db, row.id, 'run.status', { status: 'queued' }, { dedupeKey: 'status:queued' });
    const run = await this.ensureStarted(row);
    return { run, created: true, ...(webhookSecret ? { webhookSecret } : {}) };
  }

  private async ensureStarted(row: store.RunRow): Promise<Run> {
    if (row.status === 'queued') {
      try {
        await this.deps.orchestrator.start(row.id);
      } catch (err) {
        throw new AppError('SERVICE_UNAVAILABLE', 'The run is recorded but could not be started (is Temporal up?); retry with the same Idempotency-Key', {
          runId: row.id,
          cause: err instanceof Error ? err.message.slice(0, 300) : undefined,
        });
      }
    }
    return store.toRun(row);
  }

  async list(principal: Principal, projectId: string, limit = 50): Promise<Run[]> {
    await this.deps.authorize(principal, projectId, 'read');
    return (await store.selectRuns(this.deps.db, projectId, Math.min(Math.max(limit, 1), 200))).map(store.toRun);
  }

  async get(principal: Principal, projectId: string, runId: string): Promise<Run> {
    return store.toRun(await this.row(principal, projectId, runId, 'read'));
  }

  async events(principal: Principal, projectId: string, runId: string, after = 0, limit = EVENTS_PAGE): Promise<RunEvent[]> {
    await this.row(principal, projectId, runId, 'read');
    return store.eventsAfter(this.deps.db, runId, Math.max(0, after), Math.min(Math.max(limit, 1), EVENTS_PAGE));
  }

  async message(principal: Principal, projectId: string, runId: string, text: string): Promise<Run> {
    const row = await this.row(principal, projectId, runId, 'write');
    const message = checkMessage(text);
    if (row.status === 'cancelled') throw new AppError('CONFLICT', 'The run was cancelled; start a new one');
    const messageId = randomUUID();
    await store.insertInbox(this.deps.db, runId, messageId, message, principal.userId);
    await this.deps.orchestrator.message(runId, messageId, { steps: row.steps, status: row.status });
    return store.toRun(row);
  }

  async approve(principal: Principal, projectId: string, runId: string): Promise<Run> {
    const row = await this.waiting(principal, projectId, runId);
    await this.deps.orchestrator.approve(runId, row.pending_approval!.callId);
    return store.toRun(row);
  }

  async deny(principal: Principal, projectId: string, runId: string, reason?: string): Promise<Run> {
    const row = await this.waiting(principal, projectId, runId);
    await this.deps.orchestrator.deny(runId, row.pending_approval!.callId, reason?.slice(0, 2000));
    return store.toRun(row);
  }

  async cancel(principal: Principal, projectId: string, runId: string): Promise<Run> {
    const row = await this.row(principal, projectId, runId, 'write');
    if (row.status === 'cancelled') return store.toRun(row);
    if (!(await this.deps.orchestrator.cancel(runId))) {
      await store.updateStatus(this.deps.db, runId, { status: 'cancelled', reason: null, pendingApproval: null });
      await store.appendEvent(this.deps.db, runId, 'run.status', { status: 'cancelled' }, { dedupeKey: 'status:cancelled-idle' });
    }
    return store.toRun(row);
  }

  /** Puts the workspace back as it was after `step` of this run (see Checkpoints.revert). */
  async revert(principal: Principal, projectId: string, runId: string, step: number): Promise<{ step: number; sha: string }> {
    await this.row(principal, projectId, runId, 'write');
    const { sha, restoredStep } = await this.deps.checkpoints.revert(principal, projectId, { runId, step });
    await store.appendEvent(this.deps.db, runId, 'run.reverted', { step: restoredStep, requestedStep: step, sha });
    return { step: restoredStep, sha };
  }

  async diff(principal: Principal, projectId: string, runId: string, step: number): Promise<StepDiff> {
    await this.row(principal, projectId, runId, 'read');
    return this.deps.checkpoints.diff(principal, projectId, { runId, step });
  }

  /** The run, when it belongs to the project and the principal may `permission` there; RUN_NOT_FOUND otherwise. */
  async row(principal: Principal, projectId: string, runId: string, permission: Permission): Promise<store.RunRow> {
    await this.deps.authorize(principal, projectId, permission);
    const row = UUID.test(runId) ? await store.selectRun(this.deps.db, runId) : undefined;
    if (!row || row.project_id !== projectId) throw new AppError('RUN_NOT_FOUND', 'No such run in this project');
    return row;
  }

  private async waiting(principal: Principal, projectId: string, runId: string): Promise<store.RunRow> {
    const row = await this.row(principal, projectId, runId, 'write');
    if (row.status !== 'waiting_approval' || !row.pending_approval) {
      throw new AppError('CONFLICT', `The run is ${row.status}: no call waits for approval`);
    }
    return row;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkMessage(text: unknown): string {
  if (typeof text !== 'string' || text.trim().length === 0) throw new AppError('VALIDATION_FAILED', 'The message is empty');
  if (text.length > MAX_MESSAGE_CHARS) {
    throw new AppError('PAYLOAD_TOO_LARGE', `A message is at most ${MAX_MESSAGE_CHARS} characters (this one has ${text.length})`);
  }
  return text.replace(/\0/g, '');
}

function checkWebhook(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'webhookUrl is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new AppError('VALIDATION_FAILED', 'webhookUrl must be http(s)');
  if (parsed.username || parsed.password) throw new AppError('VALIDATION_FAILED', 'webhookUrl must not carry credentials');
  return parsed.toString();
}
