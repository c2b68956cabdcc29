/**
 * Which tool calls wait for a person: a project's approval policy applied to a call. The default lets the agent
 * work alone except for what cannot be undone from a checkpoint or hurts beyond the workspace: destructive
 * commands (recursive deletes of more than one precise path, `git reset --hard`, `dd`, `mkfs`, recursive
 * `chmod`/`chown`, dropping databases) and mass deletes (many files at once, an IR change deleting many files).
 * Pure: no I/O, so the workflow may call it too.
 */
import type { ApprovalNeed, ToolCall } from './types.js';

export interface ApprovalPolicy {
  /**
   * `destructive` (default): destructive commands and mass deletes wait; `all`: every call that changes something
   * waits; `none`: nothing waits (the checkpoints are the safety net).
   */
  mode: 'destructive' | 'all' | 'none';
  /** An update_ir deleting more IR files than this waits (in `destructive` mode). */
  maxIrDeletes: number;
  /** A command deleting more paths than this at once waits (in `destructive` mode). */
  maxDeletePaths: number;
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = { mode: 'destructive', maxIrDeletes: 2, maxDeletePaths: 5 };

/** Tools that only read: never wait, whatever the mode. */
const READ_ONLY = new Set(['read_ir', 'list_files', 'read_file', 'search_files', 'process_output']);

/** A policy from stored or user input: unknown fields dropped, bad values replaced by the defaults. */
export function normalizePolicy(input: unknown): ApprovalPolicy {
  const raw = (input !== null && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const count = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 10_000 ? value : fallback);
  return {
    mode: raw.mode === 'all' || raw.mode === 'none' || raw.mode === 'destructive' ? raw.mode : DEFAULT_APPROVAL_POLICY.mode,
    maxIrDeletes: count(raw.maxIrDeletes, DEFAULT_APPROVAL_POLICY.maxIrDeletes),
    maxDeletePaths: count(raw.maxDeletePaths, DEFAULT_APPROVAL_POLICY.maxDeletePaths),
  };
}

export function approvalNeed(call: ToolCall, policy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY): ApprovalNeed {
  if (READ_ONLY.has(call.name) || policy.mode === 'none') return { needed: false };
  if (policy.mode === 'all') return { needed: true, reason: `Every change waits for approval in this project (${call.name})` };
  const input = (call.input !== null && typeof call.input === 'object' ? call.input : {}) as Record<string, unknown>;
  if (call.name === 'run_command' && typeof input.command === 'string') {
    const reason = destructiveCommand(input.command, policy);
    return reason === null ? { needed: false } : { needed: true, reason };
  }
  if (call.name === 'update_ir' && input.changes !== null && typeof input.changes === 'object') {
    const deleted = Object.values(input.changes as Record<string, unknown>).filter((value) => value === null).length;
    if (deleted > policy.maxIrDeletes) return { needed: true, reason: `The IR change deletes ${deleted} files` };
  }
  return { needed: false };
}

// ---------------------------------------------------------------------------------------------------------------
// Commands: split into simple commands (on ; && || | & newlines and inside $(...), `...`, sh -c '...'), each
// tokenized as a shell would (quotes, escapes), then judged by its program and arguments.

const MAX_DEPTH = 4;

/** Why `command` needs a person, or null. */
export function destructiveCommand(command: string, policy: Pick<ApprovalPolicy, 'maxDeletePaths'> = DEFAULT_APPROVAL_POLICY): string | null {
  return judge(command, policy, 0);
}

function judge(command: string, policy: Pick<ApprovalPolicy, 'maxDeletePaths'>, depth: number): string | null {
  if (depth > MAX_DEPTH) return 'The command nests shells too deeply to be checked';
  // SQL first: it hides in strings and heredocs that the tokenizer would not look into.
  const sql = /\b(drop\s+(database|schema|table)|truncate\s+(table\s+)?[\w"`.]+|dropDatabase\s*\()/i.exec(command);
  if (sql) return `The command drops or empties database data (${sql[0].trim()})`;
  for (const inner of substitutions(command)) {
    const reason = judge(inner, policy, depth + 1);
    if (reason) return reason;
  }
  for (const words of simpleCommands(command)) {
    const reason = judgeWords(words, policy, depth);
    if (reason) return reason;
  }
  return null;
}

/** The bodies of $(...) and `...` (one level; nested ones are found when the body is judged). */
function substitutions(command: string): string[] {
  const found: string[] = [];
  const backticks = /`([^`]*)`/g;
  for (let match = backticks.exec(command); match; match = backticks.exec(command)) found.push(match[1]!);
  for (let i = command.indexOf('$('); i >= 0; i = command.indexOf('$(', i + 2)) {
    let level = 0;
    for (let j = i + 1; j < command.length; j++) {
      if (command[j] === '(') level++;
      else if (command[j] === ')' && --level === 0) {
        found.push(command.slice(i + 2, j));
        break;
      }
    }
  }
  return found;
}

/** Simple commands of a command line, each as its words (quotes removed). */
function simpleCommands(command: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (c === ';' || c === '|' || c === '&' || c === '\n' || c === '(' || c === ')' || c === '{' || c === '}') {
      endCommand();
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
    } else if (c === '#' && !inWord) {
      while (i < command.length && command[i] !== '\n') i++;
      endCommand();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** Words that run the rest of the line as a command. */
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'nohup', 'time', 'nice', 'ionice', 'command', 'exec', 'timeout', 'stdbuf', 'xargs', 'then', 'do', 'else', '!', 'builtin']);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh']);

function program(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

function judgeWords(all: string[], policy: Pick<ApprovalPolicy, 'maxDeletePaths'>, depth: number): string | null {
  let words = all;
  // Past assignments (FOO=1 cmd) and wrappers (sudo, env -i, timeout 10, xargs -0 ...) to the real program.
  for (;;) {
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words = words.slice(1);
    if (words.length === 0) return null;
    const name = program(words[0]!);
    if (!WRAPPERS.has(name)) break;
    words = words.slice(1);
    while (words.length > 0 && (words[0]!.startsWith('-') || /^\d+[smhd]?$/.test(words[0]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!))) words = words.slice(1);
  }
  const name = program(words[0]!);
  const args = words.slice(1);
  if (SHELLS.has(name)) {
    const c = args.findIndex((arg) => /^-[a-z]*c[a-z]*$/.test(arg));
    if (c >= 0 && args[c + 1] !== undefined) return judge(args[c + 1]!, policy, depth + 1);
    return null;
  }
  switch (name) {
    case 'rm':
      return judgeRm(args, policy);
    case 'git':
      return judgeGit(args);
    case 'dd':
      return args.some((arg) => arg.startsWith('of=')) ? 'dd writes raw data over a file or device' : null;
    case 'shred':
    case 'wipefs':
    case 'fdisk':
    case 'sfdisk':
    case 'parted':
      return `${name} destroys data beyond recovery`;
    case 'chmod':
    case 'chown':
    case 'chgrp':
      return args.some((arg) => /^-[a-zA-Z]*R/.test(arg) || arg === '--recursive') ? `${name} -R changes permissions of a whole tree` : null;
    case 'find':
      return args.includes('-delete') || (args.includes('-exec') && args.some((arg) => program(arg) === 'rm')) ? 'find deletes every file it matches' : null;
    case 'dropdb':
      return 'dropdb drops a database';
    case 'redis-cli':
      return args.some((arg) => /^flush(all|db)$/i.test(arg)) ? 'redis-cli FLUSHALL/FLUSHDB deletes the data of a Redis database' : null;
    case 'truncate':
      return null;
    default:
      if (name.startsWith('mkfs')) return `${name} formats a file system`;
      // Framework tasks that drop a database: `prisma migrate reset`, `rails db:drop`, `npm run db:drop`, `django flush`.
      if (args.some((arg) => /^(db:drop|db:reset|schema:drop|migrate:fresh|flush)$/.test(arg)) || (name === 'prisma' && args.includes('reset')) || (args.includes('prisma') && args.includes('reset'))) {
        return 'The command drops or resets a database';
      }
      return null;
  }
}

function judgeRm(args: string[], policy: Pick<ApprovalPolicy, 'maxDeletePaths'>): string | null {
  let recursive = false;
  const paths: string[] = [];
  let options = true;
  for (const arg of args) {
    if (options && arg === '--') options = false;
    else if (options && arg.startsWith('--')) recursive ||= arg === '--recursive';
    else if (options && arg.startsWith('-') && arg.length > 1) recursive ||= /[rR]/.test(arg);
    else paths.push(arg);
  }
  const broad = paths.find(isBroadPath);
  if (recursive && paths.length > 1) return `rm -r deletes ${paths.length} paths at once (${paths.slice(0, 5).join(' ')})`;
  if (broad !== undefined) return `rm${recursive ? ' -r' : ''} deletes a broad path (${broad})`;
  if (paths.length > policy.maxDeletePaths) return `rm deletes ${paths.length} paths at once`;
  return null;
}

/** A path that stands for much more than one thing: the root, home, the workspace, a parent, a glob, a variable. */
function isBroadPath(path: string): boolean {
  const trimmed = path.replace(/\/+$/, '') || '/';
  if (/[*?[]/.test(path) || path.includes('$') || path.startsWith('~')) return true;
  if (['/', '.', '..', '/workspace', '/home', '/usr', '/etc', '/var', '/tmp'].includes(trimmed)) return true;
  if (trimmed.split('/').includes('..')) return true;
  // Absolute paths outside the workspace.
  return trimmed.startsWith('/') && !trimmed.startsWith('/workspace/');
}

function judgeGit(args: string[]): string | null {
  // Past global options (-C dir, -c key=value, --git-dir=...).
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += args[i] === '-C' || args[i] === '-c' ? 2 : 1;
  const sub = args[i];
  const rest = args.slice(i + 1);
  switch (sub) {
    case 'reset':
      return rest.includes('--hard') ? 'git reset --hard discards uncommitted work' : null;
    case 'clean':
      return rest.some((arg) => /^-[a-zA-Z]*f/.test(arg) || arg === '--force') ? 'git clean -f deletes untracked files' : null;
    case 'push':
      return rest.some((arg) => arg === '--force' || arg === '-f' || arg.startsWith('--force-with-lease') || /^\+/.test(arg) || arg === '--delete' || arg === '--mirror')
        ? 'git push overwrites or deletes remote history'
        : null;
    case 'checkout':
    case 'restore':
      return rest.includes('.') || rest.includes('--') && rest.at(-1) === '.' ? `git ${sub} . discards uncommitted changes` : null;
    case 'branch':
      return rest.includes('-D') ? 'git branch -D deletes a branch with unmerged work' : null;
    case 'stash':
      return rest[0] === 'clear' || rest[0] === 'drop' ? 'git stash clear/drop deletes stashed work' : null;
    case 'filter-branch':
    case 'filter-repo':
      return 'rewrites the repository history';
    default:
      return null;
  }
}
