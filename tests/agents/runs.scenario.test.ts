/**
 * The "done when": a scripted run started with an API key reads the IR, adds to it, runs the generator,
 * edits a generated file, starts the app in the background, runs its tests and completes, over both wire
 * formats; its events replay in order; revert puts the workspace back as it was after a step.
 */
import { describe, expect, it } from 'vitest';
import type { FakeScript, FakeTurn, RecordedRequest } from '../../services/agents/fake-model/index.js';
import { agentSuite } from '../helpers/agent.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { createProject, sh } from '../helpers/sandbox.js';

const suite = agentSuite('runs-scenario');

function nodeFixture(): Record<string, string> {
  const files = loadFixture('hr-leave');
  files['ir/project.yaml'] = files['ir/project.yaml']!.replace(/runtime: \w+/, 'runtime: node').replace(/, framework: \w+/, '');
  return files;
}

/** The id of the background process a run_command result names. */
function processIdIn(request: RecordedRequest): string {
  const id = request.toolResults.map((result) => /Still running as process (\S+?)[ .]/.exec(result.content)?.[1]).find(Boolean);
  if (!id) throw new Error(`no process id in ${JSON.stringify(request.toolResults)}`);
  return id;
}

const call = (name: string, input: unknown, text = ''): FakeTurn => ({ kind: 'reply', text, toolCalls: [{ name, input }] });

function buildScript(): FakeScript {
  return {
    turns: [
      call('read_ir', {}, 'Let me look at the model first.'),
      call('update_ir', { changes: nodeFixture() }, 'Adding the Leave context with its aggregate.'),
      call('run_generator', {}, 'Generating the code.'),
      call('edit_file', { path: 'src/main.ts', old_text: 'listening on', new_text: 'Leave Desk listening on' }, 'A friendlier start-up line.'),
      // npm test builds with tsc first, so the app can then start from dist/.
      call('run_command', { command: 'npm install --no-audit --no-fund && npm run typecheck && npm test', timeout_seconds: 240 }, 'Installing, type-checking and running the tests.'),
      call('run_command', { command: 'PORT=3000 node dist/src/main.js', background: true }, 'Starting the app.'),
      // This turn answers the background start: its result names the process.
      (request: RecordedRequest): FakeTurn => call('stop_process', { process_id: processIdIn(request) }),
      { kind: 'reply' as const, text: 'The Leave Desk API is generated, edited, running and its tests pass.' },
    ],
  };
}

async function apiKey(): Promise<string> {
  const response = await suite.api.post('/api/v1/auth/api-keys', {
    token: suite.owner.accessToken,
    body: { name: 'scenario', permissions: ['read', 'write', 'execute'] },
  });
  expect(response.status).toBe(201);
  return response.body.key;
}

async function scenario(provider: 'anthropic' | 'openai', projectId: string, key: string) {
  suite.script(buildScript());
  const created = await suite.api.post(`/api/v1/projects/${projectId}/runs`, {
    token: key,
    body: { message: 'Build a leave-request API, start it and make sure its tests pass.', provider },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const run = await suite.waitFor(created.body.id, ['completed', 'failed', 'needs_input'], 360_000, projectId);
  expect(run.status, JSON.stringify(run)).toBe('completed');
  expect(run.provider).toBe(provider);
  expect(run.steps).toBe(8);

  const events = await suite.events(run.id, projectId);
  const results = events.filter((event) => event.type === 'tool.result');
  expect(results.map((event) => [event.data.name, event.data.isError])).toEqual([
    ['read_ir', false],
    ['update_ir', false],
    ['run_generator', false],
    ['edit_file', false],
    ['run_command', false],
    ['run_command', false],
    ['stop_process', false],
  ]);
  expect(results[4]!.data.display).toMatchObject({ kind: 'command', exitCode: 0 });
  expect(results[5]!.data.display).toMatchObject({ kind: 'command', processId: expect.any(String) });
  const seqs = events.map((event) => event.seq);
  expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
  expect(events.at(-1)).toMatchObject({ type: 'run.status', data: { status: 'completed' } });
  expect(await sh(suite.api, suite.owner, projectId, 'grep -c "Leave Desk listening on" src/main.ts')).toBe('1');
  return run;
}

describe('a scripted run that builds an app', () => {
  it('over the Anthropic wire format, with an API key; revert then restores any step', { timeout: 480_000 }, async () => {
    const key = await apiKey();
    const run = await scenario('anthropic', suite.projectId, key);

    // After step 3 the generated file was as the generator wrote it; after step 4 it had the edit.
    const revert = await suite.api.post(`/api/v1/projects/${suite.projectId}/runs/${run.id}/revert`, { token: key, body: { step: 3 } });
    expect(revert.status, JSON.stringify(revert.body)).toBe(200);
    expect(revert.body.step).toBe(3);
    expect(await sh(suite.api, suite.owner, suite.projectId, 'grep -c "Leave Desk listening on" src/main.ts || true')).toBe('0');
    expect(await sh(suite.api, suite.owner, suite.projectId, 'test -f ir/contexts/leave.yaml && echo kept')).toBe('kept');
    const back = await suite.api.post(`/api/v1/projects/${suite.projectId}/runs/${run.id}/revert`, { token: key, body: { step: 4 } });
    expect(back.status).toBe(200);
    expect(await sh(suite.api, suite.owner, suite.projectId, 'grep -c "Leave Desk listening on" src/main.ts')).toBe('1');
    const diff = await suite.api.get(`/api/v1/projects/${suite.projectId}/runs/${run.id}/steps/4/diff`, { token: key });
    expect(diff.status).toBe(200);
    expect(diff.body.files).toEqual([expect.objectContaining({ path: 'src/main.ts', change: 'modified' })]);
  });

  it('over the OpenAI wire format', { timeout: 480_000 }, async () => {
    const projectId = await createProject(suite.api, suite.owner, 'node');
    try {
      await scenario('openai', projectId, await apiKey());
      expect(suite.fake.requests().some((request) => request.api === 'openai')).toBe(true);
    } finally {
      await suite.app.services.sandboxes.destroy(projectId).catch(() => {});
    }
  });
});
