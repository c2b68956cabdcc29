import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;
let alice: SignedIn;

beforeAll(async () => {
  t = await startTestApp({ env: { BODY_LIMIT_BYTES: '4096' } });
  api = new ApiClient(t.baseUrl);
  alice = await signUp(api, 'alice');
});
afterAll(async () => t?.close());

describe('health and readiness', () => {
  it('answers liveness', async () => {
    const response = await api.get('/health');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
  });

  it('reports Postgres, Temporal, Docker and the sandbox images each as up', async () => {
    const response = await api.get('/ready');
    expect(response.body.components).toMatchObject({
      postgres: { status: 'up' },
      temporal: { status: 'up' },
      docker: { status: 'up' },
      sandboxImages: { status: 'up' },
    });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ready');
  });

  it('reports a component that is down with 503 and its error', async () => {
    const broken = await startTestApp({ env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
    try {
      const response = await new ApiClient(broken.baseUrl).get('/ready');
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('unavailable');
      expect(response.body.components.temporal.status).toBe('down');
      expect(response.body.components.temporal.error).toEqual(expect.any(String));
      expect(response.body.components.postgres.status).toBe('up');
    } finally {
      await broken.close();
    }
  });

  it('a test app does not close quietly over an error a service reported in the background', async () => {
    const quiet = await startTestApp();
    quiet.backgroundErrors.push(new Error('a write was lost'));
    await expect(quiet.close()).rejects.toThrow(/1 unexpected background error\(s\):\nError: a write was lost/);
  });

  it('reports missing sandbox images as down, saying what to run', async () => {
    const unbuilt = await startTestApp({ env: { SANDBOX_IMAGE_TAG: 'never-built' } });
    try {
      const response = await new ApiClient(unbuilt.baseUrl).get('/ready');
      expect(response.status).toBe(503);
      expect(response.body.components.sandboxImages.status).toBe('down');
      expect(response.body.components.sandboxImages.error).toContain('vaporform/sandbox-node:never-built');
      expect(response.body.components.sandboxImages.error).toContain('vaporform/service-postgres:never-built');
      expect(response.body.components.sandboxImages.error).toContain('npm run images:build');
      expect(response.body.components.docker.status).toBe('up');
    } finally {
      await unbuilt.close();
    }
  });

  it('reports sandbox images built from other inputs (another CA certificate here) as down', async () => {
    const certs = await mkdtemp(path.join(os.tmpdir(), 'vf-ca-'));
    await writeFile(path.join(certs, 'other.crt'), '-----BEGIN CERTIFICATE-----\nnot the one the images carry\n-----END CERTIFICATE-----\n');
    const stale = await startTestApp({ env: { SANDBOX_CA_CERTS_DIR: certs } });
    try {
      const response = await new ApiClient(stale.baseUrl).get('/ready');
      expect(response.status).toBe(503);
      expect(response.body.components.sandboxImages.error).toMatch(/built from older inputs: .*vaporform\/sandbox-base:/);
    } finally {
      await stale.close();
      await rm(certs, { recursive: true, force: true });
    }
  });
});

describe('error contract', () => {
  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const response = await api.post('/api/v1/projects', { token: alice.accessToken, rawBody: '{"name": "x",' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('MALFORMED_JSON');
  });

  it('rejects unknown fields, naming the field', async () => {
    const response = await api.post('/api/v1/projects', {
      token: alice.accessToken,
      body: { name: 'x', stack: 'node', owner: 'someone-else' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.message).toContain('owner');
  });

  it('answers an oversized body with 413 and writes nothing', async () => {
    const response = await api.post('/api/v1/projects', {
      token: alice.accessToken,
      body: { name: 'big', stack: 'node', description: 'x'.repeat(10_000) },
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const list = await api.get('/api/v1/projects', { token: alice.accessToken });
    expect(list.body.items).toHaveLength(0);
  });

  it('answers an unsupported content type with 415', async () => {
    const response = await api.post('/api/v1/projects', {
      token: alice.accessToken,
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown API route with a JSON 404', async () => {
    const response = await api.get('/api/v1/nothing-here', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers without credentials with 401', async () => {
    const response = await api.get('/api/v1/projects');
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('answers a malformed Authorization header with 401, not 500', async () => {
    const response = await api.get('/api/v1/projects', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(response.status).toBe(401);
  });
});

describe('headers', () => {
  it('sets security headers', async () => {
    const response = await api.get('/health');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('gives every response a request id, keeping a sane one from the client', async () => {
    const generated = await api.get('/health');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await api.get('/health', { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const hostile = await api.get('/health', { headers: { 'x-request-id': 'a b <script>' } });
    expect(hostile.headers.get('x-request-id')).not.toContain('<');
  });

  it('allows the IDE origin and no other', async () => {
    const allowed = await api.request('OPTIONS', '/api/v1/projects', {
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const denied = await api.request('OPTIONS', '/api/v1/projects', {
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('metrics and OpenAPI', () => {
  it('exposes process metrics and request durations by route template and status', async () => {
    await api.get(`/api/v1/projects/00000000-0000-4000-8000-000000000000`, { token: alice.accessToken });
    const response = await api.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.text).toContain('process_cpu_seconds_total');
    expect(response.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/projects\/:projectId",status_code="404"\} [1-9]/,
    );
  });

  it('generates the OpenAPI document from the route schemas', async () => {
    const response = await api.get('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    const paths = Object.keys(response.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/register',
        '/api/v1/auth/login',
        '/api/v1/projects',
        '/api/v1/projects/{projectId}',
        '/api/v1/projects/{projectId}/members',
        '/health',
        '/ready',
      ]),
    );
    const create = response.body.paths['/api/v1/projects'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name', 'stack']);
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(response.body.components.schemas.Error).toBeDefined();
  });
});
