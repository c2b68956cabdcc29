/**
 * Sandboxes must not reach the machine they run on (the API, PostgreSQL, Redis, Temporal), whatever address
 * those listen on. Each sandbox network's bridge is named `vfbr...`; one firewall rule drops every packet
 * from such a bridge addressed to the host itself. Traffic to the outside (package registries) still flows.
 */
import { spawnSync } from 'node:child_process';

const RULE = ['INPUT', '-i', 'vfbr+', '-j', 'DROP'];

export interface GuardResult {
  installed: boolean;
  reason?: string;
}

/** Idempotent: checks for the rule before inserting it. */
export function installHostGuard(): GuardResult {
  const check = spawnSync('iptables', ['-w', '-C', ...RULE], { encoding: 'utf8' });
  if (check.error) return { installed: false, reason: `iptables is not available (${check.error.message})` };
  if (check.status === 0) return { installed: true };
  const insert = spawnSync('iptables', ['-w', '-I', ...RULE], { encoding: 'utf8' });
  if (insert.status !== 0) return { installed: false, reason: insert.stderr.trim() || 'iptables refused the rule' };
  return { installed: true };
}
