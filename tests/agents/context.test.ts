/**
 * Context management: a synthetic 200-step transcript always fits its budget, condensed deterministically, the
 * goal and the recent turns intact, no tool call ever parted from its result.
 */
import { describe, expect, it } from 'vitest';
import {
  contextWindow,
  estimateTokens,
  fitTranscript,
  messageBudget,
  DEFAULT_KEEP_RECENT_TURNS,
} from '../../services/agents/context.js';
import type { LlmMessage } from '../../services/agents/providers/index.js';

const GOAL = 'Build a leave-request app: employees request leave, managers approve it.';

/** Step n of a run: the model's text and a tool call, and the result (some large, some errors). */
function stepMessages(n: number): LlmMessage[] {
  const id = `toolu_${n}`;
  const kind = n % 4;
  const call =
    kind === 0
      ? { name: 'write_file', input: { path: `src/file${n}.js`, content: `export const v${n} = ${n};\n`.repeat(40) } }
      : kind === 1
        ? { name: 'run_command', input: { command: 'npm test' } }
        : kind === 2
          ? { name: 'read_file', input: { path: `src/file${n - 2}.js` } }
          : { name: 'edit_file', input: { path: `src/file${n - 3}.js`, old_text: `v${n - 3}`, new_text: `w${n - 3}` } };
  const content =
    kind === 1 ? `Exit code ${n % 3 === 0 ? 0 : 1}.\nOutput:\n${'test output line\n'.repeat(200 + (n % 7) * 100)}` : kind === 2 ? 'x'.repeat(4000) : `Done step ${n}`;
  return [
    { role: 'assistant', content: [{ type: 'text', text: `Step ${n}: working on it.` }, { type: 'tool_use', id, ...call }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: id, content, isError: kind === 1 && n % 3 !== 0 }] },
  ];
}

/** The API's rules: starts with the user, roles alternate, every tool_use answered right after, every result answers one. */
function expectWellFormed(messages: LlmMessage[]): void {
  expect(messages[0]!.role).toBe('user');
  for (let i = 1; i < messages.length; i++) expect(messages[i]!.role).not.toBe(messages[i - 1]!.role);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const uses = message.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
    const next = messages[i + 1];
    const answered = next ? next.content.flatMap((b) => (b.type === 'tool_result' ? [b.toolUseId] : [])) : [];
    if (i < messages.length - 1) expect(answered.sort()).toEqual(uses.sort());
    const results = message.content.flatMap((b) => (b.type === 'tool_result' ? [b.toolUseId] : []));
    if (results.length > 0) {
      const previous = messages[i - 1]!;
      expect(previous.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : [])).sort()).toEqual(results.sort());
    }
  }
}

describe('fitTranscript', () => {
  const budget = messageBudget({ windowTokens: 60_000, maxOutputTokens: 8_000, system: [{ text: 'x'.repeat(20_000) }], tools: [] });

  it('leaves a transcript that fits alone', () => {
    const messages: LlmMessage[] = [{ role: 'user', content: [{ type: 'text', text: GOAL }] }, ...stepMessages(1)];
    const fitted = fitTranscript(messages, { budgetTokens: budget });
    expect(fitted.condensed).toBe(false);
    expect(fitted.messages).toEqual(messages);
  });

  it('keeps a 200-step run within its budget at every step, from the whole transcript and from its own output', () => {
    const full: LlmMessage[] = [{ role: 'user', content: [{ type: 'text', text: GOAL }] }];
    let carried: LlmMessage[] = [...full];
    let condensedOnce = false;
    for (let n = 1; n <= 200; n++) {
      const step = stepMessages(n);
      full.push(...step);
      const fromFull = fitTranscript(full, { budgetTokens: budget });
      carried = fitTranscript([...carried, ...step], { budgetTokens: budget }).messages;
      for (const messages of [fromFull.messages, carried]) {
        expect(estimateTokens(messages), `step ${n}`).toBeLessThanOrEqual(budget);
        expectWellFormed(messages);
        // The goal stays first, word for word.
        expect(messages[0]!.content[0]).toEqual({ type: 'text', text: GOAL });
        // The last step is there as it was.
        expect(messages.slice(-2)).toEqual(step);
      }
      condensedOnce ||= fromFull.condensed;
    }
    expect(condensedOnce).toBe(true);
    const last = fitTranscript(full, { budgetTokens: budget });
    expect(last.estimatedTokens).toBe(estimateTokens(last.messages));
    // The recent turns are intact, and the summary says what was done before them.
    expect(last.messages.slice(-2 * DEFAULT_KEEP_RECENT_TURNS)).toEqual(full.slice(-2 * DEFAULT_KEEP_RECENT_TURNS));
    const summary = last.messages[0]!.content[1];
    expect(summary?.type).toBe('text');
    const text = (summary as { text: string }).text;
    expect(text).toMatch(/^\[Summary of the earlier steps/);
    expect(text).toMatch(/run_command `npm test`: failed: Exit code 1\./);
    expect(text).toMatch(/Files changed in these steps: .*src\/file\d+\.js/);
    // Deterministic: the same transcript condenses the same way.
    expect(fitTranscript(full, { budgetTokens: budget })).toEqual(last);
  });

  it('shortens a single huge tool result, and a huge goal, rather than overflow', () => {
    const huge: LlmMessage[] = [
      { role: 'user', content: [{ type: 'text', text: `${GOAL}\n${'detail '.repeat(100_000)}` }] },
      ...stepMessages(1),
      { role: 'assistant', content: [{ type: 'tool_use', id: 'big', name: 'run_command', input: { command: 'cat big.log' } }] },
      { role: 'user', content: [{ type: 'tool_result', toolUseId: 'big', content: 'log line\n'.repeat(200_000) }] },
    ];
    const fitted = fitTranscript(huge, { budgetTokens: budget });
    expect(fitted.condensed).toBe(true);
    expect(estimateTokens(fitted.messages)).toBeLessThanOrEqual(budget);
    expectWellFormed(fitted.messages);
    const result = fitted.messages.at(-1)!.content[0] as { content: string };
    expect(result.content).toMatch(/shortened to fit the context window/);
    expect((fitted.messages[0]!.content[0] as { text: string }).text.startsWith(GOAL)).toBe(true);
  });
});

describe('contextWindow', () => {
  it('uses the override, then the known model, then 200k for Claude and 128k for others', () => {
    expect(contextWindow('my-model', { 'my-model': 32_000 })).toBe(32_000);
    expect(contextWindow('claude-haiku-4-5')).toBe(200_000);
    expect(contextWindow('gpt-4o')).toBe(128_000);
    expect(contextWindow('claude-next-unknown')).toBe(200_000);
    expect(contextWindow('llama-3-70b')).toBe(128_000);
  });
});
