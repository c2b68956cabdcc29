/**
 * The scripted fake model server, for tests and demos: both wire formats, scripts per run, requests recorded.
 * `npm run fake-model -- --port 4010 --script file.json` runs it on its own (see main.ts).
 */
export { startFakeModelServer, type FakeModelOptions, type FakeModelServer } from './server.js';
export {
  parseScriptFile,
  type FakeReply,
  type FakeScript,
  type FakeToolCall,
  type FakeTurn,
  type FakeTurnFn,
  type FakeUsage,
  type RecordedRequest,
  type RequestOutcome,
  type WireApi,
} from './script.js';
