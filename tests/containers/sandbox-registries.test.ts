/**
 * An agent that cannot install a package cannot build an app: from its sandbox (own network, host firewalled off),
 * npm, pip, go, git and curl reach the package registries over HTTPS, also where the machine's traffic goes through
 * a TLS-inspecting proxy whose CA only the host trusts (SANDBOX_CA_CERTS_DIR, baked into the images).
 */
import { describe, expect, it } from 'vitest';
import { exec, sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('registries');

/** A command that talks to a registry: it must succeed, its output shown when it does not. */
async function online(id: string, script: string): Promise<string> {
  const result = await exec(suite.api, suite.owner, id, script, { timeoutMs: 150_000 });
  expect(result.exitCode, `${script}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(0);
  return result.stdout.trim();
}

describe('package registries from a sandbox, over HTTPS', () => {
  it('node: curl reaches the npm registry, npm installs a real package, git completes a TLS handshake', { timeout: 180_000 }, async () => {
    const id = await suite.project('node');
    expect(await online(id, 'curl -sS -o /dev/null -w "%{http_code}" https://registry.npmjs.org/')).toBe('200');
    await sh(suite.api, suite.owner, id, 'mkdir -p registry-check && cd registry-check && npm init -y >/dev/null');
    await online(id, 'cd registry-check && npm install --no-audit --no-fund is-number@7.0.0');
    expect(await sh(suite.api, suite.owner, id, `cd registry-check && node -e "console.log(require('is-number')(5), require('is-number/package.json').version)"`)).toBe(
      'true 7.0.0',
    );
    // No repository is reachable, but the server's HTTP answer proves the certificate was accepted.
    const git = await exec(suite.api, suite.owner, id, 'git ls-remote https://registry.npmjs.org/no-such-repository', { timeoutMs: 60_000 });
    expect(git.stderr).toMatch(/The requested URL returned error: \d{3}|repository '.*' not found/);
    expect(git.stderr).not.toMatch(/certificate|SSL/i);
  });

  it('python: pip downloads and installs a real package into a virtual environment', { timeout: 180_000 }, async () => {
    const id = await suite.project('python');
    await sh(suite.api, suite.owner, id, 'python3 -m venv /tmp/venv');
    expect(await online(id, '/tmp/venv/bin/pip download --no-deps -d /tmp/wheels six==1.16.0')).toContain('Saved');
    await online(id, '/tmp/venv/bin/pip install six==1.16.0');
    expect(await sh(suite.api, suite.owner, id, '/tmp/venv/bin/python -c "import six; print(six.__version__)"')).toBe('1.16.0');
  });

  it('go: the go command downloads a module from the Go module proxy', { timeout: 180_000 }, async () => {
    const id = await suite.project('go');
    const downloaded = JSON.parse(await online(id, 'go mod download -json github.com/google/uuid@v1.6.0'));
    expect(downloaded).toMatchObject({ Path: 'github.com/google/uuid', Version: 'v1.6.0' });
    expect(downloaded.Error).toBeUndefined();
  });
});
