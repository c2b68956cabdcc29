/**
 * Secrets in agent runs: run_command gets the project's secrets as environment; whatever prints them (whole,
 * base64-encoded, split across writes; or the model's own streamed text) is recorded only as [secret:NAME], in the
 * events and in the transcript the model is sent. The run's user's own LLM key is used before the server's.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { agentSuite } from '../helpers/agent.js';

const suite = agentSuite('runs-secrets');
const SECRET = 'run-secret-4b1d9e07c3a2';

describe('secrets in an agent run', () => {
  it('reach run_command, and only their redacted form reaches events, transcript and model', async () => {
    const { api, owner, projectId, fake } = suite;
    const created = await api.post(`/api/v1/projects/${projectId}/secrets`, {
      token: owner.accessToken,
      body: { name: 'S', value: SECRET },
    });
    expect(created.status, created.text).toBe(201);
    // The owner's own key: the fake model answers a request with the script named by its API key.
    const userKey = `user-key-${randomUUID()}`;
    const mine = await api.post('/api/v1/me/secrets', { token: owner.accessToken, body: { name: 'ANTHROPIC_API_KEY', value: userKey } });
    expect(mine.status, mine.text).toBe(201);

    const command = [
      'printf "%s\\n" "$S"',
      'printf "%s" "$S" | base64',
      'printf "%s" "$S" | cut -c1-5 | tr -d "\\n"; sleep 0.2; printf "%s\\n" "$S" | cut -c6-',
      'printf "%s" "$S" | sha256sum',
    ].join('; ');
    let seenByModel = '';
    fake.setScript(userKey, {
      turns: [
        {
          kind: 'reply',
          text: ['Checking run-sec', `${SECRET.slice(7)} now.`],
          chunkDelayMs: 120,
          toolCalls: [{ name: 'run_command', input: { command } }],
        },
        (request) => {
          seenByModel = JSON.stringify(request.body);
          return { kind: 'reply', text: 'Done.' };
        },
      ],
    });
    suite.script({ turns: [], otherwise: { kind: 'error', status: 401, message: 'the server default key must not be used' } });

    const started = await suite.startRun({ message: 'Use the secret S' });
    const run = await suite.waitFor(started.id, ['completed', 'failed', 'needs_input']);
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(fake.remainingTurns(userKey)).toBe(0);

    const events = await suite.events(started.id);
    const result = events.find((event) => event.type === 'tool.result')!;
    expect(result.data.isError, JSON.stringify(result.data)).toBe(false);
    const lines: string[] = result.data.display.output.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['[secret:S]', '[secret:S]', '[secret:S]']);
    // The command did get the value.
    expect(lines[3]!.split(' ')[0]).toBe(createHash('sha256').update(SECRET).digest('hex'));

    const text = events.filter((event) => event.type === 'text.delta').map((event) => event.data.text).join('');
    expect(text).toBe('Checking [secret:S] now.Done.');

    const { rows } = await suite.app.database.db.query<{ data: string }>('SELECT data::text AS data FROM agent_run_messages WHERE run_id = $1', [started.id]);
    const transcript = rows.map((row) => row.data).join('\n');
    expect(transcript).toContain('[secret:S]');
    for (const recorded of [JSON.stringify(events), transcript, seenByModel]) {
      for (const form of [SECRET, Buffer.from(SECRET).toString('base64')]) expect(recorded.includes(form), form).toBe(false);
      expect(recorded).not.toContain(SECRET.slice(0, 12));
    }
    expect(seenByModel).toContain('[secret:S]');
    // The model is told which variables its commands get.
    expect(seenByModel).toContain('as environment variables: S.');

    const audit = await api.get(`/api/v1/projects/${projectId}/secrets/audit`, { token: owner.accessToken });
    expect(audit.body.items).toContainEqual(expect.objectContaining({ secretName: 'S', action: 'used', context: `run:${started.id}` }));
  });

  it("refuses a person's own base URL that points at this deployment's network, with the reason", async () => {
    const { api, owner } = suite;
    // Where the fake model listens (127.0.0.1): a person could aim the worker at any local service this way.
    const base = await api.post('/api/v1/me/secrets', {
      token: owner.accessToken,
      body: { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:5432/' },
    });
    expect(base.status, base.text).toBe(201);
    try {
      const started = await suite.startRun({ message: 'Anything' });
      const run = await suite.waitFor(started.id, ['completed', 'failed', 'needs_input']);
      expect(run.status).toBe('failed');
      expect(run.reason).toContain('ANTHROPIC_BASE_URL points at a private or loopback address (127.0.0.1');
    } finally {
      await api.delete('/api/v1/me/secrets/ANTHROPIC_BASE_URL', { token: owner.accessToken });
    }
  });
});
