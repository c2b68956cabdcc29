/** An agent run's plumbing end to end: API → Temporal workflow → fake model → tool in the sandbox → events. */
import { describe, expect, it } from 'vitest';
import { agentSuite } from '../helpers/agent.js';
import { sh } from '../helpers/sandbox.js';

const suite = agentSuite('runs-smoke');

describe('an agent run', () => {
  it('streams its text, runs a tool in the sandbox and completes, every event in order', async () => {
    suite.script({
      turns: [
        { kind: 'reply', text: 'I will write the file now.', toolCalls: [{ name: 'write_file', input: { path: 'hello.txt', content: 'hi there\n' } }] },
        { kind: 'reply', text: 'Done: hello.txt says hi.' },
      ],
    });
    const started = await suite.startRun({ message: 'Write hello.txt' });
    expect(started.status).toBe('queued');
    const run = await suite.waitFor(started.id, ['completed', 'failed', 'needs_input']);
    expect(run).toMatchObject({ status: 'completed', steps: 2, promptVersion: expect.stringMatching(/^v\d+$/) });
    expect(run.usage.outputTokens).toBeGreaterThan(0);
    expect(await sh(suite.api, suite.owner, suite.projectId, 'cat hello.txt')).toBe('hi there');

    const events = await suite.events(started.id);
    const seqs = events.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('message.user');
    expect(types).toContain('text.delta');
    expect(events.filter((event) => event.type === 'run.status').map((event) => event.data.status)).toEqual(['queued', 'running', 'completed']);
    const result = events.find((event) => event.type === 'tool.result')!;
    expect(result.data).toMatchObject({ name: 'write_file', isError: false, display: { kind: 'diff', path: 'hello.txt', after: 'hi there\n' } });
    const text = events.filter((event) => event.type === 'text.delta' && event.data.step === 1).map((event) => event.data.text).join('');
    expect(text).toBe('I will write the file now.');
  });
});
