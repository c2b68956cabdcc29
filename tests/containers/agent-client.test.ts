/**
 * The exec agent's answers come from inside the sandbox, where user code runs: a forged or broken answer is
 * refused while it is read, and only a command that provably never started may be tried another way.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentUnavailable, agentExec, answerCap } from '../../services/containers/agent-client.js';
import { getProcess, listProcesses, processOutput, startProcess } from '../../services/containers/process-client.js';
import { AppError } from '../../lib/errors.js';

const request = { argv: ['true'], cwd: '/workspace', env: [], timeoutMs: 2000, stdin: '', outputLimit: 1024 };
const goodAnswer = { exitCode: 0, stdout: 'ok', stderr: '', stdoutTruncated: false, stderrTruncated: false, timedOut: false, durationMs: 3 };

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
  server = undefined;
});

/** A stand-in agent on loopback; counts the requests it was sent. */
async function fakeAgent(answer: (res: http.ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = http.createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => requests };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe('agent answers', () => {
  it('reads a well-formed answer', async () => {
    const agent = await fakeAgent((res) => res.end(JSON.stringify(goodAnswer)));
    await expect(agentExec({ url: agent.url, token: 't' }, request)).resolves.toEqual(goodAnswer);
  });

  it('stops reading a flood at the cap, and does not fall back (the command may have run)', async () => {
    let written = 0;
    let closedEarly = false;
    const agent = await fakeAgent((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (closedEarly = written < 64 * 1024 * 1024));
      pump();
    });
    const err = await failure(agentExec({ url: agent.url, token: 't' }, request));
    expect(err).toBeInstanceOf(AppError);
    expect(err).not.toBeInstanceOf(AgentUnavailable);
    expect((err as AppError).code).toBe('UPSTREAM_UNAVAILABLE');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(answerCap(request.outputLimit) + 8 * 1024 * 1024);
    expect(agent.requests()).toBe(1);
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['a field of the wrong type', JSON.stringify({ ...goodAnswer, exitCode: 'zero' })],
    ['a missing field', JSON.stringify({ exitCode: 0, stdout: '' })],
    ['null', 'null'],
  ])('refuses %s with a code', async (_name, body) => {
    const agent = await fakeAgent((res) => res.end(body));
    const err = await failure(agentExec({ url: agent.url, token: 't' }, request));
    expect(err).not.toBeInstanceOf(AgentUnavailable);
    expect((err as AppError).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('treats a server error after the request as "may have run", sent once', async () => {
    const agent = await fakeAgent((res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const err = await failure(agentExec({ url: agent.url, token: 't' }, request));
    expect(err).not.toBeInstanceOf(AgentUnavailable);
    expect(agent.requests()).toBe(1);
  });

  it('treats a connection dropped mid-answer as "may have run"', async () => {
    const agent = await fakeAgent((res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"exitCode":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await failure(agentExec({ url: agent.url, token: 't' }, request));
    expect(err).not.toBeInstanceOf(AgentUnavailable);
    expect(agent.requests()).toBe(1);
  });

  it('lets the caller try another way when the token is refused or nothing listens', async () => {
    const agent = await fakeAgent((res) => {
      res.statusCode = 401;
      res.end();
    });
    expect(await failure(agentExec({ url: agent.url, token: 'wrong' }, request))).toBeInstanceOf(AgentUnavailable);
    const { port } = server!.address() as AddressInfo;
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    expect(await failure(agentExec({ url: `http://127.0.0.1:${port}`, token: 't' }, request))).toBeInstanceOf(AgentUnavailable);
  });
});

describe('managed-process answers', () => {
  const info = {
    id: 'proc-1',
    command: 'sleep 1',
    cwd: '/workspace',
    status: 'running',
    exitCode: null,
    startedAt: '2026-01-01T00:00:00Z',
    exitedAt: null,
    ports: [8000],
  };
  const answering = (status: number, body: unknown) =>
    fakeAgent((res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  const closeServer = () => {
    server!.closeAllConnections();
    server!.close();
    server = undefined;
  };
  const codeOf = async (promise: Promise<unknown>) => ((await failure(promise)) as AppError).code;

  it('reads a well-formed process and list', async () => {
    let agent = await answering(200, info);
    expect(await getProcess({ url: agent.url, token: 't' }, 'proc-1')).toEqual(info);
    closeServer();
    agent = await answering(200, { processes: [info], listening: [22, 8000] });
    expect(await listProcesses({ url: agent.url, token: 't' })).toEqual({ processes: [info], listening: [22, 8000] });
  });

  it.each([
    ['a port out of range', { ...info, ports: [70000] }],
    ['a bad status', { ...info, status: 'zombie' }],
    ['an id that is no id', { ...info, id: '../x' }],
    ['a bad date', { ...info, startedAt: 'yesterday' }],
    ['not JSON', 'nope'],
  ])('refuses a process with %s', async (_name, body) => {
    const agent = await answering(200, body);
    expect(await codeOf(getProcess({ url: agent.url, token: 't' }, 'proc-1'))).toBe('UPSTREAM_UNAVAILABLE');
  });

  it("maps the agent's errors to codes", async () => {
    let agent = await answering(404, { error: { code: 'PROCESS_NOT_FOUND', message: 'no process x' } });
    expect(await codeOf(getProcess({ url: agent.url, token: 't' }, 'x'))).toBe('NOT_FOUND');
    closeServer();
    agent = await answering(409, { error: { code: 'TOO_MANY_PROCESSES', message: 'at most 32' } });
    expect(await codeOf(startProcess({ url: agent.url, token: 't' }, { command: 'x', cwd: '/workspace', env: [] }))).toBe('CONFLICT');
    closeServer();
    // An agent older than managed processes: its mux's plain 404.
    agent = await answering(404, '404 page not found');
    expect(await codeOf(startProcess({ url: agent.url, token: 't' }, { command: 'x', cwd: '/workspace', env: [] }))).toBe('SERVICE_UNAVAILABLE');
  });

  it('refuses output longer than asked for, or of the wrong shape', async () => {
    let agent = await answering(200, { output: 'abcdef', from: 0, next: 6, truncatedBefore: false });
    expect(await codeOf(processOutput({ url: agent.url, token: 't' }, 'proc-1', { after: 0, limit: 4 }))).toBe('UPSTREAM_UNAVAILABLE');
    closeServer();
    agent = await answering(200, { output: 'ab', from: 5, next: 3, truncatedBefore: false });
    expect(await codeOf(processOutput({ url: agent.url, token: 't' }, 'proc-1', { after: 0, limit: 4 }))).toBe('UPSTREAM_UNAVAILABLE');
  });
});
