/**
 * Keeping a run's transcript inside the model's context window. Tokens are estimated, not counted: characters
 * / 3.5 (English and code average 3.5 to 4 characters per token on both Claude's and OpenAI's tokenizers, so
 * this errs on the large side), plus a few tokens per message and block. When the transcript nears its budget,
 * older turns are condensed into one summary (written here from the transcript itself: files changed,
 * commands and their outcome, errors, what the model said; no extra model call), while the first user message
 * (the goal) and the most recent turns stay as they were. A tool call and its result are never separated. The
 * IR summary and the goal also ride in the system prompt's changing part (pinned by the caller).
 */
import { modelInfo, type LlmMessage, type LlmTool, type ContentBlock } from './providers/index.js';

export const CHARS_PER_TOKEN = 3.5;
const MESSAGE_OVERHEAD_TOKENS = 4;
const BLOCK_OVERHEAD_TOKENS = 3;
/** The window of a model nobody described: Claude models have at least 200k, others 128k is a safe floor. */
export const DEFAULT_CLAUDE_WINDOW = 200_000;
export const DEFAULT_WINDOW = 128_000;
/** Condensing starts when the transcript passes this share of its budget, so a long tool result still fits after it. */
export const CONDENSE_AT = 0.75;
export const DEFAULT_KEEP_RECENT_TURNS = 10;
/** The most the summary may take of the budget. */
const SUMMARY_SHARE = 0.15;
/** The most the goal may take of the budget. */
const GOAL_SHARE = 0.25;
const SUMMARY_HEADER = '[Summary of the earlier steps of this run, condensed to fit the context window]';
const TRUNCATED_RESULT_NOTE = '\n[... this tool result was shortened to fit the context window ...]\n';

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

function blockTokens(block: ContentBlock): number {
  switch (block.type) {
    case 'text':
      return BLOCK_OVERHEAD_TOKENS + estimateTextTokens(block.text);
    case 'thinking':
      return BLOCK_OVERHEAD_TOKENS + estimateTextTokens(block.text) + 100; // the signature
    case 'tool_use':
      return BLOCK_OVERHEAD_TOKENS + estimateTextTokens(block.name) + estimateTextTokens(JSON.stringify(block.input) ?? '');
    case 'tool_result':
      return BLOCK_OVERHEAD_TOKENS + estimateTextTokens(block.content);
  }
}

export function estimateMessageTokens(message: LlmMessage): number {
  return message.content.reduce((sum, block) => sum + blockTokens(block), MESSAGE_OVERHEAD_TOKENS);
}

export function estimateTokens(messages: readonly LlmMessage[]): number {
  return messages.reduce((sum, message) => sum + estimateMessageTokens(message), 0);
}

/**
 * A model's context window: `overrides` (LLM_CONTEXT_WINDOWS) first, then what the providers' price list knows,
 * else 200k for Claude models and 128k for others.
 */
export function contextWindow(model: string, overrides: Readonly<Record<string, number>> = {}): number {
  const override = overrides[model];
  if (override !== undefined) return override;
  const bare = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  const known = modelInfo(model);
  const isUnknown = known.price.input === 0 && known.price.output === 0;
  if (!isUnknown) return known.contextWindowTokens;
  return bare.startsWith('claude') ? DEFAULT_CLAUDE_WINDOW : DEFAULT_WINDOW;
}

/** What the messages may take: the window less the answer's room, the system prompt and the tools. */
export function messageBudget(options: {
  windowTokens: number;
  maxOutputTokens: number;
  system: ReadonlyArray<{ text: string }>;
  tools: readonly LlmTool[];
}): number {
  const fixed =
    options.system.reduce((sum, part) => sum + estimateTextTokens(part.text) + BLOCK_OVERHEAD_TOKENS, 0) +
    options.tools.reduce((sum, tool) => sum + estimateTextTokens(tool.name + tool.description + JSON.stringify(tool.inputSchema)) + BLOCK_OVERHEAD_TOKENS, 0);
  return Math.max(1000, options.windowTokens - options.maxOutputTokens - fixed);
}

export interface FitOptions {
  /** What the messages may take in all (`messageBudget`). */
  budgetTokens: number;
  /** Recent turns kept as they are (fewer when they alone do not fit). Default 10. */
  keepRecentTurns?: number;
}

export interface Fitted {
  messages: LlmMessage[];
  /** Whether older turns were condensed (or results shortened) this time. */
  condensed: boolean;
  estimatedTokens: number;
}

/**
 * The transcript as it should be sent: unchanged while it is below CONDENSE_AT of the budget; otherwise the goal,
 * a summary of the older turns, and the recent turns. Pure and deterministic: the same transcript gives the same
 * result (prompt caching and retries depend on it).
 */
export function fitTranscript(messages: readonly LlmMessage[], options: FitOptions): Fitted {
  const total = estimateTokens(messages);
  if (total <= options.budgetTokens * CONDENSE_AT || messages.length <= 2) {
    return { messages: [...messages], condensed: false, estimatedTokens: total };
  }
  const [goalMessage, ...rest] = messages;
  const split = splitGoal(goalMessage!);
  const turns = groupTurns(rest);
  const target = Math.floor(options.budgetTokens * CONDENSE_AT * 0.8);
  const summaryBudget = Math.floor(options.budgetTokens * SUMMARY_SHARE);
  // A goal longer than a quarter of the budget keeps its start and end.
  const goal = shortenTexts(split.goal, Math.floor(options.budgetTokens * GOAL_SHARE));
  const previousSummary = split.previousSummary;
  const goalTokens = estimateMessageTokens({ role: 'user', content: goal });

  let keep = Math.min(options.keepRecentTurns ?? DEFAULT_KEEP_RECENT_TURNS, turns.length);
  // Fewer recent turns while they do not fit beside the goal and a summary; never fewer than one.
  while (keep > 1 && goalTokens + summaryBudget + tokensOf(turns.slice(turns.length - keep)) > target) keep--;
  const older = turns.slice(0, turns.length - keep);
  let recent = turns.slice(turns.length - keep);
  const summary = summarize(previousSummary, older, summaryBudget);
  const head: LlmMessage = { role: 'user', content: [...goal, { type: 'text', text: summary }] };
  // The recent turns may still be too large (one huge result): shorten their tool results, oldest first.
  const room = options.budgetTokens - estimateMessageTokens(head) - 50;
  recent = shortenResults(recent, room);
  const fitted = mergeRoles([head, ...recent.flat()]);
  return { messages: fitted, condensed: true, estimatedTokens: estimateTokens(fitted) };
}

function shortenTexts(blocks: ContentBlock[], maxTokens: number): ContentBlock[] {
  const tokens = blocks.reduce((sum, block) => sum + blockTokens(block), 0);
  if (tokens <= maxTokens) return blocks;
  const keepChars = Math.floor((maxTokens / Math.max(1, blocks.length)) * CHARS_PER_TOKEN);
  return blocks.map((block) => {
    if (block.type !== 'text' || block.text.length <= keepChars) return block;
    const half = Math.floor(keepChars / 2);
    return { type: 'text', text: `${block.text.slice(0, half)}\n[... the middle of this message was left out to fit the context window ...]\n${block.text.slice(block.text.length - half)}` };
  });
}

/** The goal's own blocks, and the lines of a summary an earlier condensing added to it. */
function splitGoal(message: LlmMessage): { goal: ContentBlock[]; previousSummary: string[] } {
  const goal: ContentBlock[] = [];
  const previousSummary: string[] = [];
  for (const block of message.content) {
    if (block.type === 'text' && block.text.startsWith(SUMMARY_HEADER)) {
      previousSummary.push(...block.text.slice(SUMMARY_HEADER.length).split('\n').filter((line) => line.trim() !== ''));
    } else goal.push(block);
  }
  return { goal, previousSummary };
}

/**
 * Turns that must stay together: an assistant message with the user message of its tool results, or a user
 * message of its own (a follow-up from the person).
 */
function groupTurns(messages: readonly LlmMessage[]): LlmMessage[][] {
  const turns: LlmMessage[][] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const next = messages[i + 1];
    if (message.role === 'assistant' && next?.role === 'user' && next.content.some((block) => block.type === 'tool_result')) {
      turns.push([message, next]);
      i++;
    } else turns.push([message]);
  }
  return turns;
}

function tokensOf(turns: readonly LlmMessage[][]): number {
  return turns.reduce((sum, turn) => sum + estimateTokens(turn), 0);
}

/** Consecutive messages of one role become one (the goal and a follow-up after the summary, say). */
function mergeRoles(messages: LlmMessage[]): LlmMessage[] {
  const merged: LlmMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (last && last.role === message.role) merged[merged.length - 1] = { role: last.role, content: [...last.content, ...message.content] };
    else merged.push(message);
  }
  return merged;
}

function shortenResults(turns: LlmMessage[][], room: number): LlmMessage[][] {
  let excess = tokensOf(turns) - room;
  if (excess <= 0) return turns;
  return turns.map((turn) =>
    turn.map((message) => {
      if (excess <= 0 || message.role !== 'user') return message;
      return {
        role: message.role,
        content: message.content.map((block) => {
          if (excess <= 0 || block.type !== 'tool_result') return block;
          const tokens = estimateTextTokens(block.content);
          const keepTokens = Math.max(200, tokens - excess);
          if (keepTokens >= tokens) return block;
          const keepChars = Math.floor(keepTokens * CHARS_PER_TOKEN);
          const head = block.content.slice(0, Math.floor(keepChars / 2));
          const tail = block.content.slice(block.content.length - Math.floor(keepChars / 2));
          excess -= tokens - keepTokens;
          return { ...block, content: `${head}${TRUNCATED_RESULT_NOTE}${tail}` };
        }),
      };
    }),
  );
}

/** The summary of the older turns: what was done, in lines, the most recent kept when it is too long. */
function summarize(previous: readonly string[], turns: readonly LlmMessage[][], budgetTokens: number): string {
  const lines = [...previous];
  const changed = new Set<string>();
  for (const turn of turns) {
    const [first, second] = turn;
    if (first!.role === 'user') {
      for (const block of first!.content) if (block.type === 'text') lines.push(`- The user said: ${oneLine(block.text, 300)}`);
      continue;
    }
    const results = new Map<string, { content: string; isError: boolean }>();
    for (const block of second?.content ?? []) {
      if (block.type === 'tool_result') results.set(block.toolUseId, { content: block.content, isError: block.isError ?? false });
    }
    for (const block of first!.content) {
      if (block.type === 'text' && block.text.trim() !== '') lines.push(`- You said: ${oneLine(block.text, 200)}`);
      if (block.type !== 'tool_use') continue;
      const result = results.get(block.id);
      const line = describeCall(block.name, block.input, result);
      lines.push(line.text);
      for (const path of line.changed) changed.add(path);
    }
  }
  if (changed.size > 0) lines.push(`- Files changed in these steps: ${[...changed].slice(0, 100).join(', ')}${changed.size > 100 ? ', ...' : ''}`);
  // The newest lines count most: drop from the oldest until it fits.
  const maxChars = Math.max(500, Math.floor(budgetTokens * CHARS_PER_TOKEN));
  let kept = lines;
  let size = kept.reduce((sum, line) => sum + line.length + 1, 0);
  let dropped = 0;
  while (size > maxChars && kept.length > 1) {
    size -= kept[0]!.length + 1;
    kept = kept.slice(1);
    dropped++;
  }
  const note = dropped > 0 ? `\n- (${dropped} older entries left out)` : '';
  return `${SUMMARY_HEADER}${note}\n${kept.join('\n')}\n(The files themselves are current: read them again rather than relying on this summary.)`;
}

function describeCall(name: string, input: unknown, result: { content: string; isError: boolean } | undefined): { text: string; changed: string[] } {
  const fields = (input !== null && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const str = (key: string) => (typeof fields[key] === 'string' ? oneLine(fields[key], 160) : '');
  const outcome = result === undefined ? 'no result' : result.isError ? `failed: ${oneLine(result.content, 240)}` : oneLine(result.content, 160);
  const ok = result !== undefined && !result.isError;
  switch (name) {
    case 'write_file':
    case 'edit_file':
      return { text: `- ${name} ${str('path')}: ${outcome}`, changed: ok && str('path') ? [str('path')] : [] };
    case 'update_ir': {
      const paths = fields.changes !== null && typeof fields.changes === 'object' ? Object.keys(fields.changes as object).slice(0, 20) : [];
      return { text: `- update_ir ${paths.join(', ')}: ${outcome}`, changed: ok ? paths : [] };
    }
    case 'run_command':
      return { text: `- run_command \`${str('command')}\`${fields.background === true ? ' (background)' : ''}: ${outcome}`, changed: [] };
    case 'run_generator':
      return { text: `- run_generator ${str('generator')}: ${outcome}`, changed: [] };
    default:
      return { text: `- ${name} ${str('path') || str('query') || str('process_id')}: ${result?.isError ? outcome : 'done'}`, changed: [] };
  }
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}
