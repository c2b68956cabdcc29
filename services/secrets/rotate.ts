/**
 * `npm run secrets:rotate`: re-wraps every secret's data key under VAPORFORM_MASTER_KEY, with the old key in
 * VAPORFORM_MASTER_KEY_PREVIOUS (see rotation.ts and README.md, "Secrets"). Safe to run again after a failure.
 */
import { loadConfig } from '../../lib/config.js';
import { createPool } from '../../lib/db.js';
import { rotateMasterKey } from './rotation.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = createPool(config.databaseUrl, 2);
  try {
    const report = await rotateMasterKey(db, config.secrets, (line) => console.log(line));
    console.log(`done: master key ${report.currentKeyId} is current; ${report.rewrapped} data key(s) re-wrapped`);
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error('rotation failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
