/**
 * Checkpoints of an agent run: after each step that changed files, the workspace is committed to a git
 * repository of its own, apart from the user's (`GIT_DIR=/home/sandbox/.vaporform/checkpoints.git`,
 * `GIT_WORK_TREE=/workspace`), so `revert` can put the workspace back exactly as it was after any step.
 * Git runs inside the sandbox as the sandbox user (through the containers service), never on the host: what
 * the sandbox may have done to that repository can only hurt the sandbox, and its output is parsed as hostile.
 *
 * What a checkpoint holds is what git sees: the user's own `.git` (git never tracks a `.git`), and files the
 * project's `.gitignore` files or `node_modules/` exclude, are neither saved nor touched by a revert.
 * Step 0 is the workspace before a run's first step (the agent loop checkpoints it at the start).
 */
import type { Permission, Principal } from '../../lib/access.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { withProjectLock } from '../../lib/project-lock.js';
import type { ExecRequest, ExecResult, Stack } from '../containers/index.js';
import { HOME, WORKSPACE } from '../containers/index.js';

export type AuthorizeProject = (principal: Principal, projectId: string, permission: Permission) => Promise<{ stack: Stack }>;

export interface CheckpointsDeps {
  authorize: AuthorizeProject;
  /** Runs a command in the project's sandbox after access was checked (the containers service's `run`). */
  run: (projectId: string, stack: Stack, request: ExecRequest) => Promise<ExecResult>;
  db: Db;
  /** How long one git command may take (a large workspace's first checkpoint). */
  timeoutMs?: number;
}

export interface CheckpointRef {
  runId: string;
  step: number;
}

export interface StepFileChange {
  path: string;
  change: 'added' | 'deleted' | 'modified';
  /** Text of a small text file before and after the step; null when absent, binary or too large to show. */
  before: string | null;
  after: string | null;
}

export interface StepDiff {
  /** The step's checkpoint; null when the step changed no file. */
  sha: string | null;
  files: StepFileChange[];
  /** More files changed than are listed. */
  truncated: boolean;
}

const CHECKPOINT_DIR = `${HOME}/.vaporform/checkpoints.git`;
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SHA = /^[0-9a-f]{40}$/;
const MAX_STEP = 1_000_000;
const DIFF_FILES = 200;
const SHOWN_FILE_BYTES = 64 * 1024;
const SHOWN_TOTAL_BYTES = 512 * 1024;

/**
 * The git side, one script: `$1` says what to do. Hooks, the sandbox user's git configuration and the system's
 * are kept out (`-c core.hooksPath=/dev/null`, GIT_CONFIG_GLOBAL/NOSYSTEM); refs are
 * `refs/vaporform/runs/<run>/<step>`, the commits a linear history on `refs/heads/checkpoints`.
 */
const SCRIPT = String.raw`
set -eu
cd ${WORKSPACE}
git() { command git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.autocrlf=false -c core.quotepath=false \
  -c gc.auto=0 -c user.name=Vaporform -c user.email=checkpoints@vaporform.invalid -c commit.gpgsign=false "$@"; }
init() {
  if ! git rev-parse --git-dir >/dev/null 2>&1; then
    mkdir -p "$GIT_DIR"
    command git init -q --initial-branch=checkpoints 2>/dev/null || command git init -q
    git symbolic-ref HEAD refs/heads/checkpoints
  fi
  mkdir -p "$GIT_DIR/info"
  printf 'node_modules/\n' > "$GIT_DIR/info/exclude"
}
# Commits what changed since HEAD (or a first commit); prints the new sha, or nothing when nothing changed.
commit() {
  git add -A .
  if git rev-parse -q --verify HEAD >/dev/null && git diff --cached --quiet HEAD --; then return 0; fi
  git commit -q --no-verify --allow-empty -m "$1"
  git rev-parse HEAD
}
case "$1" in
checkpoint)
  init
  ref="refs/vaporform/runs/$2/$3"
  if existing=$(git rev-parse -q --verify "$ref^{commit}"); then
    git add -A .
    if git diff --cached --quiet "$existing" --; then echo "sha $existing"; exit 0; fi
  fi
  sha=$(commit "$4")
  if [ -n "$sha" ]; then git update-ref "$ref" "$sha"; echo "sha $sha"; else echo "none"; fi
  ;;
refs)
  init
  git for-each-ref --format='%(objectname) %(refname)' "refs/vaporform/runs/$2/"
  ;;
revert)
  init
  commit "$3" >/dev/null
  git read-tree -u --reset "$2"
  git commit -q --no-verify --allow-empty -m "$4"
  echo "reverted $(git rev-parse HEAD)"
  ;;
changes)
  init
  parent=$(git rev-parse -q --verify "$2^" || git hash-object -t tree /dev/null)
  git diff-tree -r -z --no-renames --no-commit-id --raw "$parent" "$2"
  ;;
blobs)
  init
  shift
  for blob in "$@"; do
    git cat-file blob "$blob" | base64 -w0
    echo
  done
  ;;
esac
`;

export class Checkpoints {
  private readonly timeoutMs: number;

  constructor(private readonly deps: CheckpointsDeps) {
    this.timeoutMs = deps.timeoutMs ?? 120_000;
  }

  /** Commits the workspace as it is after `step`; the commit's sha, or null when nothing changed since the last one. */
  async checkpoint(principal: Principal, projectId: string, request: CheckpointRef & { message: string }): Promise<string | null> {
    checkRef(request);
    const { stack } = await this.deps.authorize(principal, projectId, 'write');
    const message = `run ${request.runId} step ${request.step}: ${request.message.replace(/\0/g, '').slice(0, 2000) || 'checkpoint'}`;
    const out = await this.git(projectId, stack, ['checkpoint', request.runId, String(request.step), message]);
    const line = out.trim().split('\n').at(-1) ?? '';
    if (line === 'none') return null;
    const sha = /^sha ([0-9a-f]{40})$/.exec(line)?.[1];
    if (!sha) throw new AppError('INTERNAL', 'The checkpoint repository answered unexpectedly', { output: line.slice(0, 200) });
    return sha;
  }

  /**
   * Puts the workspace's files back exactly as they were after `step` of the run (the last checkpoint at or
   * before it): files added since are removed, deleted ones come back, changed ones are restored. The state
   * before the revert is committed first, so a revert can itself be undone. Returns the revert's commit.
   */
  async revert(principal: Principal, projectId: string, request: CheckpointRef): Promise<{ sha: string; restoredStep: number }> {
    checkRef(request);
    const { stack } = await this.deps.authorize(principal, projectId, 'write');
    const target = await this.stepCommit(projectId, stack, request, 'at-or-before');
    if (!target) throw new AppError('NOT_FOUND', `Run ${request.runId} has no checkpoint at or before step ${request.step}`);
    const out = await this.git(projectId, stack, [
      'revert',
      target.sha,
      `before reverting to run ${request.runId} step ${target.step}`,
      `revert to run ${request.runId} step ${target.step}`,
    ]);
    const sha = /reverted ([0-9a-f]{40})\s*$/.exec(out)?.[1];
    if (!sha) throw new AppError('INTERNAL', 'The checkpoint repository answered unexpectedly');
    return { sha, restoredStep: target.step };
  }

  /** What a step changed (its checkpoint against the one before): paths, and before/after of small text files. */
  async diff(principal: Principal, projectId: string, request: CheckpointRef): Promise<StepDiff> {
    checkRef(request);
    const { stack } = await this.deps.authorize(principal, projectId, 'read');
    const target = await this.stepCommit(projectId, stack, request, 'exact');
    if (!target) return { sha: null, files: [], truncated: false };
    const raw = await this.git(projectId, stack, ['changes', target.sha]);
    const entries = parseRawDiff(raw);
    const listed = entries.slice(0, DIFF_FILES);
    // Blobs small enough to show, within a total budget.
    const wanted: string[] = [];
    let budget = SHOWN_TOTAL_BYTES;
    for (const entry of listed) {
      for (const blob of [entry.oldBlob, entry.newBlob]) {
        if (blob !== null && !wanted.includes(blob)) wanted.push(blob);
      }
    }
    const sizes = await this.blobSizes(projectId, stack, wanted);
    const fetch = wanted.filter((blob) => {
      const size = sizes.get(blob);
      if (size === undefined || size > SHOWN_FILE_BYTES || size > budget) return false;
      budget -= size;
      return true;
    });
    const texts = new Map<string, string | null>();
    if (fetch.length > 0) {
      const lines = (await this.git(projectId, stack, ['blobs', ...fetch])).split('\n');
      fetch.forEach((blob, i) => texts.set(blob, textOf(lines[i] ?? '')));
    }
    const textFor = (blob: string | null) => (blob === null ? null : (texts.get(blob) ?? null));
    return {
      sha: target.sha,
      files: listed.map((entry) => ({ path: entry.path, change: entry.change, before: textFor(entry.oldBlob), after: textFor(entry.newBlob) })),
      truncated: entries.length > listed.length,
    };
  }

  /** Sizes of blobs, asked of `git cat-file --batch-check` (stdin: one sha a line). */
  private async blobSizes(projectId: string, stack: Stack, blobs: string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    if (blobs.length === 0) return sizes;
    const result = await this.deps.run(projectId, stack, {
      command: ['git', `--git-dir=${CHECKPOINT_DIR}`, 'cat-file', '--batch-check'],
      cwd: WORKSPACE,
      env: gitEnv(),
      stdin: blobs.join('\n') + '\n',
      timeoutMs: this.timeoutMs,
    });
    for (const line of result.stdout.split('\n')) {
      const match = /^([0-9a-f]{40}) blob (\d+)$/.exec(line);
      if (match) sizes.set(match[1]!, Number(match[2]));
    }
    return sizes;
  }

  /** The commit of a run's step, or (at-or-before) of the last checkpointed step before it. */
  private async stepCommit(projectId: string, stack: Stack, ref: CheckpointRef, mode: 'exact' | 'at-or-before'): Promise<{ sha: string; step: number } | null> {
    const out = await this.git(projectId, stack, ['refs', ref.runId]);
    let best: { sha: string; step: number } | null = null;
    for (const line of out.split('\n')) {
      const match = /^([0-9a-f]{40}) refs\/vaporform\/runs\/([A-Za-z0-9_-]+)\/(\d+)$/.exec(line);
      if (!match || match[2] !== ref.runId) continue;
      const step = Number(match[3]);
      if (mode === 'exact' ? step !== ref.step : step > ref.step) continue;
      if (!best || step > best.step) best = { sha: match[1]!, step };
    }
    return best;
  }

  /** Runs the script under the project's checkpoint lock (one git at a time per project, across API instances). */
  private git(projectId: string, stack: Stack, args: string[]): Promise<string> {
    return withProjectLock(this.deps.db, projectId, 'checkpoints', async () => {
      const result = await this.deps.run(projectId, stack, {
        command: ['sh', '-c', SCRIPT, 'checkpoints', ...args],
        cwd: WORKSPACE,
        env: gitEnv(),
        timeoutMs: this.timeoutMs,
      });
      if (result.timedOut) throw new AppError('TIMEOUT', `Checkpointing the workspace took longer than ${this.timeoutMs / 1000} s`);
      if (result.exitCode !== 0) {
        throw new AppError('UNPROCESSABLE', `The checkpoint repository failed: ${result.stderr.trim().slice(-500) || `exit code ${result.exitCode}`}`);
      }
      if (result.stdoutTruncated) throw new AppError('UNPROCESSABLE', 'The checkpoint repository answered with more than can be read');
      return result.stdout;
    });
  }
}

function gitEnv(): Record<string, string> {
  return {
    GIT_DIR: CHECKPOINT_DIR,
    GIT_WORK_TREE: WORKSPACE,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
  };
}

function checkRef(ref: CheckpointRef): void {
  if (typeof ref.runId !== 'string' || !RUN_ID.test(ref.runId)) {
    throw new AppError('VALIDATION_FAILED', 'A run id is 1 to 128 letters, digits, _ or -');
  }
  if (!Number.isInteger(ref.step) || ref.step < 0 || ref.step > MAX_STEP) {
    throw new AppError('VALIDATION_FAILED', `A step is a whole number from 0 to ${MAX_STEP}`);
  }
}

interface RawEntry {
  path: string;
  change: StepFileChange['change'];
  oldBlob: string | null;
  newBlob: string | null;
}

/** `git diff-tree -z --raw`: `:<mode> <mode> <sha> <sha> <status>\0<path>\0` per file. */
function parseRawDiff(raw: string): RawEntry[] {
  const parts = raw.split('\0');
  const entries: RawEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const match = /^:(\d{6}) (\d{6}) ([0-9a-f]{40}) ([0-9a-f]{40}) ([AMDT])$/.exec(parts[i]!.trim());
    if (!match) break;
    const [, oldMode, newMode, oldSha, newSha, status] = match;
    const blob = (mode: string, sha: string) => (SHA.test(sha) && !/^0+$/.test(sha) && mode !== '160000' && mode !== '000000' ? sha : null);
    entries.push({
      path: parts[i + 1]!,
      change: status === 'A' ? 'added' : status === 'D' ? 'deleted' : 'modified',
      oldBlob: blob(oldMode!, oldSha!),
      newBlob: blob(newMode!, newSha!),
    });
  }
  return entries;
}

/** A base64 line as text, or null when it is not UTF-8 text. */
function textOf(base64: string): string | null {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.subarray(0, 8000).includes(0)) return null;
  const text = bytes.toString('utf8');
  return Buffer.byteLength(text) === bytes.length && !text.includes('\uFFFD') ? text : null;
}
