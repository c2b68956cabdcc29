/** Entry point of the worker process (`npm start` runs it beside the API). */
import { loadConfig } from '../lib/config.js';
import { connectWorker, createWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await connectWorker(config.temporal);
  const worker = await createWorker({ connection, temporal: config.temporal });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error('worker failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
