/**
 * `npm run fake-model -- --port 4010 --script file.json`: the fake model server on its own, for demos and for
 * pointing Vaporform at it (`ANTHROPIC_BASE_URL=<url>`, or `OPENAI_BASE_URL=<url>/v1`, with any API key).
 * The file holds one script (`{"turns": [...]}`) or several by key (`{"scripts": {"key": {...}}}`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseScriptFile, startFakeModelServer } from './index.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '4010' }, host: { type: 'string', default: '127.0.0.1' }, script: { type: 'string' } },
});
if (!values.script) {
  process.stderr.write('usage: npm run fake-model -- [--port 4010] [--host 127.0.0.1] --script file.json\n');
  process.exit(2);
}
const server = await startFakeModelServer({
  scripts: parseScriptFile(readFileSync(values.script, 'utf8')),
  host: values.host,
  port: Number(values.port),
});
process.stdout.write(`fake model listening: Anthropic base URL ${server.url}, OpenAI base URL ${server.openaiBaseUrl}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
