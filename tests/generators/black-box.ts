/**
 * The black-box HTTP test every built-in generator's service must pass (services/generators/HTTP-CONTRACT.md), the
 * same for the three stacks: it only speaks HTTP to the app (with curl, inside the app's own sandbox) and reads the
 * project's PostgreSQL with psql in its container. The library model (tests/fixtures/ir/library) is the subject.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { ApiClient, SignedIn } from '../helpers/http.js';
import { exec } from '../helpers/sandbox.js';

export { STACK_COMMANDS as STACKS, type StackName } from '../../services/generators/stack-commands.js';

const run = promisify(execFile);


export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: any;
  text: string;
}

export interface AppTarget {
  api: ApiClient;
  user: SignedIn;
  projectId: string;
  port: number;
}

const SEPARATOR = '\n--vf-black-box--\n';

/**
 * One request to the app from inside its sandbox. `body` is JSON-encoded unless it is a string (sent as is);
 * headers are lower-cased; the body is parsed as JSON when it is JSON.
 */
export async function request(
  t: AppTarget,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const args = ['curl', '-sS', '-X', method, '-D', '/tmp/vf-bb-headers', '-o', '/tmp/vf-bb-body', '-w', '%{http_code}', '-H', 'Expect:'];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (options.body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', '@-');
  args.push(`http://127.0.0.1:${t.port}${path}`);
  const script = `${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')} && printf '${SEPARATOR.replace(/\n/g, '\\n')}' && cat /tmp/vf-bb-headers && printf '${SEPARATOR.replace(/\n/g, '\\n')}' && cat /tmp/vf-bb-body`;
  const stdin = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const result = await exec(t.api, t.user, t.projectId, ['sh', '-c', script], { ...(stdin === undefined ? {} : { stdin }), timeoutMs: 30_000 });
  expect(result.exitCode, `${method} ${path}: ${result.stderr}`).toBe(0);
  const [status, head, text] = result.stdout.split(SEPARATOR) as [string, string, string];
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: Number(status), headers, body, text };
}

/** An optional field without a value may be absent or null: both read as absent here. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutNulls) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)])) as T;
  }
  return value;
}

/** The version an ETag names (`"3"`, `W/"3"`). */
export const etagVersion = (etag: string | undefined): number => Number(/^(?:W\/)?"?(\d+)"?$/.exec(etag ?? '')?.[1] ?? NaN);

/** One SQL statement in the project's PostgreSQL, as its superuser over the container's socket; rows as arrays. */
export async function psql(projectId: string, sql: string): Promise<string[][]> {
  const { stdout } = await run('docker', ['exec', '-u', 'postgres', `vf-pg-${projectId}`, 'psql', '-X', '-q', '-d', 'app', '-t', '-A', '-F', '\t', '-c', sql], {
    timeout: 30_000,
  });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** A status and error code, with the reply in the message when they differ. */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }, reply.text).toEqual({ status, code });
  expect(typeof reply.body.error.message, reply.text).toBe('string');
}

const MEMBER = '00000000-0000-4000-8000-0000000000a1';
const OTHER_MEMBER = '00000000-0000-4000-8000-0000000000b2';
const LOANS = '/lending/loans';

const borrow = (t: AppTarget, body: unknown, headers?: Record<string, string>) =>
  request(t, 'POST', `${LOANS}/commands/BorrowBook`, { body, ...(headers ? { headers } : {}) });

/**
 * The contract, walked through on a running app: health, OpenAPI, create, read, list and pages, a query, change with
 * versions, stale and concurrent changes, preconditions, and the bad inputs. Returns a loan it made (for a later step).
 */
export async function blackBox(t: AppTarget): Promise<{ loan: Record<string, unknown> }> {
  const health = await request(t, 'GET', '/health');
  expect(health.status, health.text).toBe(200);
  expect(health.body).toMatchObject({ status: 'ok', storage: 'postgres' });

  const openapi = await request(t, 'GET', '/openapi.json');
  expect(openapi.status, openapi.text.slice(0, 500)).toBe(200);
  expect(String(openapi.body.openapi)).toMatch(/^3\./);
  const paths = Object.keys(openapi.body.paths ?? {});
  expect(paths).toEqual(expect.arrayContaining([`${LOANS}/commands/BorrowBook`, `${LOANS}/commands/ReturnBook`, LOANS, '/lending/members']));
  expect(paths.some((p) => p.startsWith(`${LOANS}/{`))).toBe(true);

  // Create: 201, version 1, ETag, Location, every declared event in order.
  const input = { memberId: MEMBER, isbn: '978-0-306-40615-7', dueOn: '2024-03-01' };
  const created = await borrow(t, input);
  expect(created.status, created.text).toBe(201);
  const loan = withoutNulls(created.body.entity) as Record<string, unknown>;
  expect(loan).toMatchObject({ ...input, renewals: 0 });
  expect(loan.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(loan.returnedOn).toBeUndefined();
  expect(Object.keys(loan).sort()).toEqual(['dueOn', 'id', 'isbn', 'memberId', 'renewals']);
  expect(created.body.version).toBe(1);
  expect(etagVersion(created.headers.etag)).toBe(1);
  expect(created.headers.location).toMatch(new RegExp(`${LOANS}/${loan.id}$`));
  expect(created.body.events.map((e: { type: string }) => e.type)).toEqual(['BookBorrowed', 'LoanOpened']);
  expect(created.body.events[0].payload).toMatchObject({ loanId: loan.id, isbn: input.isbn });

  // Read it back: the same entity, its version as the ETag.
  const read = await request(t, 'GET', `${LOANS}/${loan.id}`);
  expect(read.status, read.text).toBe(200);
  expect(withoutNulls(read.body)).toEqual(loan);
  expect(etagVersion(read.headers.etag)).toBe(1);
  expectError(await request(t, 'GET', `${LOANS}/00000000-0000-4000-8000-00000000ffff`), 404, 'NOT_FOUND');
  expectError(await request(t, 'GET', `${LOANS}/not-a-uuid`), 400, 'VALIDATION_FAILED');

  // Two more loans, one of another member; pages ordered by identifier, counted in full.
  const second = await borrow(t, { ...input, isbn: '0-306-40615-2' });
  const third = await borrow(t, { ...input, memberId: OTHER_MEMBER });
  expect([second.status, third.status], second.text + third.text).toEqual([201, 201]);
  const ids = [loan.id, second.body.entity.id, third.body.entity.id].sort();
  const page = await request(t, 'GET', `${LOANS}?limit=2&offset=1`);
  expect(page.status, page.text).toBe(200);
  expect({ ...page.body, items: page.body.items.map((i: { id: string }) => i.id) }).toEqual({ items: ids.slice(1, 3), limit: 2, offset: 1, total: 3 });
  const whole = await request(t, 'GET', LOANS);
  expect(whole.body).toMatchObject({ limit: 100, offset: 0, total: 3 });
  expectError(await request(t, 'GET', `${LOANS}?limit=0`), 400, 'VALIDATION_FAILED');
  expectError(await request(t, 'GET', `${LOANS}?limit=1001`), 400, 'VALIDATION_FAILED');
  expectError(await request(t, 'GET', `${LOANS}?offset=-1`), 400, 'VALIDATION_FAILED');
  const members = await request(t, 'GET', '/lending/members');
  expect(members.status, members.text).toBe(200);
  expect(members.body).toMatchObject({ items: [], total: 0 });

  // A query with a list result: a page of the member's loans only.
  const mine = await request(t, 'GET', `${LOANS}/queries/ListMemberLoans?memberId=${MEMBER}`);
  expect(mine.status, mine.text).toBe(200);
  expect(mine.body.items.map((i: { id: string }) => i.id).sort()).toEqual([loan.id, second.body.entity.id].sort());
  expect(mine.body.total).toBe(2);

  // A change at the version read: 200, version 2. The IR says a loan is returned once: a second return is refused.
  const returned = await request(t, 'POST', `${LOANS}/commands/ReturnBook`, { body: { loanId: loan.id, returnedOn: '2024-02-20' }, headers: { 'if-match': '"1"' } });
  expect(returned.status, returned.text).toBe(200);
  expect(returned.body.version).toBe(2);
  expect(etagVersion(returned.headers.etag)).toBe(2);
  expect(withoutNulls(returned.body.entity)).toEqual({ ...loan, returnedOn: '2024-02-20' });
  expect(returned.body.events).toEqual([{ type: 'BookReturned', payload: { loanId: loan.id, returnedOn: '2024-02-20' } }]);
  expectError(await request(t, 'POST', `${LOANS}/commands/ReturnBook`, { body: { loanId: loan.id, returnedOn: '2024-02-21' } }), 409, 'PRECONDITION_FAILED');
  expectError(await request(t, 'POST', `${LOANS}/commands/ReturnBook`, { body: { loanId: '00000000-0000-4000-8000-00000000ffff', returnedOn: '2024-02-21' } }), 404, 'NOT_FOUND');

  // The same version twice: the second change is stale (409) and changes nothing.
  const renew = (id: unknown, dueOn: string) =>
    request(t, 'POST', `${LOANS}/commands/RenewLoan`, { body: { loanId: id, dueOn, renewals: 1 }, headers: { 'if-match': '"1"' } });
  const renewed = await renew(third.body.entity.id, '2024-04-01');
  expect([renewed.status, renewed.body.version], renewed.text).toEqual([200, 2]);
  expectError(await renew(third.body.entity.id, '2024-04-15'), 409, 'VERSION_CONFLICT');
  const after = await request(t, 'GET', `${LOANS}/${third.body.entity.id}`);
  expect([withoutNulls(after.body).dueOn, etagVersion(after.headers.etag)]).toEqual(['2024-04-01', 2]);

  // Two changes at once from the same version: exactly one wins, the other is told, the version counts one.
  const target = second.body.entity.id as string;
  const race = await exec(t.api, t.user, t.projectId, [
    'sh',
    '-c',
    `for i in 1 2; do curl -s -o /dev/null -w '%{http_code}\\n' -H 'If-Match: "1"' -H 'content-type: application/json' ` +
      `--data-binary '{"loanId":"${target}","dueOn":"2024-05-0'$i'","renewals":'$i'}' http://127.0.0.1:${t.port}${LOANS}/commands/RenewLoan & done; wait`,
  ]);
  expect(race.stdout.trim().split('\n').sort(), race.stderr).toEqual(['200', '409']);
  expect(etagVersion((await request(t, 'GET', `${LOANS}/${target}`)).headers.etag)).toBe(2);

  // Bad input, each refused with its code and nothing stored.
  const invalid = [
    { ...input, isbn: 'abc' },
    { ...input, dueOn: '2024-02-30' },
    { ...input, memberId: 'nobody' },
    { memberId: MEMBER, isbn: input.isbn },
    { ...input, extra: true },
    [input],
  ];
  for (const body of invalid) {
    const reply = await borrow(t, body);
    expectError(reply, 400, 'VALIDATION_FAILED');
  }
  const badIsbn = await borrow(t, { ...input, isbn: 'abc' });
  expect(badIsbn.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/isbn' })]));
  const badDate = await borrow(t, { ...input, dueOn: '2024-02-30' });
  expect(badDate.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/dueOn' })]));
  expectError(await borrow(t, '{"memberId": '), 400, 'MALFORMED_JSON');
  const big = await exec(t.api, t.user, t.projectId, ['sh', '-c', `{ printf '{"isbn":"'; head -c 1100000 /dev/zero | tr '\\0' x; printf '"}'; } | curl -s -H 'content-type: application/json' -H 'Expect:' --data-binary @- http://127.0.0.1:${t.port}${LOANS}/commands/BorrowBook`]);
  expect(JSON.parse(big.stdout).error.code, big.stdout.slice(0, 300)).toBe('PAYLOAD_TOO_LARGE');
  expectError(await request(t, 'GET', '/lending/nothing-here'), 404, 'ROUTE_NOT_FOUND');
  expectError(await request(t, 'POST', `${LOANS}/commands/StealBook`, { body: {} }), 404, 'ROUTE_NOT_FOUND');
  expect((await request(t, 'GET', LOANS)).body.total).toBe(3);

  // In the database: the rows with their versions, and every event in the outbox, written with its row.
  expect(await psql(t.projectId, 'SELECT id, _version FROM lending_loans ORDER BY id')).toEqual(ids.map((id) => [id, '2']));
  const events = await psql(t.projectId, 'SELECT type, count(*) FROM lending_events GROUP BY type ORDER BY type');
  expect(events).toEqual([
    ['BookBorrowed', '3'],
    ['BookReturned', '1'],
    ['LoanOpened', '3'],
    ['LoanRenewed', '2'],
  ]);
  return { loan: withoutNulls(returned.body.entity) };
}
