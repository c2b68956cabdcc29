/**
 * At most once per call: a tool that changes something records its intent in the run's journal before it
 * acts (what the workspace looks like once it did) and its result after. A retried call (the activity ran
 * again after a crash) returns the recorded result, or, when only the intent was recorded, looks whether the
 * effect is already there before doing anything.
 */
import { createHash } from 'node:crypto';
import type { ToolCall, ToolContext, ToolResult } from './types.js';

export interface Intent {
  /** Whatever the tool needs to tell, on a retry, whether its effect happened (a hash, a process id). */
  [key: string]: unknown;
}

type Entry = { state: 'done'; result: ToolResult } | { state: 'pending'; intent: Intent };

export function journalKey(ctx: Pick<ToolContext, 'runId'>, call: Pick<ToolCall, 'id'>): string {
  return `tool:${ctx.runId}:${call.id}`;
}

export interface Once {
  /** What an earlier attempt of this call recorded before acting, when it got no further. */
  readonly previous: Intent | undefined;
  /** Records what this attempt is about to do; call before the effect. */
  intend(intent: Intent): Promise<void>;
}

/** Runs `body` unless this call already finished; records its result. */
export async function once(ctx: ToolContext, call: ToolCall, body: (once: Once) => Promise<ToolResult>): Promise<ToolResult> {
  const key = journalKey(ctx, call);
  const entry = (await ctx.journal.get(key)) as Entry | undefined;
  if (entry?.state === 'done') return entry.result;
  const result = await body({
    previous: entry?.state === 'pending' ? entry.intent : undefined,
    intend: (intent) => ctx.journal.put(key, { state: 'pending', intent } satisfies Entry),
  });
  await ctx.journal.put(key, { state: 'done', result } satisfies Entry);
  return result;
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}
