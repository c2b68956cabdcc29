/**
 * `npm run bench:generate`: full generation for a 50-aggregate model (goal: at most 2 s), and regeneration
 * after changing one aggregate: how many files are rewritten (only those that depend on it should be).
 * Pure work, as the API does it: parse and check the IR, generate, plan the writes.
 */
import { builtinGenerators, planWrite } from '../services/generators/index.js';
import { readModel } from '../services/ir/index.js';

const CONTEXTS = 10;
const AGGREGATES_PER_CONTEXT = 5;
const RUNS = 5;

function contextYaml(c: number, changed?: string): string {
  const aggregates: string[] = [];
  const commands: string[] = [];
  const events: string[] = [];
  const queries: string[] = [];
  for (let a = 1; a <= AGGREGATES_PER_CONTEXT; a++) {
    const name = `Item${c}x${a}`;
    const extra = name === changed ? '\n          - { name: priority, type: int, required: false }' : '';
    aggregates.push(`    - name: ${name}
      root_entity:
        name: ${name}Entity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: title, type: string, validation: { max_length: 200 } }
          - { name: status, type: Status }
          - { name: price, type: Money }
          - { name: createdAt, type: datetime }${extra}`);
    commands.push(`    - { name: Create${name}, aggregate: ${name}, parameters: [ { name: title, type: string }, { name: price, type: Money } ], emits: [${name}Created] }`);
    events.push(`    - { name: ${name}Created, aggregate: ${name}, payload: [ { name: id, type: uuid } ] }`);
    queries.push(`    - { name: Get${name}, parameters: [ { name: id, type: uuid } ], result: ${name} }`);
  }
  return `bounded_context:
  name: Area${c}
  namespace: bench.area${c}
  enums:
    - { name: Status, values: [OPEN, DONE] }
  value_objects:
    - name: Money
      properties: [ { name: amount, type: decimal }, { name: currency, type: string } ]
  aggregates:
${aggregates.join('\n')}
  commands:
${commands.join('\n')}
  events:
${events.join('\n')}
  queries:
${queries.join('\n')}
`;
}

function model(changed?: string): Record<string, string> {
  const files: Record<string, string> = { 'ir/project.yaml': 'project:\n  name: Bench\n  stack: { runtime: node }\n' };
  for (let c = 1; c <= CONTEXTS; c++) files[`ir/contexts/area${c}.yaml`] = contextYaml(c, changed);
  return files;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const registry = builtinGenerators();
console.log(`\nbench/generate: ${CONTEXTS * AGGREGATES_PER_CONTEXT} aggregates in ${CONTEXTS} contexts, median of ${RUNS} runs`);
for (const name of ['typescript-http', 'go-http']) {
  const generator = registry.get(name)!;
  const times: number[] = [];
  let fileCount = 0;
  let first!: ReturnType<typeof planWrite>;
  let output: ReturnType<typeof generator.generate> = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const reading = readModel(model());
    if (!reading.valid) throw new Error(`the bench model is invalid: ${JSON.stringify(reading.diagnostics.slice(0, 3))}`);
    output = generator.generate(reading.model, {});
    first = planWrite(null, new Map(), output, generator.manifest);
    times.push(performance.now() - started);
    fileCount = output.length;
  }
  // Regenerate after one aggregate gained a property, the workspace holding exactly the first output.
  const current = new Map(output.map((file) => [file.path, file.content]));
  const started = performance.now();
  const after = generator.generate(readModel(model('Item3x2')).model, {});
  const plan = planWrite(first.record, current, after, generator.manifest);
  const regenMs = performance.now() - started;
  const full = median(times);
  console.log(
    `  ${name.padEnd(16)} full: ${full.toFixed(0)} ms for ${fileCount} files (goal <= 2000 ms: ${full <= 2000 ? 'met' : 'MISSED'});` +
      ` after changing Item3x2: ${plan.writes.length} of ${after.length} files rewritten in ${regenMs.toFixed(0)} ms` +
      ` (${plan.writes.map((w) => w.path).join(', ')})`,
  );
}
