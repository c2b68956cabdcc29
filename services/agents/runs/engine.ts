/**
 * What the `agentRun` workflow's activities do, apart from Temporal: one model turn, one tool call, the end of a
 * step, a status change, a message taken in. Each is idempotent: a retried call (the worker died, the activity
 * timed out) finds what the first attempt recorded and never applies an effect twice. Workflow history carries
 * only ids and small outcomes; the transcript and the events are in PostgreSQL.
 */
import { createHmac } from 'node:crypto';
import type { Db } from '../../../lib/db.js';
import { Redactor, type RedactingStream } from '../../../lib/redactor.js';
import type { ApprovalPolicies } from '../approval-policies.js';
import type { Checkpoints } from '../checkpoints.js';
import { contextWindow, fitTranscript, messageBudget } from '../context.js';
import { loadPrompt } from '../prompts.js';
import {
  ProviderError,
  type ContentBlock,
  type LlmProvider,
  type ProviderName,
  type TokenUsage,
} from '../providers/index.js';
import { detectStuck, nudgeFor, stepsFromTranscript, STUCK_THRESHOLDS } from '../stuck.js';
import { capText, summarizeModel, type Toolbox, type ToolCall, type ToolResult } from '../tools/index.js';
import type { ProjectIrService } from '../../ir/index.js';
import * as store from './store.js';
import { buildTranscript, type ToolResultEntry } from './transcript.js';
import type { PendingApproval, RunStatus } from './types.js';

/** What an activity can do for the engine: say it is alive, learn it was cancelled, know its attempt. */
export interface ActivityHooks {
  heartbeat(): void;
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface RunLimits {
  /** Tokens (input of every kind plus output) a stretch of work may use. */
  maxTokens: number;
  maxCostUsd: number;
  maxWallMs: number;
  /** The longest any tool but run_command may take (run_command has its own timeout). */
  toolTimeoutMs: number;
}

export const DEFAULT_RUN_LIMITS: RunLimits = {
  maxTokens: 5_000_000,
  maxCostUsd: 20,
  maxWallMs: 2 * 60 * 60_000,
  toolTimeoutMs: 120_000,
};

/** A user's own key and base URL for a provider (their secrets), each unset: the server's. */
export interface ProviderCredentials {
  apiKey?: string | undefined;
  baseUrl?: string | undefined;
}

/**
 * What a run knows of secrets, asked in each activity (never passed through workflow history): how to redact the
 * project's and the run's user's values from what it records, and the user's own credentials for the model.
 */
export interface RunSecrets {
  redactorFor(projectId: string, userId: string): Promise<Redactor>;
  /** The names of the project's secrets, which its commands get as environment variables. */
  projectSecretNames(projectId: string): Promise<string[]>;
  llmCredentials(userId: string, provider: ProviderName, context: string): Promise<ProviderCredentials>;
}

export interface EngineDeps {
  db: Db;
  toolbox: Toolbox;
  checkpoints: Pick<Checkpoints, 'checkpoint'>;
  ir: Pick<ProjectIrService, 'read'>;
  policies: Pick<ApprovalPolicies, 'forRun'>;
  provider: (name: ProviderName, credentials?: ProviderCredentials) => LlmProvider;
  secrets?: RunSecrets;
  contextWindows?: Readonly<Record<string, number>>;
  limits?: Partial<RunLimits>;
  /** Webhook deliveries (a test's fetch); default global fetch. */
  fetch?: typeof fetch;
  onError?: (err: unknown) => void;
}

export interface TurnCall {
  id: string;
  name: string;
  /** Why the call waits for a person, or null. */
  approval: string | null;
}

export interface TurnOutcome {
  calls: TurnCall[];
  /** The model ended its turn (no calls): the work is done until the next message. */
  ended: boolean;
  /** A limit that stops the run before the model was asked, with the reason shown. */
  limit: string | null;
}

/** An error the workflow must not retry: it reports it and waits for a person. */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
}

/** Token deltas are written in batches: the first at once (time to first token), then at most every this many ms. */
const DELTA_FLUSH_MS = 40;
const MAX_OUTPUT_TOKENS = 8192;
/** How many recent steps stuck detection needs (its longest pattern), with one to spare. */
const STUCK_WINDOW_STEPS = Math.max(...Object.values(STUCK_THRESHOLDS)) + 1;
/** The IR summary in the system prompt is worth waiting for only so long (a sandbox that stopped answering). */
const IR_SUMMARY_TIMEOUT_MS = 5000;
/** The event's copy of a tool's input or output (the transcript keeps what the model saw). */
const EVENT_TEXT_BYTES = 16 * 1024;

export class RunEngine {
  private readonly limits: RunLimits;

  constructor(private readonly deps: EngineDeps) {
    this.limits = { ...DEFAULT_RUN_LIMITS, ...deps.limits };
  }

  private async run(runId: string): Promise<store.RunRow> {
    const run = await store.selectRun(this.deps.db, runId);
    if (!run) throw new RunFailure(`Run ${runId} no longer exists`);
    return run;
  }

  /** Secret values (the project's, the run's user's) become [secret:NAME] in whatever the run records. */
  private redactorOf(run: store.RunRow): Promise<Redactor> {
    return this.deps.secrets ? this.deps.secrets.redactorFor(run.project_id, run.principal.userId) : Promise.resolve(Redactor.none);
  }

  /** One model turn: the request built from the stored transcript, tokens streamed as events, the answer stored. */
  async turn(runId: string, step: number, hooks: ActivityHooks): Promise<TurnOutcome> {
    const { db } = this.deps;
    const run = await this.run(runId);
    const recorded = await store.selectMessage(db, runId, `assistant:${step}`);
    if (recorded) return this.outcomeOf(run, recorded.data as ContentBlock[]);

    const limit = this.limitReached(run, step);
    if (limit) return { calls: [], ended: false, limit };

    await store.appendEvent(db, runId, 'step.started', { step }, { dedupeKey: `step:${step}`, unlessCancelled: true });
    if (hooks.attempt > 1) {
      await store.appendEvent(db, runId, 'step.retry', { step }, { dedupeKey: `retry:${step}:${hooks.attempt}`, unlessCancelled: true });
    }
    const prompt = loadPrompt('agent', run.prompt_version);
    const tools = this.deps.toolbox.definitions();
    const secretNames = (await this.deps.secrets?.projectSecretNames(run.project_id)) ?? [];
    const system = [
      { text: prompt.text, stable: true },
      {
        text:
          `The project now: ${await this.irSummary(run)}` +
          (secretNames.length > 0
            ? `\nrun_command gets the project's secrets as environment variables: ${secretNames.join(', ')}. Their values are hidden from you ` +
              '(output shows [secret:NAME]); refer to them as $NAME in commands and as process.env.NAME (or the stack\'s equivalent) in code, never write a value into a file.'
            : ''),
        stable: false,
      },
    ];
    const redactor = await this.redactorOf(run);
    const credentials = await this.deps.secrets?.llmCredentials(run.principal.userId, run.provider as ProviderName, `run:${runId}`);
    const provider = this.deps.provider(run.provider as ProviderName, credentials);
    const info = provider.modelInfo(run.model);
    const maxOutputTokens = Math.min(info.maxOutputTokens, MAX_OUTPUT_TOKENS);
    const budgetTokens = messageBudget({
      windowTokens: contextWindow(run.model, this.deps.contextWindows),
      maxOutputTokens,
      system,
      tools,
    });
    const transcript = buildTranscript(await store.selectMessages(db, runId));
    const deltas = new DeltaWriter(db, runId, step, hooks.attempt, redactor);
    const ask = (budget: number, keepRecentTurns?: number) =>
      provider.stream(
        {
          model: run.model,
          system,
          messages: fitTranscript(transcript, { budgetTokens: budget, ...(keepRecentTurns ? { keepRecentTurns } : {}) }).messages,
          tools,
          maxOutputTokens,
          signal: hooks.signal,
        },
        {
          onTextDelta: (text) => {
            hooks.heartbeat();
            deltas.add(text);
          },
          onRetry: (info) => deltas.restart(info.attempt),
          onProgress: () => hooks.heartbeat(),
        },
      );
    let response;
    try {
      try {
        response = await ask(budgetTokens);
      } catch (err) {
        // Our estimate of the transcript's size was short of the model's count: condense much harder, once.
        if (!(err instanceof ProviderError && err.kind === 'context_overflow')) throw err;
        deltas.restart(0);
        response = await ask(Math.floor(budgetTokens / 2), 4);
      }
    } catch (err) {
      await deltas.close();
      if (err instanceof ProviderError && !err.retryable && err.kind !== 'aborted') {
        throw new RunFailure(redactor.redact(`The model could not answer (${err.kind}): ${err.message}`));
      }
      throw err;
    }
    await deltas.close();

    const content = redactor.redactValue(response.content.filter((block) => block.type !== 'tool_result'));
    const added = await store.appendMessage(db, runId, { key: `assistant:${step}`, step, kind: 'assistant', data: content });
    if (added) await store.addUsage(db, runId, step, response.usage, response.costUsd);
    const text = textOf(content);
    if (text.length > 0) {
      await store.appendEvent(db, runId, 'message.assistant', { step, text }, { dedupeKey: `assistant:${step}`, unlessCancelled: true });
    }
    for (const block of content) {
      if (block.type !== 'tool_use') continue;
      await store.appendEvent(
        db,
        runId,
        'tool.call',
        { step, callId: block.id, name: block.name, input: capInput(block.input) },
        { dedupeKey: `call:${block.id}`, unlessCancelled: true },
      );
    }
    return this.outcomeOf(run, content);
  }

  private async outcomeOf(run: store.RunRow, content: ContentBlock[]): Promise<TurnOutcome> {
    const policy = await this.deps.policies.forRun(run.project_id);
    const calls: TurnCall[] = [];
    for (const block of content) {
      if (block.type !== 'tool_use') continue;
      const need = this.deps.toolbox.approval({ id: block.id, name: block.name, input: block.input }, policy);
      calls.push({ id: block.id, name: block.name, approval: need.needed ? need.reason : null });
    }
    return { calls, ended: calls.length === 0, limit: null };
  }

  private limitReached(run: store.RunRow, step: number): string | null {
    const stepsTaken = step - 1 - run.segment_step;
    if (stepsTaken >= run.max_steps) return `The run took its ${run.max_steps} steps; send a message to let it go on.`;
    const tokens = Number(run.input_tokens) + Number(run.output_tokens) + Number(run.cache_write_tokens) + Number(run.cache_read_tokens);
    if (tokens >= this.limits.maxTokens) return `The run used ${tokens} tokens (limit ${this.limits.maxTokens}).`;
    if (Number(run.cost_usd) >= this.limits.maxCostUsd) {
      return `The run cost $${Number(run.cost_usd).toFixed(2)} (limit $${this.limits.maxCostUsd.toFixed(2)}).`;
    }
    if (Date.now() - run.segment_started_at.getTime() >= this.limits.maxWallMs) {
      return `The run worked for ${Math.round(this.limits.maxWallMs / 60_000)} minutes; send a message to let it go on.`;
    }
    return null;
  }

  private async irSummary(run: store.RunRow): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${IR_SUMMARY_TIMEOUT_MS / 1000} s`)), IR_SUMMARY_TIMEOUT_MS);
    });
    try {
      const reading = await Promise.race([this.deps.ir.read(run.principal, run.project_id), late]);
      const diagnostics = reading.diagnostics.length;
      return `${summarizeModel(reading.model)}; the IR is ${reading.valid ? 'valid' : `invalid (${diagnostics} diagnostic(s): read_ir shows them)`}.`;
    } catch (err) {
      return `the IR could not be read (${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}).`;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one tool call of a recorded turn, at most once; the result goes to the transcript and the event log. */
  async tool(runId: string, step: number, callId: string, hooks: ActivityHooks): Promise<{ isError: boolean }> {
    const { db } = this.deps;
    const done = await store.selectMessage(db, runId, `result:${callId}`);
    if (done) return { isError: (done.data as ToolResultEntry).isError };
    const run = await this.run(runId);
    const call = await this.callOf(runId, step, callId);

    const timeoutMs =
      call.name === 'run_command' ? this.limits.toolTimeoutMs + commandTimeoutMs(call.input) : this.limits.toolTimeoutMs;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    const beat = setInterval(() => hooks.heartbeat(), 2000);
    let timer: NodeJS.Timeout | undefined;
    let result: ToolResult;
    try {
      const timedOut = new Promise<ToolResult>((resolve) => {
        timer = setTimeout(() => {
          abort.abort();
          resolve({
            content: `${call.name} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped. Try a smaller step, or run long work in the background.`,
            isError: true,
            changedPaths: [],
          });
        }, timeoutMs);
      });
      const execution = this.deps.toolbox.execute(call, {
        projectId: run.project_id,
        runId,
        step,
        // The run's creator's permissions, announced as the agent's doing.
        principal: { ...run.principal, agentRunId: runId },
        journal: { get: (key) => store.journalGet(db, runId, key), put: (key, value) => store.journalPut(db, runId, key, value) },
        signal: abort.signal,
        heartbeat: () => hooks.heartbeat(),
      });
      result = await Promise.race([execution, timedOut]);
    } finally {
      clearInterval(beat);
      clearTimeout(timer);
      hooks.signal.removeEventListener('abort', onAbort);
    }
    if (hooks.signal.aborted) throw new Error('cancelled');
    await this.recordResult(runId, step, call, (await this.redactorOf(run)).redactValue(result));
    return { isError: result.isError };
  }

  /** A call the workflow decided not to run (denied, failed for good, cancelled): the model is told why. */
  async resolveCall(runId: string, step: number, callId: string, content: string): Promise<void> {
    const call = await this.callOf(runId, step, callId);
    const redactor = await this.redactorOf(await this.run(runId));
    await this.recordResult(runId, step, call, { content: redactor.redact(content), isError: true, changedPaths: [] });
  }

  private async callOf(runId: string, step: number, callId: string): Promise<ToolCall> {
    const turn = await store.selectMessage(this.deps.db, runId, `assistant:${step}`);
    const block = (turn?.data as ContentBlock[] | undefined)?.find((entry) => entry.type === 'tool_use' && entry.id === callId);
    if (!block || block.type !== 'tool_use') throw new RunFailure(`Step ${step} of run ${runId} has no call ${callId}`);
    return { id: block.id, name: block.name, input: block.input };
  }

  private async recordResult(runId: string, step: number, call: ToolCall, result: ToolResult): Promise<void> {
    const { db } = this.deps;
    const entry: ToolResultEntry & { changedPaths: string[] } = {
      toolUseId: call.id,
      content: result.content,
      isError: result.isError,
      changedPaths: result.changedPaths,
    };
    await store.appendMessage(db, runId, { key: `result:${call.id}`, step, kind: 'result', data: entry });
    await store.appendEvent(
      db,
      runId,
      'tool.result',
      {
        step,
        callId: call.id,
        name: call.name,
        isError: result.isError,
        content: capText(result.content, EVENT_TEXT_BYTES).text,
        ...(result.display ? { display: result.display } : {}),
      },
      { dedupeKey: `result:${call.id}`, unlessCancelled: true },
    );
  }

  /** After a step's calls: a checkpoint when files changed, stuck detection, the step's event. */
  async finishStep(runId: string, step: number): Promise<{ stuck: string | null; nudge: string | null }> {
    const { db } = this.deps;
    const run = await this.run(runId);
    // Only the steps since the latest message count for stuck detection (after a person spoke, earlier repetition is
    // history), and of those only the last few it looks at: the read stays small however long the run.
    const rows = await store.selectMessagesFrom(db, runId, Math.max(run.segment_step + 1, step - STUCK_WINDOW_STEPS));
    const changedPaths = [
      ...new Set(
        rows
          .filter((row) => row.kind === 'result' && row.step === step)
          .flatMap((row) => (row.data as { changedPaths?: string[] }).changedPaths ?? []),
      ),
    ];
    if (changedPaths.length > 0 && (await store.journalGet(db, runId, `checkpoint:${step}`)) === undefined) {
      const sha = await this.deps.checkpoints.checkpoint(run.principal, run.project_id, {
        runId,
        step,
        message: changedPaths.slice(0, 20).join(', '),
      });
      await store.journalPut(db, runId, `checkpoint:${step}`, { sha });
    }
    const turn = rows.find((row) => row.key === `assistant:${step}`);
    await store.appendEvent(
      db,
      runId,
      'step.completed',
      { step, usage: toUsage(run), costUsd: Number(run.cost_usd), changedPaths },
      { dedupeKey: `completed:${step}`, unlessCancelled: true },
    );
    const stuck = turn ? detectStuck(stepsFromTranscript(buildTranscript(rows))) : null;
    return { stuck: stuck?.reason ?? null, nudge: stuck ? nudgeFor(stuck) : null };
  }

  /** Tells the model it is going round in circles (once per stretch of work). */
  async nudge(runId: string, step: number, text: string, reason: string): Promise<void> {
    await store.appendMessage(this.deps.db, runId, { key: `nudge:${step}`, step, kind: 'user', data: { text } });
    await store.appendEvent(this.deps.db, runId, 'run.nudge', { step, reason }, { dedupeKey: `nudge:${step}` });
  }

  /** Takes a follow-up message into the transcript; the limits count afresh from here. */
  async acceptMessage(runId: string, messageId: string, step: number): Promise<void> {
    const { db } = this.deps;
    const message = await store.selectInbox(db, runId, messageId);
    if (!message) return;
    // A value pasted into a message is not kept either.
    const text = (await this.redactorOf(await this.run(runId))).redact(message.text);
    const added = await store.appendMessage(db, runId, { key: `user:${messageId}`, step, kind: 'user', data: { text } });
    if (added) await store.startSegment(db, runId, step);
    await store.appendEvent(db, runId, 'message.user', { text, messageId }, { dedupeKey: `user:${messageId}` });
  }

  async setStatus(
    runId: string,
    change: { status: RunStatus; reason?: string | null; pendingApproval?: PendingApproval | null; key: string },
  ): Promise<void> {
    const { db } = this.deps;
    const redactor = change.reason || change.pendingApproval ? await this.redactorOf(await this.run(runId)) : Redactor.none;
    const reason = change.reason ? redactor.redact(change.reason) : null;
    let pendingApproval = change.pendingApproval ?? null;
    if (pendingApproval) {
      const call = await this.callOf(runId, pendingApproval.step, pendingApproval.callId);
      pendingApproval = redactor.redactValue({ ...pendingApproval, name: call.name, input: capInput(call.input) });
    }
    await store.updateStatus(db, runId, { status: change.status, reason, pendingApproval });
    await store.appendEvent(
      db,
      runId,
      'run.status',
      { status: change.status, ...(reason ? { reason } : {}) },
      { dedupeKey: `status:${change.key}` },
    );
    if (pendingApproval) {
      await store.appendEvent(db, runId, 'tool.approval_requested', pendingApproval, { dedupeKey: `approval:${pendingApproval.callId}` });
    }
    if (['completed', 'failed', 'needs_input', 'cancelled'].includes(change.status)) {
      await this.notifyWebhook(runId, change.key);
    }
  }

  async approvalResolved(runId: string, callId: string, approved: boolean, reason: string | null): Promise<void> {
    await store.appendEvent(
      this.deps.db,
      runId,
      'tool.approval_resolved',
      { callId, approved, ...(reason ? { reason } : {}) },
      { dedupeKey: `resolved:${callId}` },
    );
  }

  /** POSTs the run's state to its webhook, signed with its secret (`X-Vaporform-Signature: sha256=<hex>`); at most once per status. */
  private async notifyWebhook(runId: string, key: string): Promise<void> {
    const { db } = this.deps;
    const run = await this.run(runId);
    if (!run.webhook_url || !run.webhook_secret) return;
    const mark = `webhook:${key}`;
    if ((await store.journalGet(db, runId, mark)) !== undefined) return;
    await store.journalPut(db, runId, mark, { at: new Date().toISOString() });
    const body = JSON.stringify({ event: 'run.status', run: store.toRun(run) });
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const signature = createHmac('sha256', run.webhook_secret).update(`${timestamp}.${body}`).digest('hex');
    try {
      const response = await (this.deps.fetch ?? fetch)(run.webhook_url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-vaporform-timestamp': timestamp,
          'x-vaporform-signature': `sha256=${signature}`,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
    } catch (err) {
      // A receiver that is down does not fail the run; it is told once.
      this.deps.onError?.(err);
    }
  }
}

/** Writes a turn's text deltas as `text.delta` events in small batches, each landing once across retries. */
class DeltaWriter {
  private pending = '';
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private providerAttempt = 1;
  private first = true;
  /** A value split across deltas is held back until it is known (and redacted). */
  private redacting: RedactingStream<string>;

  constructor(
    private readonly db: Db,
    private readonly runId: string,
    private readonly step: number,
    private readonly attempt: number,
    private readonly redactor: Redactor,
  ) {
    this.redacting = redactor.textStream();
  }

  add(text: string): void {
    this.pending += this.redacting.push(text);
    if (this.first) {
      this.first = false;
      this.flush();
    } else {
      this.timer ??= setTimeout(() => this.flush(), DELTA_FLUSH_MS);
    }
  }

  /** The provider retried: what was streamed for this step is void. */
  restart(providerAttempt: number): void {
    this.pending += this.redacting.end();
    this.redacting = this.redactor.textStream();
    this.flush();
    this.providerAttempt = providerAttempt;
    const key = `retry:${this.step}:${this.attempt}:${providerAttempt}`;
    this.enqueue(() => store.appendEvent(this.db, this.runId, 'step.retry', { step: this.step }, { dedupeKey: key, unlessCancelled: true }));
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    const key = `delta:${this.step}:${this.attempt}:${this.providerAttempt}:${++this.count}`;
    this.enqueue(() => store.appendEvent(this.db, this.runId, 'text.delta', { step: this.step, text }, { dedupeKey: key, unlessCancelled: true }));
  }

  private enqueue(write: () => Promise<unknown>): void {
    this.chain = this.chain.then(write).then(
      () => {},
      () => {},
    );
  }

  async close(): Promise<void> {
    this.pending += this.redacting.end();
    this.flush();
    await this.chain;
  }
}

function textOf(content: readonly ContentBlock[]): string {
  return content
    .filter((block): block is Extract<ContentBlock, { type: 'text' }> => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

function capInput(input: unknown): unknown {
  const json = JSON.stringify(input) ?? 'null';
  if (json.length <= EVENT_TEXT_BYTES) return input;
  return { truncated: true, preview: json.slice(0, EVENT_TEXT_BYTES) };
}

function commandTimeoutMs(input: unknown): number {
  const seconds = (input as { timeout_seconds?: unknown } | null)?.timeout_seconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 3600) * 1000 : 600_000;
}

function toUsage(run: store.RunRow): TokenUsage {
  return store.toRun(run).usage;
}

