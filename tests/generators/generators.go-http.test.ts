/**
 * The Go generator proves the plugin boundary: its output vets, is gofmt-clean and passes `go test` offline, with the
 * go sandbox's own toolchain (Debian's Go, what a project's code meets), not whatever Go the host has.
 */
import { chmodSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';
import { goHttpGenerator } from '../../services/generators/index.js';
import { removeThrowaways, runInImage } from '../helpers/containers.js';
import { fixtureModel, writeTemp } from './helpers.js';

const LABEL = 'go-http';
let docker: Docker;
const temps: string[] = [];
beforeAll(() => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
});
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await removeThrowaways(docker, LABEL);
});

describe('go-http generator', () => {
  const leave = goHttpGenerator.generate(fixtureModel('hr-leave'), {});

  it('writes models and a test per aggregate, deterministically', () => {
    expect(leave.map((f) => f.path)).toEqual([
      'cmd/server/main.go',
      'go.mod',
      'helpers_test.go',
      'leave_balance_model.go',
      'leave_balance_model_test.go',
      'leave_request_model.go',
      'leave_request_model_test.go',
      'runtime.go',
    ]);
    expect(goHttpGenerator.generate(fixtureModel('hr-leave'), {})).toEqual(leave);
  });

  it.each(['hr-leave', 'ecommerce'])('the %s service is gofmt-clean, vets and passes go test in the go sandbox', async (name) => {
    const dir = writeTemp(goHttpGenerator.generate(fixtureModel(name), {}), `go-${name}`);
    temps.push(dir);
    chmodSync(dir, 0o755); // the sandbox user (uid 1000) reads it through a read-only mount
    // Offline: no network, no proxy, no toolchain download; a copy to build in, since the mount is read-only.
    const script = [
      'set -e',
      'cp -r /src /tmp/app && cd /tmp/app',
      'unformatted=$(gofmt -l .); if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi',
      'go vet ./...',
      'go test ./...',
    ].join('\n');
    const result = await runInImage(docker, sandboxImageName('go', inject('imageTag')), script, {
      label: LABEL,
      readOnly: [`${dir}:/src`],
      env: ['GOFLAGS=-mod=mod', 'GOPROXY=off', 'GOTOOLCHAIN=local', 'GOPATH=/tmp/go', 'GOCACHE=/tmp/go-cache'],
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^ok\s/m);
  }, 180_000);
});
