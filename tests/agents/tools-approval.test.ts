/** The approval policy's classifier and the placeholder check: pure functions, judged on many real command lines. */
import { describe, expect, it } from 'vitest';
import { approvalNeed, DEFAULT_APPROVAL_POLICY, destructiveCommand, findPlaceholder, normalizePolicy } from '../../services/agents/tools/index.js';

describe('destructive commands', () => {
  const destructive = [
    'rm -rf /',
    'rm -rf / --no-preserve-root',
    'rm -rf ~',
    'rm -rf .',
    'rm -rf *',
    'rm -rf src dist',
    'rm -r ../other',
    'rm -fr $HOME/x',
    'rm -rf /workspace',
    'rm -rf /etc/nginx',
    'cd src && rm -rf ./*',
    'npm test; rm -Rf build docs',
    'rm --recursive --force a b',
    'rm a b c d e f g',
    'sudo rm -rf /var/lib',
    'git reset --hard',
    'git reset --hard HEAD~3',
    'git -C app reset --hard origin/main',
    'git clean -fdx',
    'git push --force origin main',
    'git push origin +main',
    'git checkout -- .',
    'git branch -D feature',
    'dd if=/dev/zero of=disk.img bs=1M count=10',
    'mkfs.ext4 /dev/sda1',
    'chmod -R 777 .',
    'chown -R 1000:1000 /workspace',
    'find . -name "*.js" -delete',
    'find . -type f -exec rm {} +',
    'psql -c "DROP DATABASE app"',
    'psql $DATABASE_URL <<EOF\ndrop table users;\nEOF',
    'echo "TRUNCATE TABLE orders" | psql',
    'dropdb app',
    'redis-cli FLUSHALL',
    'npx prisma migrate reset --force',
    'npm run db:drop',
    'sh -c "rm -rf /tmp/*"',
    'bash -lc \'git reset --hard\'',
    'echo $(rm -rf src lib)',
    'ls `rm -rf src lib`',
    'env FOO=1 timeout 10 rm -rf a b',
    'shred secrets.txt',
  ];
  const harmless = [
    'npm test',
    'npm install',
    'rm -rf node_modules',
    'rm -rf dist/',
    'rm -f src/old.js',
    'rm src/a.js src/b.js',
    'rm -rf /workspace/build',
    'git status',
    'git reset HEAD file.js',
    'git checkout -b feature',
    'git push origin main',
    'git clean -n',
    'chmod +x run.sh',
    'chmod 644 a b c',
    'find . -name "*.test.js"',
    'go build ./... && go test ./...',
    'echo "rm -rf / is dangerous"',
    "grep -r 'DROP' docs",
    'python -m pytest -q',
    'node server.js',
    'cat README.md # rm -rf /',
    'dd --help',
    'truncate -s 0 app.log',
  ];

  it.each(destructive)('%s needs a person', (command) => {
    expect(destructiveCommand(command)).not.toBeNull();
    expect(approvalNeed({ id: 'c', name: 'run_command', input: { command } }, DEFAULT_APPROVAL_POLICY)).toMatchObject({ needed: true });
  });

  it.each(harmless)('%s runs alone', (command) => {
    expect(destructiveCommand(command)).toBeNull();
    expect(approvalNeed({ id: 'c', name: 'run_command', input: { command } }, DEFAULT_APPROVAL_POLICY)).toEqual({ needed: false });
  });
});

describe('approval policies', () => {
  it('an IR change deleting more files than allowed waits; fewer do not', () => {
    const deleting = (n: number) => ({
      id: 'c',
      name: 'update_ir',
      input: { changes: Object.fromEntries(Array.from({ length: n }, (_, i) => [`ir/contexts/c${i}.yaml`, null])) },
    });
    expect(approvalNeed(deleting(2), DEFAULT_APPROVAL_POLICY)).toEqual({ needed: false });
    expect(approvalNeed(deleting(3), DEFAULT_APPROVAL_POLICY)).toMatchObject({ needed: true, reason: 'The IR change deletes 3 files' });
    expect(approvalNeed(deleting(3), { ...DEFAULT_APPROVAL_POLICY, maxIrDeletes: 5 })).toEqual({ needed: false });
  });

  it('mode all: every change waits, reads never; mode none: nothing waits', () => {
    const all = { ...DEFAULT_APPROVAL_POLICY, mode: 'all' as const };
    expect(approvalNeed({ id: 'c', name: 'write_file', input: { path: 'a', content: '' } }, all)).toMatchObject({ needed: true });
    expect(approvalNeed({ id: 'c', name: 'read_file', input: { path: 'a' } }, all)).toEqual({ needed: false });
    const none = { ...DEFAULT_APPROVAL_POLICY, mode: 'none' as const };
    expect(approvalNeed({ id: 'c', name: 'run_command', input: { command: 'rm -rf /' } }, none)).toEqual({ needed: false });
    // The default lets ordinary writes and hostile shapes through to execute, which refuses what is malformed.
    expect(approvalNeed({ id: 'c', name: 'write_file', input: { path: 'a', content: '' } }, DEFAULT_APPROVAL_POLICY)).toEqual({ needed: false });
    expect(approvalNeed({ id: 'c', name: 'run_command', input: 42 }, DEFAULT_APPROVAL_POLICY)).toEqual({ needed: false });
  });

  it('normalizes stored policies: unknown fields dropped, bad values defaulted', () => {
    expect(normalizePolicy({ mode: 'all', maxIrDeletes: 0, extra: true })).toEqual({ mode: 'all', maxIrDeletes: 0, maxDeletePaths: 5 });
    expect(normalizePolicy({ mode: 'yolo', maxIrDeletes: -1, maxDeletePaths: 'x' })).toEqual(DEFAULT_APPROVAL_POLICY);
    expect(normalizePolicy(null)).toEqual(DEFAULT_APPROVAL_POLICY);
  });
});

describe('placeholders', () => {
  const placeholders = [
    '// ... rest of the code unchanged',
    '  // ... existing code ...',
    '# ... rest of file',
    '// rest of the file unchanged',
    '/* existing code here */',
    '// Rest of code remains the same',
    '... rest of code',
    '{/* ... other items ... */}',
    '// ...',
    '  # ...',
    '<!-- ... -->',
    '// everything else stays the same',
    '// ... (unchanged)',
    '    # remaining methods omitted',
  ];
  const code = [
    'const {a, ...rest} = obj;',
    '  ...rest,',
    '  ...other,',
    'return [...items, x];',
    '// the id is the same as before the update',
    '// other handlers register themselves',
    'console.log("...")',
    '# other settings',
    '// TODO: more tests',
    'x = y # unchanged',
    '/** @returns the rest of the list */',
  ];

  it.each(placeholders)('%s is a placeholder', (line) => {
    expect(findPlaceholder(`function f() {\n${line}\n}\n`)).toBe(line.trim());
  });

  it.each(code)('%s is code', (line) => {
    expect(findPlaceholder(`function f() {\n${line}\n}\n`)).toBeNull();
  });

  it('a placeholder-like line the file already had is not held against an edit', () => {
    expect(findPlaceholder('a\n// ...\nb\n', 'x\n// ...\n')).toBeNull();
    expect(findPlaceholder('a\n// ...\nb\n', 'x\n')).toBe('// ...');
  });
});
