/** The secrets service: encrypted per-project and per-user secrets, their use as environment, their redaction. */
export {
  SecretsService,
  LLM_SECRET_NAMES,
  type SecretInfo,
  type SecretEnv,
  type NewSecret,
  type SecretPatch,
  type AuditInfo,
} from './service.js';
export { secretsRoutes } from './routes.js';
export { MasterKeyError } from './keyring.js';
export { rotateMasterKey, type RotationReport } from './rotation.js';
