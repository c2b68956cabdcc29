/** The Go generator proves the plugin boundary: its output vets, is gofmt-clean and passes `go test` offline. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goHttpGenerator } from '../../services/generators/index.js';
import { fixtureModel, writeTemp } from './helpers.js';

const hasGo = spawnSync('go', ['version']).status === 0;
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Offline: no proxy, no toolchain download; GOPATH and the build cache under the temp directory. */
function goEnv(): NodeJS.ProcessEnv {
  const base = path.join(os.tmpdir(), 'vaporform-go');
  mkdirSync(base, { recursive: true });
  return { ...process.env, GOPATH: path.join(base, 'path'), GOCACHE: path.join(base, 'cache'), GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' };
}

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

  it.skipIf(!hasGo).each(['hr-leave', 'ecommerce'])('the %s service is gofmt-clean, vets and passes go test', (name) => {
    const dir = writeTemp(goHttpGenerator.generate(fixtureModel(name), {}), `go-${name}`);
    temps.push(dir);
    const env = goEnv();
    const fmt = spawnSync('gofmt', ['-l', '.'], { cwd: dir, encoding: 'utf8' });
    expect(fmt.stdout.trim()).toBe('');
    const vet = spawnSync('go', ['vet', './...'], { cwd: dir, env, encoding: 'utf8', timeout: 170_000 });
    expect(vet.status, vet.stderr).toBe(0);
    const test = spawnSync('go', ['test', './...'], { cwd: dir, env, encoding: 'utf8', timeout: 170_000 });
    expect(test.status, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/^ok\s/m);
  }, 180_000);
});
