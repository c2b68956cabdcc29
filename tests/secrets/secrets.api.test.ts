/**
 * Project and personal secrets through the real API: write-only values, validation, access, their injection into
 * sandbox commands (never into the container's configuration) and their redaction from what the API returns.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxNames } from '../../services/containers/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type ApiResponse, type SignedIn } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { createProject, exec } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

const VALUE = 'tok_live_5f2c9a81e07d4b36';
const OTHER_VALUE = 'hunter2-but-longer ü&?=';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
/** Every response this file saw after a value was sent: none may hold a value. */
const responses: ApiResponse[] = [];

async function call(method: string, path: string, user: SignedIn | string, body?: unknown): Promise<ApiResponse> {
  const token = typeof user === 'string' ? user : user.accessToken;
  const response = await api.request(method, path, { token, ...(body === undefined ? {} : { body }) });
  responses.push(response);
  return response;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'secrets');
  projectId = await createProject(api, owner);
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

describe('project secrets', () => {
  it('are created, listed without values, changed and deleted, with clear errors', async () => {
    const base = `/api/v1/projects/${projectId}/secrets`;
    const created = await call('POST', base, owner, { name: 'API_TOKEN', value: VALUE, description: 'the payment API' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toEqual({
      name: 'API_TOKEN',
      description: 'the payment API',
      fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    // Not a plain hash of the value.
    expect(sha256(VALUE).startsWith(created.body.fingerprint)).toBe(false);

    expect((await call('POST', base, owner, { name: 'API_TOKEN', value: 'another-value' })).body.error.code).toBe('SECRET_EXISTS');
    for (const name of ['lower', '1ABC', 'A-B', 'PATH', 'VAPORFORM_X', 'X'.repeat(129)]) {
      const bad = await call('POST', base, owner, { name, value: 'some-value' });
      expect(bad.status, name).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await call('POST', base, owner, { name: 'EMPTY', value: '' })).status).toBe(400);
    expect((await call('POST', base, owner, { name: 'HUGE', value: 'x'.repeat(16 * 1024 + 1) })).status).toBe(400);
    expect((await call('POST', base, owner, { name: 'WIDE', value: 'ü'.repeat(9000) })).body.error.code).toBe('VALIDATION_FAILED');

    expect((await call('POST', base, owner, { name: 'DB_PASSWORD', value: OTHER_VALUE })).status).toBe(201);
    const list = await call('GET', base, owner);
    expect(list.body.items.map((item: { name: string }) => item.name)).toEqual(['API_TOKEN', 'DB_PASSWORD']);

    const before = list.body.items[0];
    const changed = await call('PUT', `${base}/API_TOKEN`, owner, { value: `${VALUE}-v2` });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.fingerprint).not.toBe(before.fingerprint);
    expect(changed.body.description).toBe('the payment API');
    const back = await call('PUT', `${base}/API_TOKEN`, owner, { value: VALUE, description: 'payments' });
    expect(back.body.fingerprint).toBe(before.fingerprint);
    expect(back.body.description).toBe('payments');

    expect((await call('PUT', `${base}/NOPE`, owner, { value: 'x-value' })).body.error.code).toBe('SECRET_NOT_FOUND');
    expect((await call('DELETE', `${base}/NOPE`, owner)).status).toBe(404);
    expect((await call('PUT', `${base}/API_TOKEN`, owner, {})).status).toBe(400);
    expect((await call('POST', base, owner, { name: 'GONE', value: 'soon-gone' })).status).toBe(201);
    expect((await call('DELETE', `${base}/GONE`, owner)).status).toBe(204);
    expect((await call('DELETE', `${base}/GONE`, owner)).body.error.code).toBe('SECRET_NOT_FOUND');
  });

  it("are another user's project's: not found; a reader sees names but changes nothing and cannot use them", async () => {
    const base = `/api/v1/projects/${projectId}/secrets`;
    const stranger = await signUp(api, 'stranger');
    expect((await call('GET', base, stranger)).body.error.code).toBe('PROJECT_NOT_FOUND');
    expect((await call('POST', base, stranger, { name: 'X_Y', value: 'value-x' })).status).toBe(404);

    const reader = await signUp(api, 'reader');
    expect((await call('POST', `/api/v1/projects/${projectId}/members`, owner, { email: reader.email, role: 'read' })).status).toBe(201);
    expect((await call('GET', base, reader)).status).toBe(200);
    expect((await call('POST', base, reader, { name: 'X_Y', value: 'value-x' })).status).toBe(403);
    expect((await call('DELETE', `${base}/API_TOKEN`, reader)).status).toBe(403);
    expect((await call('GET', `${base}/audit`, reader)).status).toBe(403);
    // Without "execute" nothing runs with them.
    expect((await call('POST', `/api/v1/projects/${projectId}/exec`, reader, { command: 'echo "$API_TOKEN"' })).status).toBe(403);

    // An API key of the owner's without "execute": neither.
    const key = await call('POST', '/api/v1/auth/api-keys', owner, { name: 'ro', permissions: ['read', 'write'] });
    expect(key.status, key.text).toBe(201);
    expect((await call('POST', `/api/v1/projects/${projectId}/exec`, key.body.key, { command: 'env' })).status).toBe(403);
    // ...and it cannot manage its user's own secrets.
    expect((await call('GET', '/api/v1/me/secrets', key.body.key)).status).toBe(403);

    // A member with "execute" gets them.
    const runner = await signUp(api, 'runner');
    expect((await call('POST', `/api/v1/projects/${projectId}/members`, owner, { email: runner.email, role: 'execute' })).status).toBe(201);
    const result = await exec(api, runner, projectId, 'printf %s "$API_TOKEN" | sha256sum');
    expect(result.stdout.trim().split(' ')[0]).toBe(sha256(VALUE));
  });

  it('reach commands as environment, redacted from their output, and never the container configuration', async () => {
    const b64 = Buffer.from(VALUE).toString('base64');
    const hex = Buffer.from(VALUE).toString('hex');
    const result = await exec(
      api,
      owner,
      projectId,
      'printf %s "$API_TOKEN" | sha256sum; echo "whole $API_TOKEN"; printf %s "$API_TOKEN" | base64; echo "$API_TOKEN" | base64; printf %s "$API_TOKEN" | od -An -tx1 | tr -d " \\n"; echo; echo "err $DB_PASSWORD" >&2',
    );
    responses.push({ status: 200, headers: new Headers(), body: result, text: JSON.stringify(result) });
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]!.split(' ')[0]).toBe(sha256(VALUE));
    expect(lines.slice(1)).toEqual(['whole [secret:API_TOKEN]', '[secret:API_TOKEN]', '[secret:API_TOKEN]', '[secret:API_TOKEN]']);
    expect(result.stderr).toBe('err [secret:DB_PASSWORD]\n');
    expect(JSON.stringify(result)).not.toContain(b64);
    expect(JSON.stringify(result)).not.toContain(hex);

    // A caller's own variable of the same name wins.
    expect((await exec(api, owner, projectId, 'echo "$API_TOKEN"', { env: { API_TOKEN: 'mine' } })).stdout).toBe('mine\n');

    const info = await t.infra.docker.getContainer(sandboxNames(projectId).container).inspect();
    const config = JSON.stringify(info);
    expect(config).not.toContain(VALUE);
    expect(config).not.toContain('API_TOKEN');
    const environ = await exec(api, owner, projectId, "tr '\\0' '\\n' < /proc/1/environ | grep -c API_TOKEN || true");
    expect(environ.stdout.trim()).toBe('0');
  });

  it('are redacted from streamed exec output and process output when a value is split across writes', async () => {
    const split = `printf '%s' "\${API_TOKEN:0:7}"; sleep 0.3; printf '%s\\n' "\${API_TOKEN:7}"; printf '%s' "$API_TOKEN" | base64`;
    const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
    try {
      socket.send({ type: 'exec.start', id: 'split', projectId, command: ['bash', '-c', split] });
      await socket.next((m) => m.type === 'exec.exit' && m.id === 'split', 15_000);
      const output = socket.messages.filter((m) => m.type === 'exec.output' && m.id === 'split').map((m) => m.data);
      expect(output.join('')).toBe('[secret:API_TOKEN]\n[secret:API_TOKEN]\n');
      expect(JSON.stringify(socket.messages)).not.toContain(VALUE.slice(0, 7));
    } finally {
      socket.close();
    }

    const started = await call('POST', `/api/v1/projects/${projectId}/processes`, owner, { command: `bash -c '${split.replaceAll("'", "'\\''")}'` });
    expect(started.status, started.text).toBe(201);
    const id = started.body.id;
    // Read as a client follows it: from `next` on, while it runs.
    let text = '';
    let after = 0;
    let done = false;
    await eventually(async () => {
      const response = await call('GET', `/api/v1/projects/${projectId}/processes/${id}/output?after=${after}`, owner);
      expect(response.status, response.text).toBe(200);
      text += response.body.output;
      after = response.body.next;
      if (done) return true;
      done = (await call('GET', `/api/v1/projects/${projectId}/processes/${id}`, owner)).body.status === 'exited';
      return false;
    }, 'the process to end', 15_000, 50);
    expect(text).toBe('[secret:API_TOKEN]\n[secret:API_TOKEN]\n');
  });

  it('are the environment of a new terminal (whose output, the person\'s own TTY, is not redacted)', async () => {
    const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
    try {
      socket.send({ type: 'terminal.open', id: 'term', projectId, cols: 120, rows: 24 });
      const opened = await socket.next((m) => (m.type === 'terminal.opened' || m.type === 'error') && (m.id === 'term' || m.replyTo === 'term'), 20_000);
      expect(opened.type, JSON.stringify(opened)).toBe('terminal.opened');
      socket.send({ type: 'terminal.input', terminalId: opened.terminalId, data: 'printf "%s" "$API_TOKEN" | sha256sum\r' });
      const digest = sha256(VALUE);
      await eventually(
        () => socket.messages.filter((m) => m.type === 'terminal.output' && m.terminalId === opened.terminalId).map((m) => m.data).join('').includes(digest),
        'the terminal prints the digest of the value',
        15_000,
      );
      socket.send({ type: 'terminal.close', terminalId: opened.terminalId });
    } finally {
      socket.close();
    }
  });

  it('keep an audit log of who created, changed, deleted and used them', async () => {
    const audit = await call('GET', `/api/v1/projects/${projectId}/secrets/audit?limit=500`, owner);
    expect(audit.status, audit.text).toBe(200);
    const seen = new Set(audit.body.items.map((entry: any) => `${entry.secretName}:${entry.action}:${entry.context ?? ''}`));
    for (const expected of ['API_TOKEN:created:', 'API_TOKEN:updated:value', 'API_TOKEN:updated:value', 'GONE:deleted:', 'API_TOKEN:used:exec', 'API_TOKEN:used:exec.stream', 'API_TOKEN:used:process', 'API_TOKEN:used:terminal']) {
      expect(seen.has(expected), expected).toBe(true);
    }
    const entry = audit.body.items.find((item: any) => item.action === 'created');
    expect(entry.actor).toEqual({ kind: 'user', id: owner.userId });
  });
});

describe('personal secrets', () => {
  it('are managed under /me, apart from projects', async () => {
    const created = await call('POST', '/api/v1/me/secrets', owner, { name: 'ANTHROPIC_API_KEY', value: 'sk-ant-personal-0001' });
    expect(created.status, created.text).toBe(201);
    expect((await call('POST', '/api/v1/me/secrets', owner, { name: 'ANTHROPIC_BASE_URL', value: 'not a url' })).status).toBe(400);
    expect((await call('GET', '/api/v1/me/secrets', owner)).body.items.map((item: any) => item.name)).toEqual(['ANTHROPIC_API_KEY']);
    const other = await signUp(api, 'other');
    expect((await call('GET', '/api/v1/me/secrets', other)).body.items).toEqual([]);
    expect((await call('DELETE', '/api/v1/me/secrets/ANTHROPIC_API_KEY', other)).status).toBe(404);
    // Personal secrets are not a project's environment.
    expect((await exec(api, owner, projectId, 'echo "[$ANTHROPIC_API_KEY]"')).stdout).toBe('[]\n');
    expect((await call('PUT', '/api/v1/me/secrets/ANTHROPIC_API_KEY', owner, { value: 'sk-ant-personal-0002' })).status).toBe(200);
  });
});

describe('at rest', () => {
  it('no response held a value, and no column of any table holds one in any form', async () => {
    const values = [VALUE, `${VALUE}-v2`, OTHER_VALUE, 'sk-ant-personal-0001', 'sk-ant-personal-0002', 'soon-gone'];
    const forms = values.flatMap((value) => [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')]);
    for (const response of responses) for (const form of forms) expect(response.text, response.text).not.toContain(form);

    const { rows: tables } = await t.database.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    expect(tables.map((row) => row.table_name)).toContain('secrets');
    let dump = '';
    for (const { table_name } of tables) {
      const { rows } = await t.database.db.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
      dump += rows.map((row) => row.row).join('\n');
    }
    expect(dump).toContain('API_TOKEN');
    for (const form of forms) expect(dump.includes(form), form).toBe(false);
  });
});
