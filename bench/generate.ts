/**
 * `npm run bench:generate`:
 * - full generation for a 50-aggregate model (goal: at most 2 s), as the API does it: parse and check the IR,
 *   generate and plan the writes in the worker pool (the same tasks, copies between threads included), and the
 *   same work in-process for comparison;
 * - regeneration after changing one aggregate: how many files are rewritten (only those that depend on it);
 * - validation of a 1,000-aggregate model: reading it (GET /ir) and previewing a change to it (ir/validate,
 *   ir/changes), in-process and through the pool.
 */
import { WorkerPool, workerTask } from '../lib/worker-pool.js';
import { builtinGenerators, planWrite } from '../services/generators/index.js';
import type * as generatorTasks from '../services/generators/worker-tasks.js';
import { previewChange, readModel } from '../services/ir/index.js';
import type * as irTasks from '../services/ir/worker-tasks.js';
import { contextYaml, model } from './lib/bench-model.js';

const RUNS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed<T>(work: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function medianOf(work: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) times.push((await timed(work)).ms);
  return median(times);
}

const pool = new WorkerPool({ size: 2, timeoutMs: 120_000, maxHeapMb: 1024 });
const TOO_MUCH = { tooMuch: 'The bench model is too much' };
const generatorModule = new URL('../services/generators/worker-tasks.ts', import.meta.url);
const generateTask = workerTask<typeof generatorTasks.generate>(generatorModule, 'generate');
const planTask = workerTask<typeof generatorTasks.plan>(generatorModule, 'plan');
const evolveTask = workerTask<typeof generatorTasks.evolve>(generatorModule, 'evolve');
const irModule = new URL('../services/ir/worker-tasks.ts', import.meta.url);
const readTask = workerTask<typeof irTasks.read>(irModule, 'read');
const previewTask = workerTask<typeof irTasks.preview>(irModule, 'preview');

// Threads started and modules loaded before anything is timed, as in a running API.
await Promise.all([
  pool.run(readTask, { files: model(1, 1), unread: {} }, TOO_MUCH),
  pool.run(generateTask, { ir: { files: model(1, 1), unread: {} }, generator: 'go-http', options: {} }, TOO_MUCH),
]);

const registry = builtinGenerators();
console.log(`\nbench/generate: 50 aggregates in 10 contexts, median of ${RUNS} runs`);
for (const name of ['typescript-http', 'python-http', 'go-http']) {
  const generator = registry.get(name)!;
  const files = model(10, 5);
  const inProcess = await medianOf(() => {
    const reading = readModel(files);
    if (!reading.valid) throw new Error(`the bench model is invalid: ${JSON.stringify(reading.diagnostics.slice(0, 3))}`);
    planWrite(null, new Map(), generator.generate(reading.model, {}), generator.manifest);
  });
  const generateInPool = async () => {
    const generation = await pool.run(generateTask, { ir: { files, unread: {} }, generator: name, options: {} }, TOO_MUCH);
    return { generation, ...(await pool.run(planTask, { ...generation, record: undefined, current: [] }, TOO_MUCH)) };
  };
  const full = await medianOf(generateInPool);
  const { generation, plan: first } = await generateInPool();
  // Regenerate after one aggregate gained a property, the workspace holding exactly the first output.
  const current = generation.files.map((file): [string, string] => [file.path, file.content]);
  const regen = await timed(async () => {
    // Fitted to the workspace as the API does it: the old migrations stay, the change is a new one.
    const fresh = await pool.run(generateTask, { ir: { files: model(10, 5, 'Item3x2'), unread: {} }, generator: name, options: {} }, TOO_MUCH);
    const after = fresh.evolves ? await pool.run(evolveTask, { ...fresh, current, allowDestructive: false }, TOO_MUCH) : fresh;
    const record = { path: 'record.json', text: JSON.stringify(first.record) };
    return { after, ...(await pool.run(planTask, { ...after, record, current }, TOO_MUCH)) };
  });
  const { after, plan } = regen.value;
  console.log(
    `  ${name.padEnd(16)} full: ${full.toFixed(0)} ms in the worker pool (${inProcess.toFixed(0)} ms in-process) for ${generation.files.length} files` +
      ` (goal <= 2000 ms: ${full <= 2000 ? 'met' : 'MISSED'}); after changing Item3x2: ${plan.writes.length} of ${after.files.length} files` +
      ` written in ${regen.ms.toFixed(0)} ms (${plan.writes.map((w) => w.path).join(', ')})`,
  );
}

const big = model(20, 50);
const bytes = Object.values(big).reduce((sum, text) => sum + text.length, 0);
const changed = { 'ir/contexts/area7.yaml': contextYaml(7, 50, 'Item7x3') };
console.log(`\nbench/generate: validating 1,000 aggregates in 20 contexts (${(bytes / 1024).toFixed(0)} KiB), median of ${RUNS} runs`);
const readInProcess = await medianOf(() => readModel(big));
const readInPool = await medianOf(() => pool.run(readTask, { files: big, unread: {} }, TOO_MUCH));
const previewInProcess = await medianOf(() => previewChange(big, changed));
const previewInPool = await medianOf(() => pool.run(previewTask, { files: big, unread: {}, changes: changed }, TOO_MUCH));
console.log(`  read (GET /ir):                      ${readInPool.toFixed(0)} ms in the worker pool (${readInProcess.toFixed(0)} ms in-process)`);
console.log(`  one changed file (ir/validate, ir/changes): ${previewInPool.toFixed(0)} ms in the worker pool (${previewInProcess.toFixed(0)} ms in-process)`);
await pool.close();
