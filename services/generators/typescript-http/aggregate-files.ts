/** Per-aggregate files: the domain module (data the engine runs) and its node:test file. */
import { kebab, type AggregateView } from '../ir-view.js';
import { aggregateData, routeOf, testSamples } from '../service-shape.js';
import { esm, HEADER } from './runtime.js';

export function domainModule(a: AggregateView): string {
  const aggregate = aggregateData(a);
  return `${HEADER}
${esm('{ validate }', `../../validate.js`)}

/** The ${a.name} aggregate of the ${a.context} context, as data: its shape, commands, queries and table. */
export const aggregate = ${JSON.stringify(aggregate, null, 2)};

/**
 * Problems with a ${a.name} (missing required fields, wrong types, broken rules); empty when it is valid.
 * @param {unknown} entity @returns {import('../../validate.js').Problem[]}
 */
export function validate${a.name}(entity) {
  return validate(aggregate.entity, entity);
}
`;
}

export function testFile(a: AggregateView): string {
  const samples = testSamples(a);
  const L = (s: unknown): string => JSON.stringify(s);
  const article = (word: string): string => (/^[AEIOU]/i.test(word) ? 'an' : 'a');
  const tests: string[] = [];
  tests.push(`test('a sample ${a.name} is valid and an empty one is not', () => {
  assert.deepEqual(validate${a.name}(sample), []);
  assert.notDeepEqual(validate${a.name}({}), []);
});`);
  for (const { command: c, url, input, badBody, missing } of samples.commands) {
    const events = c.emits.map((e) => e.name);
    if (missing.length > 0) {
      tests.push(`test('${c.name} refuses to create ${article(a.name)} ${a.name} without ${missing.join(', ')} (no parameter gives ${missing.length > 1 ? 'them' : 'it'})', async () => {
  const app = await start();
  try {
    const res = await post(app, ${L(url)}, ${L(input)});
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body.error.details.map((/** @type {any} */ p) => p.path), ${L(missing.map((m) => `/${m}`))});
  } finally {
    await app.close();
  }
});`);
    } else {
      tests.push(`test('${c.name} ${c.idParam ? 'changes' : 'creates'} ${article(a.name)} ${a.name}${events.length ? ` and emits ${events.join(', ')}` : ''}', async () => {
  const app = await start();
  try {
    const res = await post(app, ${L(url)}, ${L(input)});
    assert.equal(res.status, ${c.idParam ? 200 : 201}, JSON.stringify(res.body));
    const stored = await app.repository.get(aggregate.table, res.body.entity[aggregate.identifier]);
    assert.deepEqual(stored, res.body.entity);
    assert.deepEqual(res.body.events.map((/** @type {any} */ e) => e.type), ${L(events)});
  } finally {
    await app.close();
  }
});`);
    }
    tests.push(`test('${c.name} with a bad payload gets 400', async () => {
  const app = await start();
  try {
    const res = await post(app, ${L(url)}, undefined, ${L(badBody)});
    assert.equal(res.status, 400);
    assert.ok(res.body.error.code);
  } finally {
    await app.close();
  }
});`);
  }
  for (const { query: q, url } of samples.queries) {
    tests.push(`test('${q.name} returns the stored ${a.name}', async () => {
  const app = await start();
  try {
    const res = await get(app, ${L(url)});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, ${q.many ? '[sample]' : 'sample'});
  } finally {
    await app.close();
  }
});`);
  }
  tests.push(`test('GET ${routeOf(a)}/<id> and GET ${routeOf(a)} return the stored ${a.name}', async () => {
  const app = await start();
  try {
    const res = await get(app, ${L(`${routeOf(a)}/${samples.idSegment}`)});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, sample);
    const list = await get(app, ${L(`${routeOf(a)}?limit=10`)});
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body, [sample]);
    assert.equal((await get(app, ${L(`${routeOf(a)}?limit=0`)})).status, 400);
  } finally {
    await app.close();
  }
});`);
  const sample = samples.entity;
  return `${HEADER}
${esm('{ test }', `node:test`)}
${esm('assert', `node:assert/strict`)}
${esm('{ createServer }', `../src/server.js`)}
${esm('{ createMemoryRepository }', `../src/repositories/memory.js`)}
${esm(`{ aggregate, validate${a.name} }`, `../src/domain/${kebab(a.context)}/${kebab(a.name)}.js`)}

const sample = ${JSON.stringify(sample, null, 2)};

/** The server on a free port, over an in-memory repository holding \`sample\`. */
async function start() {
  const repository = createMemoryRepository();
  await repository.save(aggregate.table, sample);
  const server = createServer({ repository });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const base = \`http://127.0.0.1:\${typeof address === 'object' && address ? address.port : 0}\`;
  const close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve(undefined)); });
  return { repository, base, close };
}

/** @param {{ base: string }} app @param {string} path @param {unknown} body @param {string} [raw] */
async function post(app, path, body, raw) {
  const res = await fetch(app.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** @param {{ base: string }} app @param {string} path */
async function get(app, path) {
  const res = await fetch(app.base + path);
  return { status: res.status, body: await res.json() };
}

${tests.join('\n\n')}
`;
}

