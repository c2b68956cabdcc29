/** The IR service's public surface. */
export {
  readModel,
  validateChange,
  previewChange,
  diffModels,
  type ModelReading,
  type FileChanges,
  type IrInput,
  type UnreadFiles,
} from './service.js';
export type { DiffElement, DiffEntry, ModelDiff } from './diff.js';
export { DIAGNOSTIC_CODES, hasErrors, type Diagnostic, type DiagnosticCode, type Severity, type Suggestion } from './diagnostics.js';
export { irSchema } from './schema.js';
export { IR_LIMITS } from './limits.js';
export { isIrFile } from './merge.js';
export { fieldsSet, instanceParameter } from './command-checks.js';
export * from './model.js';
export { ProjectIrService, type ProjectModel, type ChangeOutcome } from './project-ir.js';
export { irRoutes } from './routes.js';
