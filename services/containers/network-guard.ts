/**
 * Sandboxes must not reach the machine they run on (the API, PostgreSQL, Redis, Temporal), whatever address
 * those listen on. Each sandbox network's bridge is named `vfbr...`; one firewall rule drops every packet
 * from such a bridge addressed to the host itself. Traffic to the outside (package registries) still flows.
 */
import { spawnSync } from 'node:child_process';

/** In order: answers to connections the host opened (the preview proxy) pass; everything else is dropped. */
const RULES = [
  ['INPUT', '-i', 'vfbr+', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
  ['INPUT', '-i', 'vfbr+', '-j', 'DROP'],
];

export interface GuardResult {
  installed: boolean;
  reason?: string;
}

/** Idempotent and ordered: our rules are taken out wherever they are, then put back on top, ACCEPT first. */
export function installHostGuard(): GuardResult {
  for (const rule of RULES) {
    for (let i = 0; i < 10; i++) {
      const removed = spawnSync('iptables', ['-w', '-D', ...rule], { encoding: 'utf8' });
      if (removed.error) return { installed: false, reason: `iptables is not available (${removed.error.message})` };
      if (removed.status !== 0) break;
    }
  }
  for (const rule of [...RULES].reverse()) {
    const insert = spawnSync('iptables', ['-w', '-I', rule[0]!, '1', ...rule.slice(1)], { encoding: 'utf8' });
    if (insert.status !== 0) return { installed: false, reason: insert.stderr.trim() || 'iptables refused the rule' };
  }
  return { installed: true };
}
