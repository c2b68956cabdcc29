/**
 * SQL of agent runs: the run rows, the event log (each append also a NOTIFY on `RUN_EVENTS_CHANNEL`, delivered
 * in commit order, which is seq order: the run row's lock is held from the seq's allocation to the commit),
 * the transcript, the inbox and the journal. Every write that a retried activity may repeat carries a key and
 * lands once.
 */
import type { Principal } from '../../../lib/access.js';
import type { Queryable } from '../../../lib/db.js';
import type { TokenUsage } from '../providers/index.js';
import type { PendingApproval, Run, RunEvent, RunStatus } from './types.js';

export const RUN_EVENTS_CHANNEL = 'vf_run_events';
/** NOTIFY payloads are limited to 8000 bytes; larger events are announced by reference and read from the table. */
const MAX_NOTIFY_BYTES = 7000;

export interface RunRow {
  id: string;
  project_id: string;
  principal: Principal;
  created_by: string | null;
  status: RunStatus;
  goal: string;
  provider: string;
  model: string;
  prompt_version: string;
  max_steps: number;
  steps: number;
  segment_step: number;
  segment_started_at: Date;
  input_tokens: string;
  output_tokens: string;
  cache_write_tokens: string;
  cache_read_tokens: string;
  cost_usd: string;
  reason: string | null;
  pending_approval: PendingApproval | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    projectId: row.project_id,
    status: row.status,
    goal: row.goal,
    provider: row.provider,
    model: row.model,
    promptVersion: row.prompt_version,
    steps: row.steps,
    maxSteps: row.max_steps,
    usage: {
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      cacheWriteTokens: Number(row.cache_write_tokens),
      cacheReadTokens: Number(row.cache_read_tokens),
    },
    costUsd: Number(row.cost_usd),
    reason: row.reason,
    pendingApproval: row.pending_approval,
    webhookUrl: row.webhook_url,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface NewRun {
  id: string;
  projectId: string;
  principal: Principal;
  idempotencyKey: string | null;
  goal: string;
  provider: string;
  model: string;
  promptVersion: string;
  maxSteps: number;
  webhookUrl: string | null;
  webhookSecret: string | null;
}

/** Inserts the run with its goal as the transcript's first entry; null when the idempotency key is taken. */
export async function insertRun(db: Queryable, run: NewRun): Promise<RunRow | null> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO agent_runs (id, project_id, principal, created_by, idempotency_key, status, goal, provider, model,
                             prompt_version, max_steps, webhook_url, webhook_secret)
     VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT DO NOTHING RETURNING *`,
    [
      run.id,
      run.projectId,
      JSON.stringify(run.principal),
      run.principal.userId,
      run.idempotencyKey,
      run.goal,
      run.provider,
      run.model,
      run.promptVersion,
      run.maxSteps,
      run.webhookUrl,
      run.webhookSecret,
    ],
  );
  return rows[0] ?? null;
}

export async function runByIdempotencyKey(db: Queryable, projectId: string, userId: string, key: string): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>(
    'SELECT * FROM agent_runs WHERE project_id = $1 AND created_by = $2 AND idempotency_key = $3',
    [projectId, userId, key],
  );
  return rows[0];
}

export async function selectRun(db: Queryable, runId: string): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM agent_runs WHERE id = $1', [runId]);
  return rows[0];
}

export async function selectRuns(db: Queryable, projectId: string, limit: number): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    'SELECT * FROM agent_runs WHERE project_id = $1 ORDER BY created_at DESC, id LIMIT $2',
    [projectId, limit],
  );
  return rows;
}

export async function updateStatus(
  db: Queryable,
  runId: string,
  change: { status: RunStatus; reason: string | null; pendingApproval: PendingApproval | null },
): Promise<void> {
  await db.query(
    `UPDATE agent_runs SET status = $2, reason = $3, pending_approval = $4, updated_at = now() WHERE id = $1`,
    [runId, change.status, change.reason, change.pendingApproval === null ? null : JSON.stringify(change.pendingApproval)],
  );
}

/** Adds one model turn's usage and cost and counts the step; only the caller that recorded the turn calls it. */
export async function addUsage(db: Queryable, runId: string, step: number, usage: TokenUsage, costUsd: number): Promise<void> {
  await db.query(
    `UPDATE agent_runs SET steps = GREATEST(steps, $2), input_tokens = input_tokens + $3, output_tokens = output_tokens + $4,
            cache_write_tokens = cache_write_tokens + $5, cache_read_tokens = cache_read_tokens + $6,
            cost_usd = cost_usd + $7, updated_at = now()
      WHERE id = $1`,
    [runId, step, usage.inputTokens, usage.outputTokens, usage.cacheWriteTokens, usage.cacheReadTokens, costUsd],
  );
}

export async function startSegment(db: Queryable, runId: string, step: number): Promise<void> {
  await db.query('UPDATE agent_runs SET segment_step = $2, segment_started_at = now() WHERE id = $1', [runId, step]);
}

export interface AppendOptions {
  /** The same key again appends nothing (a retried activity). */
  dedupeKey?: string;
  /** Appends nothing once the run is cancelled (late output of an activity that was abandoned). */
  unlessCancelled?: boolean;
}

/** Appends one event and announces it; undefined when nothing was appended (a repeated key, a cancelled run). */
export async function appendEvent(
  db: Queryable,
  runId: string,
  type: string,
  data: unknown,
  options: AppendOptions = {},
): Promise<RunEvent | undefined> {
  const json = JSON.stringify(data);
  const { rows } = await db.query<{ seq: string; at: Date; project_id: string }>(
    `WITH seen AS (SELECT 1 FROM agent_run_events WHERE run_id = $1 AND $4::text IS NOT NULL AND dedupe_key = $4),
          alloc AS (UPDATE agent_runs SET last_seq = last_seq + 1
                    WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM seen) AND NOT ($5 AND status = 'cancelled')
                    RETURNING last_seq, project_id),
          added AS (INSERT INTO agent_run_events (run_id, seq, type, data, dedupe_key)
                    SELECT $1, alloc.last_seq, $2, $3::text::jsonb, $4 FROM alloc
                    ON CONFLICT DO NOTHING RETURNING seq, at)
     SELECT added.seq, added.at, alloc.project_id,
            pg_notify($6, CASE WHEN octet_length($3::text) <= $7
              THEN json_build_object('runId', $1::text, 'projectId', alloc.project_id, 'seq', added.seq, 'type', $2::text,
                                     'at', added.at, 'data', $3::text::json)::text
              ELSE json_build_object('runId', $1::text, 'projectId', alloc.project_id, 'seq', added.seq)::text END)
       FROM added, alloc`,
    [runId, type, json, options.dedupeKey ?? null, options.unlessCancelled ?? false, RUN_EVENTS_CHANNEL, MAX_NOTIFY_BYTES],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { seq: Number(row.seq), type, at: row.at.toISOString(), data };
}

export async function eventsAfter(db: Queryable, runId: string, after: number, limit: number): Promise<RunEvent[]> {
  const { rows } = await db.query<{ seq: string; type: string; at: Date; data: unknown }>(
    'SELECT seq, type, at, data FROM agent_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [runId, after, limit],
  );
  return rows.map((row) => ({ seq: Number(row.seq), type: row.type, at: row.at.toISOString(), data: row.data }));
}

export type MessageKind = 'user' | 'assistant' | 'result';

export interface MessageRow {
  key: string;
  step: number;
  kind: MessageKind;
  data: unknown;
}

/** Appends a transcript entry once; true when this call added it. */
export async function appendMessage(db: Queryable, runId: string, entry: MessageRow): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO agent_run_messages (run_id, key, step, kind, data) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (run_id, key) DO NOTHING`,
    [runId, entry.key, entry.step, entry.kind, JSON.stringify(entry.data)],
  );
  return rowCount === 1;
}

export async function selectMessages(db: Queryable, runId: string): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    'SELECT key, step, kind, data FROM agent_run_messages WHERE run_id = $1 ORDER BY id',
    [runId],
  );
  return rows;
}

/** The transcript's entries of steps `fromStep` and later, in order. */
export async function selectMessagesFrom(db: Queryable, runId: string, fromStep: number): Promise<MessageRow[]> {
  const { rows } = await db.query<MessageRow>(
    'SELECT key, step, kind, data FROM agent_run_messages WHERE run_id = $1 AND step >= $2 ORDER BY id',
    [runId, fromStep],
  );
  return rows;
}

export async function selectMessage(db: Queryable, runId: string, key: string): Promise<MessageRow | undefined> {
  const { rows } = await db.query<MessageRow>(
    'SELECT key, step, kind, data FROM agent_run_messages WHERE run_id = $1 AND key = $2',
    [runId, key],
  );
  return rows[0];
}

export async function insertInbox(db: Queryable, runId: string, id: string, text: string, sender: string): Promise<void> {
  await db.query('INSERT INTO agent_run_inbox (id, run_id, text, sender) VALUES ($1, $2, $3, $4)', [id, runId, text, sender]);
}

export async function selectInbox(db: Queryable, runId: string, id: string): Promise<{ text: string } | undefined> {
  const { rows } = await db.query<{ text: string }>('SELECT text FROM agent_run_inbox WHERE run_id = $1 AND id = $2', [runId, id]);
  return rows[0];
}

export async function journalGet(db: Queryable, runId: string, key: string): Promise<unknown | undefined> {
  const { rows } = await db.query<{ value: unknown }>('SELECT value FROM agent_run_journal WHERE run_id = $1 AND key = $2', [runId, key]);
  return rows[0]?.value;
}

export async function journalPut(db: Queryable, runId: string, key: string, value: unknown): Promise<void> {
  await db.query(
    `INSERT INTO agent_run_journal (run_id, key, value) VALUES ($1, $2, $3)
     ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value`,
    [runId, key, JSON.stringify(value)],
  );
}

/** Claims the publication of a status event on the project bus: true for exactly one API instance. */
export async function claimPublication(db: Queryable, runId: string, seq: number): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>(
    'UPDATE agent_runs SET published_seq = $2 WHERE id = $1 AND published_seq < $2 RETURNING *',
    [runId, seq],
  );
  return rows[0];
}
