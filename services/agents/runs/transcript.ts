/**
 * The transcript as the model sees it, from the stored entries: assistant turns as they were, and everything
 * between two assistant turns (tool results first, then texts: a goal, a message, a nudge) as one user turn, as
 * both APIs want it. A tool call without a result (a crash between the two) gets one saying so, so a transcript
 * is always well formed.
 */
import type { ContentBlock, LlmMessage } from '../providers/index.js';
import type { MessageRow } from './store.js';

export interface UserText {
  text: string;
}

export interface ToolResultEntry {
  toolUseId: string;
  content: string;
  isError: boolean;
}

export function buildTranscript(rows: readonly MessageRow[]): LlmMessage[] {
  const messages: LlmMessage[] = [];
  let results: ContentBlock[] = [];
  let texts: ContentBlock[] = [];
  let open: string[] = [];

  const flushUser = () => {
    const answered = new Set(results.map((block) => (block as { toolUseId: string }).toolUseId));
    for (const id of open) {
      if (!answered.has(id)) results.push({ type: 'tool_result', toolUseId: id, content: 'This call was not run.', isError: true });
    }
    open = [];
    if (results.length + texts.length > 0) messages.push({ role: 'user', content: [...results, ...texts] });
    results = [];
    texts = [];
  };

  for (const row of rows) {
    if (row.kind === 'assistant') {
      flushUser();
      const content = row.data as ContentBlock[];
      messages.push({ role: 'assistant', content });
      open = content.filter((block) => block.type === 'tool_use').map((block) => (block as { id: string }).id);
    } else if (row.kind === 'result') {
      const result = row.data as ToolResultEntry;
      results.push({ type: 'tool_result', toolUseId: result.toolUseId, content: result.content, isError: result.isError });
    } else {
      texts.push({ type: 'text', text: (row.data as UserText).text });
    }
  }
  flushUser();
  return messages;
}
