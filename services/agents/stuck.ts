/**
 * Stuck detection, after OpenHands' StuckDetector: a run whose last steps repeat themselves is burning tokens.
 * Patterns, on consecutive steps at the end of the run only (what happened earlier does not count):
 * - `repeated_action`: the same tool calls with the same results, 4 steps in a row;
 * - `repeated_error`: the same tool calls failing the same way, 3 steps in a row;
 * - `alternation`: two steps A and B alternating A B A B A B with the same results each time;
 * - `monologue`: 3 turns in a row with no tool call and no new text (empty, or the same text again).
 * A step is a model turn with its tool calls and their results. Results are compared after removing what
 * changes on every run of the same thing (durations, timestamps), never counts or messages, so a test run
 * that fails differently after an edit is progress, not a loop. Pure: the workflow may call it.
 */
import type { LlmMessage } from './providers/index.js';

export interface StepCall {
  name: string;
  input: unknown;
  /** The tool's result; undefined when it has none yet (the call was not executed). */
  result?: { content: string; isError: boolean } | undefined;
}

export interface StuckStep {
  /** The model's text of the turn. */
  text: string;
  calls: StepCall[];
}

export type StuckKind = 'repeated_action' | 'repeated_error' | 'alternation' | 'monologue';

export interface Stuck {
  kind: StuckKind;
  /** For a person: what repeats. */
  reason: string;
}

export const STUCK_THRESHOLDS = { repeatedAction: 4, repeatedError: 3, alternationSteps: 6, monologue: 3 } as const;

/** Whether the run's last steps are a loop, and which. */
export function detectStuck(steps: readonly StuckStep[]): Stuck | null {
  const n = steps.length;
  if (n === 0) return null;
  const keys = steps.map(stepKey);

  const monologue = trailing(steps, STUCK_THRESHOLDS.monologue);
  if (monologue && monologue.every((step) => step.calls.length === 0)) {
    const texts = monologue.map((step) => normalizeText(step.text));
    if (texts.every((text) => text === '')) {
      return { kind: 'monologue', reason: `The model answered ${monologue.length} times in a row with neither text nor a tool call` };
    }
    if (texts.every((text) => text === texts[0])) {
      return { kind: 'monologue', reason: `The model said the same thing ${monologue.length} times in a row without doing anything` };
    }
  }

  const lastCalls = steps[n - 1]!.calls;
  if (lastCalls.length > 0) {
    const errorRun = trailingEqual(keys, STUCK_THRESHOLDS.repeatedError);
    if (errorRun && lastCalls.every((call) => call.result?.isError)) {
      return {
        kind: 'repeated_error',
        reason: `${describeCalls(lastCalls)} failed the same way ${STUCK_THRESHOLDS.repeatedError} times in a row: ${firstLine(lastCalls.find((c) => c.result)?.result?.content ?? '')}`,
      };
    }
    if (trailingEqual(keys, STUCK_THRESHOLDS.repeatedAction)) {
      return {
        kind: 'repeated_action',
        reason: `${describeCalls(lastCalls)} was repeated ${STUCK_THRESHOLDS.repeatedAction} times in a row with the same result`,
      };
    }
  }

  const span = STUCK_THRESHOLDS.alternationSteps;
  if (n >= span) {
    const tail = keys.slice(n - span);
    const [a, b] = [tail[0]!, tail[1]!];
    const alternates = a !== b && tail.every((key, i) => key === (i % 2 === 0 ? a : b));
    const acting = steps.slice(n - span).every((step) => step.calls.length > 0);
    if (alternates && acting) {
      return {
        kind: 'alternation',
        reason: `The model alternated between ${describeCalls(steps[n - 2]!.calls)} and ${describeCalls(steps[n - 1]!.calls)} ${span / 2} times with the same results`,
      };
    }
  }
  return null;
}

/** What to tell the model the first time it is found stuck (the second time, the run waits for a person). */
export function nudgeFor(stuck: Stuck): string {
  return (
    `You appear to be stuck: ${stuck.reason}. Repeating it will not give a different result. ` +
    'Stop and think about why it is not working; read the relevant files or the error again, then try a different approach. ' +
    'If you cannot make progress without the user, say what you need and end your turn.'
  );
}

/**
 * The steps of a transcript: each assistant message with its tool calls, and their results from the user
 * message that follows it.
 */
export function stepsFromTranscript(messages: readonly LlmMessage[]): StuckStep[] {
  const steps: StuckStep[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role !== 'assistant') continue;
    const results = new Map<string, { content: string; isError: boolean }>();
    const next = messages[i + 1];
    if (next?.role === 'user') {
      for (const block of next.content) {
        if (block.type === 'tool_result') results.set(block.toolUseId, { content: block.content, isError: block.isError ?? false });
      }
    }
    const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
    const calls = message.content.flatMap((block) =>
      block.type === 'tool_use' ? [{ name: block.name, input: block.input, result: results.get(block.id) }] : [],
    );
    steps.push({ text, calls });
  }
  return steps;
}

function trailing<T>(items: readonly T[], count: number): readonly T[] | null {
  return items.length >= count ? items.slice(items.length - count) : null;
}

function trailingEqual(keys: readonly string[], count: number): boolean {
  const tail = trailing(keys, count);
  return tail !== null && tail.every((key) => key === tail[0]);
}

function stepKey(step: StuckStep): string {
  return JSON.stringify(step.calls.map((call) => [call.name, canonical(call.input), call.result ? [call.result.isError, normalizeResult(call.result.content)] : null]));
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are the same call. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }) ?? 'undefined';
}

/** What differs between two runs of the very same thing: timings, timestamps, temporary names. */
function normalizeResult(content: string): string {
  return content
    .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>')
    .replace(/\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|µs|us|ns|m)\b/g, '<duration>')
    .replace(/\/tmp\/[\w.-]+/g, '/tmp/<name>')
    .trim();
}

function normalizeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

function describeCalls(calls: readonly StepCall[]): string {
  if (calls.length === 0) return 'a turn without tool calls';
  return calls
    .slice(0, 3)
    .map((call) => {
      const input = call.input as Record<string, unknown> | null;
      const detail =
        input && typeof input === 'object'
          ? typeof input.command === 'string'
            ? ` \`${input.command.slice(0, 80)}\``
            : typeof input.path === 'string'
              ? ` ${input.path.slice(0, 80)}`
              : ''
          : '';
      return `${call.name}${detail}`;
    })
    .join(' + ')
    .concat(calls.length > 3 ? ` and ${calls.length - 3} more` : '');
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
