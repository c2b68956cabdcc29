/** Per-aggregate files: the domain module (its types, and the aggregate as data the engine runs) and its node:test file. */
import { kebab, sampleValue, type AggregateView, type Desc, type Precondition } from '../ir-view.js';
import { aggregateData, routeOf, testSamples } from '../service-shape.js';
import { domainPath, domainSpec, esm, HEADER } from './runtime.js';

/** The TypeScript type of an IR type. */
export function tsType(desc: Desc): string {
  switch (desc.kind) {
    case 'scalar':
      return desc.type === 'int' || desc.type === 'decimal' ? 'number' : desc.type === 'bool' ? 'boolean' : 'string';
    case 'enum':
      return desc.values.map((v) => JSON.stringify(v)).join(' | ') || 'never';
    case 'list': {
      const inner = tsType(desc.of);
      return inner.includes('|') ? `Array<${inner}>` : `${inner}[]`;
    }
    case 'object':
      return `{ ${desc.fields.map((f) => `${key(f.name)}${f.required ? '' : '?'}: ${tsType(f.desc)};`).join(' ')} }`;
    case 'any':
      return 'unknown';
  }
}

const key = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** A type alias of an object type, one field a line. */
const alias = (name: string, desc: Desc & { kind: 'object' }): string =>
  `export type ${name} = {\n${desc.fields.map((f) => `  ${key(f.name)}${f.required ? '' : '?'}: ${tsType(f.desc)};\n`).join('')}};`;

const literal = (value: unknown): string => JSON.stringify(value, null, 2);

export function domainModule(a: AggregateView): string {
  const types = [
    `/** A ${a.name} of the ${a.context} context, as the service stores and answers it. */\n${alias(a.name, a.entity)}`,
    ...a.commands.map((c) => `/** The body of POST ${routeOf(a)}/commands/${c.name}. */\n${alias(`${c.name}Input`, c.input)}`),
    ...a.queries.map((q) => `/** The parameters of GET ${routeOf(a)}/queries/${q.name}. */\n${alias(`${q.name}Params`, q.input)}`),
  ];
  return `${HEADER}${esm('type { AggregateSpec }', '../../spec.js')}

${types.join('\n\n')}

/** The ${a.name} aggregate as data the engine runs: its shape and rules, commands, queries and table. */
export const aggregate: AggregateSpec = ${literal(aggregateData(a))};
`;
}

/** Without the null fields: what a store gives back (an absent value and null are the same in a column). */
const withoutNulls = (entity: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(entity).filter(([, v]) => v !== null));

/** A stored entity for which every precondition holds. */
function satisfying(sample: Record<string, unknown>, preconditions: Precondition[]): Record<string, unknown> {
  const out = { ...sample };
  for (const p of preconditions) {
    if ('is' in p) {
      if (p.is === 'unset') delete out[p.field];
    } else if ('equals' in p) out[p.field] = p.equals;
    else if (p.oneOf[0] !== undefined) out[p.field] = p.oneOf[0];
  }
  return out;
}

/** A stored entity breaking `p` (the others holding), or undefined when no valid one can (a required field unset). */
function breaking(a: AggregateView, sample: Record<string, unknown>, preconditions: Precondition[], p: Precondition): Record<string, unknown> | undefined {
  const out = satisfying(sample, preconditions);
  const field = a.entity.fields.find((f) => f.name === p.field);
  if (!field) return undefined;
  if ('is' in p) {
    if (p.is === 'set') {
      if (field.required) return undefined;
      delete out[p.field];
    } else {
      const value = sampleValue(field.desc, field.validation, 1);
      if (value === null || value === undefined) return undefined;
      out[p.field] = value;
    }
    return out;
  }
  const allowed = 'equals' in p ? [p.equals] : p.oneOf;
  const other = field.desc.kind === 'enum' ? field.desc.values.find((v) => !allowed.includes(v)) : field.desc.kind === 'scalar' && field.desc.type === 'bool' ? [true, false].find((v) => !allowed.includes(v)) : undefined;
  if (other === undefined) return undefined;
  out[p.field] = other;
  return out;
}

export function testFile(a: AggregateView): string {
  const samples = testSamples(a);
  const sample = withoutNulls(samples.entity);
  const route = routeOf(a);
  const L = (s: unknown): string => JSON.stringify(s);
  const article = (word: string): string => (/^[AEIOU]/i.test(word) ? 'an' : 'a');
  const uuidId = a.idDesc.kind === 'scalar' && a.idDesc.type === 'uuid';
  const unknownId = sampleValue(a.idDesc, undefined, 999_999);
  const tests: string[] = [];
  samples.commands.forEach(({ command: c, url, input, badBody, missing }, index) => {
    const events = c.emits.map((e) => e.name);
    if (missing.length > 0) {
      tests.push(`it('${c.name} refuses to create ${article(a.name)} ${a.name} without ${missing.join(', ')} (no parameter gives ${missing.length > 1 ? 'them' : 'it'})', async (t) => {
      const app = await start(t, storage);
      const res = await app.request('POST', ${L(url)}, ${L(input)});
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.deepEqual(res.body.error.details.map((p: { path: string }) => p.path), ${L(missing.map((m) => `/${m}`))});
      assert.deepEqual((await app.store.page(aggregate, [], 10, 0)).total, 0);
    });`);
    } else if (c.kind === 'create') {
      const sets = c.sets.filter((s) => input[s.param] !== undefined && input[s.param] !== null);
      tests.push(`it('${c.name} creates ${article(a.name)} ${a.name} at version 1${events.length ? ` and records ${events.join(', ')} with it` : ''}', async (t) => {
      const app = await start(t, storage);
      const input: ${c.name}Input = ${L(input)};
      const res = await app.request('POST', ${L(url)}, input);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.headers.etag, '"1"');
      assert.equal(res.body.version, 1);
      assert.deepEqual(res.body.events.map((e: { type: string }) => e.type), ${L(events)});
${sets.map((s) => `      assert.deepEqual(res.body.entity[${L(s.field)}], input[${L(s.param)}]);`).join('\n')}
      const read = await app.request('GET', String(res.headers.location));
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.headers.etag, '"1"');
      assert.deepEqual(read.body, res.body.entity);
      assert.deepEqual((await app.events(aggregate)).map((e) => e.type), ${L(events)});
    });`);
    } else {
      const seed = satisfying(sample, c.preconditions);
      const seedText = JSON.stringify(seed) === JSON.stringify(sample) ? 'sample' : L(seed);
      tests.push(`it('${c.name} changes ${article(a.name)} ${a.name} to version 2${events.length ? ` and records ${events.join(', ')}` : ''}; a stale If-Match changes nothing (409)', async (t) => {
      const app = await start(t, storage, [[aggregate, ${seedText}]]);
      const input: ${c.name}Input = ${L(input)};
      const res = await app.request('POST', ${L(url)}, input, { 'if-match': '"1"' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.etag, '"2"');
      assert.equal(res.body.version, 2);
      assert.deepEqual(res.body.events.map((e: { type: string }) => e.type), ${L(events)});
${c.sets.filter((s) => input[s.param] !== undefined).map((s) => `      assert.deepEqual(res.body.entity[${L(s.field)}], input[${L(s.param)}]);`).join('\n')}
      const read = await app.request('GET', ${L(`${route}/${samples.idSegment}`)});
      assert.deepEqual(read.body, res.body.entity);
      assert.equal(read.headers.etag, '"2"');
      const stale = await app.request('POST', ${L(url)}, input, { 'if-match': '"1"' });
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'VERSION_CONFLICT');
      assert.deepEqual(stale.body.error.details, { expected: 1, actual: 2 });
      assert.equal((await app.events(aggregate)).length, ${events.length});${
        uuidId
          ? `
      const missing = await app.request('POST', ${L(url)}, { ...input, ${L(c.idParam)}: ${L(unknownId)} });
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      assert.equal(missing.body.error.code, 'NOT_FOUND');`
          : ''
      }
    });`);
      for (const p of c.preconditions) {
        const broken = breaking(a, sample, c.preconditions, p);
        if (!broken) continue;
        tests.push(`it('${c.name} refuses (409 PRECONDITION_FAILED) ${article(a.name)} ${a.name} where ${p.field} ${'is' in p ? `is ${p.is === 'set' ? 'unset' : 'set'}` : 'equals' in p ? `is not ${String(p.equals)}` : `is not one of ${p.oneOf.join(', ')}`}', async (t) => {
      const app = await start(t, storage, [[aggregate, ${L(broken)}]]);
      const res = await app.request('POST', ${L(url)}, ${L(input)});
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'PRECONDITION_FAILED');
      assert.deepEqual(res.body.error.details, ${L(p)});
      const read = await app.request('GET', ${L(`${route}/${samples.idSegment}`)});
      assert.deepEqual(read.body, ${L(broken)});
      assert.equal(read.headers.etag, '"1"');
    });`);
      }
    }
    tests.push(`it('${c.name} refuses a bad payload with 400${index === 0 ? ', and an unknown field' : ''}', async (t) => {
      const app = await start(t, storage);
      const res = await app.request('POST', ${L(url)}, ${L(badBody)});
      assert.equal(res.status, 400);
      assert.match(res.body.error.code, /^(VALIDATION_FAILED|MALFORMED_JSON)$/);${
        index === 0
          ? `
      const unknown = await app.request('POST', ${L(url)}, { ...${L(input)}, notAField: 1 });
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body.error.details, [{ path: '/notAField', message: 'is not a known field' }]);`
          : ''
      }
    });`);
  });
  for (const { query: q, url } of samples.queries) {
    tests.push(`it('${q.name} finds the stored ${a.name}', async (t) => {
      const app = await start(t, storage, [[aggregate, sample]]);
      const res = await app.request('GET', ${L(url)});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, ${q.many ? '{ items: [sample], limit: 100, offset: 0, total: 1 }' : 'sample'});${
        q.many
          ? `
      const next = await app.request('GET', ${L(`${url}${url.includes('?') ? '&' : '?'}limit=1&offset=1`)});
      assert.deepEqual(next.body, { items: [], limit: 1, offset: 1, total: 1 });`
          : ''
      }
    });`);
  }
  tests.push(`it('GET ${route}/<id> and GET ${route} answer the stored ${a.name}', async (t) => {
      const app = await start(t, storage, [[aggregate, sample]]);
      const res = await app.request('GET', ${L(`${route}/${samples.idSegment}`)});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, sample);
      assert.equal(res.headers.etag, '"1"');
      const list = await app.request('GET', ${L(`${route}?limit=10`)});
      assert.deepEqual(list.body, { items: [sample], limit: 10, offset: 0, total: 1 });
      const after = await app.request('GET', ${L(`${route}?offset=1`)});
      assert.deepEqual(after.body, { items: [], limit: 100, offset: 1, total: 1 });
      const bad = await app.request('GET', ${L(`${route}?limit=0`)});
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'VALIDATION_FAILED');${
        uuidId
          ? `
      const missing = await app.request('GET', ${L(`${route}/${String(unknownId)}`)});
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'NOT_FOUND');`
          : ''
      }
    });`);
  const typeNames = [a.name, ...samples.commands.filter((s) => s.missing.length === 0).map((s) => `${s.command.name}Input`)];
  return `${HEADER}${esm('assert', 'node:assert/strict')}
${esm('{ describe, it }', 'node:test')}
${esm(`{ aggregate, ${typeNames.map((n) => `type ${n}`).join(', ')} }`, domainSpec(a, 'test'))}
${esm('{ problemsOf }', '../src/validation.js')}
${esm('{ start, storages }', './support.js')}

const sample: ${a.name} = ${literal(sample)};

describe('${a.name} (${a.context})', () => {
  it('a sample ${a.name} is valid and an empty one is not', () => {
    assert.deepEqual(problemsOf(aggregate.entity, sample), []);
    assert.notDeepEqual(problemsOf(aggregate.entity, {}), []);
  });
});

for (const storage of storages) {
  describe(\`${a.name} (${a.context}, \${storage})\`, () => {
    ${tests.join('\n\n    ')}
  });
}
`;
}

export const testPath = (a: AggregateView): string => `test/${kebab(a.context)}-${kebab(a.name)}.test.ts`;
export { domainPath };
