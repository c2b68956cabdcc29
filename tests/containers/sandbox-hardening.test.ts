/**
 * Each hardening measure, checked by trying to break it from inside a real sandbox.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExec } from '../../services/containers/exec.js';
import { installHostGuard, sandboxNames } from '../../services/containers/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { createProject, exec, sh, startProcess } from '../helpers/sandbox.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let id: string;
const projects: string[] = [];

beforeAll(async () => {
  // Small limits so that the hog and the fork bomb meet them quickly.
  t = await startTestApp({ env: { SANDBOX_MEMORY_MB: '128', SANDBOX_PIDS: '64' } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'hard');
  id = await createProject(api, owner);
  projects.push(id);
  expect(installHostGuard()).toEqual({ installed: true });
});
afterAll(async () => {
  for (const projectId of projects) await t.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

/** A file of the sandbox's pids cgroup on the host (cgroup v1's pids hierarchy, or v2's unified one). */
async function pidsCgroupFile(projectId: string, name: string): Promise<string> {
  const { State } = await t.infra.docker.getContainer(sandboxNames(projectId).container).inspect();
  const lines = (await readFile(`/proc/${State.Pid}/cgroup`, 'utf8')).split('\n');
  const v1 = lines.find((line) => /^\d+:pids:/.test(line));
  if (v1) return path.join('/sys/fs/cgroup/pids', v1.split(':')[2]!, name);
  return path.join('/sys/fs/cgroup', lines.find((line) => line.startsWith('0::'))!.slice(3), name);
}

async function networkOf(projectId: string): Promise<{ ip: string; gateway: string }> {
  const info = await t.infra.docker.getContainer(sandboxNames(projectId).container).inspect();
  const network = info.NetworkSettings.Networks[sandboxNames(projectId).network]!;
  return { ip: network.IPAddress, gateway: network.Gateway };
}

describe('sandbox hardening', () => {
  it('runs as uid 1000, not root', async () => {
    expect(await sh(api, owner, id, 'id -u; id -g')).toBe('1000\n1000');
  });

  it('has no capabilities at all', async () => {
    const caps = await sh(api, owner, id, "grep -E '^Cap(Inh|Eff|Prm|Amb)' /proc/self/status");
    expect(caps.split('\n')).toHaveLength(4);
    for (const line of caps.split('\n')) expect(line).toMatch(/:\s+0000000000000000$/);
    // The bounding set holds at most the agent's own three (KILL, SETGID, SETUID: bits 5-7), and those inertly: with
    // no-new-privileges no exec can raise a capability into the permitted set, whatever the bounding set allows.
    const bounding = BigInt(`0x${(await sh(api, owner, id, "grep '^CapBnd' /proc/self/status")).split(/\s+/)[1]}`);
    expect(bounding & ~0xe0n).toBe(0n);
  });

  it('cannot gain privileges (no-new-privileges)', async () => {
    expect(await sh(api, owner, id, "grep NoNewPrivs /proc/self/status | awk '{print $2}'")).toBe('1');
    // A set-uid root binary (passwd, waiting for a password here) runs with our uid: without no-new-privileges its
    // effective uid would be 0 ("Uid: 1000 0 0 0"), even with every capability dropped.
    const uids = await sh(
      api,
      owner,
      id,
      `(sleep 5 | passwd >/dev/null 2>&1) &
      for i in $(seq 100); do
        for status in /proc/[0-9]*/status; do
          if grep -qx 'Name:	passwd' "$status" 2>/dev/null; then grep '^Uid:' "$status"; exit 0; fi
        done
        sleep 0.1
      done
      exit 1`,
    );
    expect(uids.split(/\s+/)).toEqual(['Uid:', '1000', '1000', '1000', '1000']);
  });

  it('has a read-only root filesystem and writable /workspace, /tmp and home', async () => {
    for (const target of ['/usr/local/bin/evil', '/etc/passwd', '/opt/x']) {
      const result = await exec(api, owner, id, `echo x > ${target}`);
      expect(result.exitCode, target).not.toBe(0);
      expect(result.stderr).toMatch(/Read-only file system|Permission denied/);
    }
    expect(await sh(api, owner, id, 'touch /workspace/ok /tmp/ok "$HOME/ok" && echo writable')).toBe('writable');
  });

  it('has no Docker socket', async () => {
    const result = await exec(api, owner, id, 'ls /var/run/docker.sock /run/docker.sock; find / -name "docker.sock" 2>/dev/null');
    expect(result.stdout).toBe('');
  });

  it('is limited to one CPU', async () => {
    const quota = await sh(
      api,
      owner,
      id,
      'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
    );
    const [allowed, period] = quota.split(' ').map(Number);
    expect(allowed! / period!).toBe(1);
  });

  it('OOM-kills a memory hog without harming the sandbox or the host', async () => {
    const hog = await exec(api, owner, id, 'head -c 600m /dev/zero | tail > /dev/null', { timeoutMs: 60_000 });
    expect(hog.exitCode).not.toBe(0);
    expect(hog.timedOut).toBe(false);
    // The sandbox still answers; the host still runs programs.
    expect(await sh(api, owner, id, 'echo alive')).toBe('alive');
    expect(spawnSync('true').status).toBe(0);
    const stats = await api.get(`/api/v1/projects/${id}/sandbox/stats`, { token: owner.accessToken });
    expect(stats.body.memoryLimitBytes).toBe(128 * 1024 * 1024);
  });

  it('contains a fork bomb', async () => {
    // The kernel counts the forks its pids limit refused; read from the host, as the sandbox may have no pid to spare.
    const refusedForks = async () => Number(/^max (\d+)$/m.exec(await readFile(await pidsCgroupFile(id, 'pids.events'), 'utf8'))?.[1]);
    expect((await readFile(await pidsCgroupFile(id, 'pids.max'), 'utf8')).trim()).toBe('64');
    const refusedBefore = await refusedForks();
    const bomb = await exec(api, owner, id, 'bomb() { bomb | bomb & }; bomb; sleep 5', { timeoutMs: 4000 });
    expect(bomb.exitCode).not.toBe(0);
    // The limit, not luck, stopped it.
    expect(await refusedForks()).toBeGreaterThan(refusedBefore);
    // The host still forks; a restart clears what is left of the bomb.
    expect(spawnSync('true').status).toBe(0);
    expect((await api.post(`/api/v1/projects/${id}/sandbox/restart`, { token: owner.accessToken })).status).toBe(200);
    expect(await sh(api, owner, id, 'echo recovered')).toBe('recovered');
  });

  it("cannot reach another project's sandbox", async () => {
    const other = await createProject(api, owner);
    projects.push(other);
    await startProcess(api, owner, other, `node -e "require('http').createServer((q, r) => r.end('other')).listen(8080)"`);
    // The server is up: it answers inside its own sandbox.
    const self = await exec(api, owner, other, 'for i in $(seq 50); do curl -s localhost:8080 && exit 0; sleep 0.1; done; exit 1');
    expect(self.stdout).toBe('other');
    const { ip } = await networkOf(other);
    const attempt = await exec(api, owner, id, `curl -s --max-time 3 http://${ip}:8080`, { timeoutMs: 10_000 });
    expect(attempt.exitCode, JSON.stringify(attempt)).not.toBe(0);
    expect(attempt.stdout).not.toContain('other');
  });

  it("cannot reach Vaporform's own servers, even one listening on every address", async () => {
    const server = net.createServer((socket) => socket.end('host secret\n'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const { gateway } = await networkOf(id);
      // The host itself reaches that address, so the sandbox is refused by the guard, not by routing.
      const fromHost = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: gateway, port }, () => {});
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(fromHost).toBe('host secret\n');
      const targets = [`${gateway}:${port}`, `${gateway}:${new URL(t.baseUrl).port}`, `172.17.0.1:${port}`];
      for (const target of targets) {
        const attempt = await exec(api, owner, id, `curl -s --max-time 2 telnet://${target} </dev/null`, { timeoutMs: 10_000 });
        expect(attempt.stdout, target).not.toContain('host secret');
        expect(attempt.exitCode, target).not.toBe(0);
      }
    } finally {
      server.close();
    }
  });

  it('reaches nothing on the host loopback: 127.0.0.1 is its own', async () => {
    const attempt = await exec(api, owner, id, `curl -s --max-time 2 http://127.0.0.1:${new URL(t.baseUrl).port}/health`);
    expect(attempt.exitCode).not.toBe(0);
  });
});

/** The exec agent's pid in the sandbox, as user code finds it (its name in /proc/<pid>/comm, readable by all). */
async function agentPid(): Promise<string> {
  const pid = await sh(api, owner, id, 'for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = vaporform-agent ] && echo "${d#/proc/}"; done; true');
  expect(pid).toMatch(/^\d+$/);
  return pid;
}

describe('the exec agent, out of reach of user code', () => {
  it('runs user code as uid 1000 with no capabilities, itself and tini as root', async () => {
    const lines = (await sh(api, owner, id, `id -u; id -g; id -G; grep '^CapEff' /proc/self/status | cut -f2; stat -c %u /proc/1 /proc/${await agentPid()}`)).split('\n');
    expect(lines).toEqual(['1000', '1000', '1000', '0000000000000000', '0', '0']);
    // What commands write is the sandbox user's.
    expect(await sh(api, owner, id, 'rm -f /workspace/owned; echo x > /workspace/owned; stat -c %u:%g /workspace/owned; rm /workspace/owned')).toBe('1000:1000');
  });

  it('keeps its token out of every environment user code can read, and out of `docker inspect`', async () => {
    const token = t.services.sandboxes.agentToken(id);
    const pid1 = await exec(api, owner, id, 'cat /proc/1/environ');
    expect(pid1.exitCode).not.toBe(0);
    expect(pid1.stderr).toMatch(/Permission denied/);
    const agent = await exec(api, owner, id, `cat /proc/${await agentPid()}/environ`);
    expect(agent.exitCode).not.toBe(0);
    expect(agent.stderr).toMatch(/Permission denied/);
    // Every environment user code can read (its own among them: the loop reads what it may).
    const environs = await exec(api, owner, id, `for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" 2>/dev/null; done; grep -qs "${token.slice(0, 16)}" /proc/[0-9]*/environ && echo token-found; true`);
    expect(environs.stdout).toContain('HOME=/home/sandbox');
    expect(environs.stdout).not.toContain(token.slice(0, 16));
    expect(environs.stdout).not.toContain('VF_AGENT_TOKEN');
    expect(environs.stdout).not.toContain('token-found');
    // Nor in the file it came in: the agent deleted it, and its directory is root's alone.
    const dir = await exec(api, owner, id, 'ls -A /run/vaporform; cat /run/vaporform/agent-token');
    expect(dir.exitCode).not.toBe(0);
    expect(dir.stderr).toMatch(/Permission denied/);
    const volume = await t.infra.docker.getVolume(sandboxNames(id).agentVolume).inspect();
    expect(await readdir(volume.Mountpoint)).toEqual([]);
    const info = await t.infra.docker.getContainer(sandboxNames(id).container).inspect();
    expect(JSON.stringify(info)).not.toContain(token);
    expect((info.Config.Env ?? []).filter((entry) => entry.startsWith('VF_AGENT_TOKEN'))).toEqual([]);
  });

  it('cannot be signalled, traced or read by user code, nor lose its port to it', async () => {
    const pid = await agentPid();
    const attempts = await exec(
      api,
      owner,
      id,
      `a=${pid}
      kill -9 "$a" 2>/dev/null && echo killed-agent
      kill -9 1 2>/dev/null && echo killed-tini
      head -c 16 /proc/"$a"/mem >/dev/null 2>&1 && echo read-mem
      ls /proc/"$a"/fd >/dev/null 2>&1 && echo listed-fds
      node -e "require('net').createServer().listen(7681).on('listening', () => console.log('took-port')).on('error', (e) => console.log(e.code))"
      true`,
    );
    expect(attempts.stdout.trim()).toBe('EADDRINUSE');
    // kill -9 -1: every process user code may signal (but itself): its own sleep, and nothing of the agent's.
    expect(await sh(api, owner, id, 'sleep 30 & s=$!; kill -9 -1; wait "$s"; echo "sleep ended by $(($? - 128))"')).toBe('sleep ended by 9');
    expect(await agentPid()).toBe(pid);
    expect(await sh(api, owner, id, 'echo still-answers')).toBe('still-answers');
  });

  it('runs managed processes as uid 1000 too, and still finds their ports', async () => {
    await startProcess(api, owner, id, `id -u > /tmp/process-uid; node -e "require('http').createServer().listen(8091)"`);
    // Its ports come from its /proc/<pid>/fd, which the agent reads as uid 1000 (identity.go).
    await eventually(async () => {
      const list = await api.get(`/api/v1/projects/${id}/processes`, { token: owner.accessToken });
      return list.body.processes.some((p: { ports: number[] }) => p.ports.includes(8091));
    }, 'the process is seen listening on 8091', 10_000);
    expect(await sh(api, owner, id, 'cat /tmp/process-uid')).toBe('1000');
  });

  it('docker exec (the streaming and fallback runs) is uid 1000 too, with no capabilities and no token', async () => {
    const container = t.infra.docker.getContainer(sandboxNames(id).container);
    const result = await runExec(
      t.infra.docker,
      container,
      { command: "id -u; id -g; grep '^CapEff' /proc/self/status | cut -f2; env", timeoutMs: 10_000 },
      { outputLimitBytes: 1 << 20 },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const [uid, gid, capEff, ...env] = result.stdout.trim().split('\n');
    expect([uid, gid, capEff]).toEqual(['1000', '1000', '0000000000000000']);
    expect(env).toContain('HOME=/home/sandbox');
    expect(env.join('\n')).not.toContain('VF_AGENT_TOKEN');
    expect(env.join('\n')).not.toContain(t.services.sandboxes.agentToken(id));
  });
});
