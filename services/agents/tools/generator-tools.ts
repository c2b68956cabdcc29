/** run_generator: the project's IR turned into code by the generators service (hand edits kept beside). */
import { AppError } from '../../../lib/errors.js';
import type { Diagnostic } from '../../ir/index.js';
import { boolean, fieldsOf, text } from './inputs.js';
import { formatDiagnostics } from './ir-tools.js';
import { once } from './journal.js';
import { errorResult, failed, ok } from './results.js';
import type { ResolvedDeps, ToolSpec } from './tool-spec.js';

const SHOWN_PATHS = 100;

export function generatorTools(deps: ResolvedDeps): ToolSpec[] {
  const runGenerator: ToolSpec = {
    definition: {
      name: 'run_generator',
      inputSchema: {
        type: 'object',
        properties: {
          generator: { type: 'string', description: 'A generator name, e.g. "typescript-http", "python-http" or "go-http".' },
          allowDestructive: {
            type: 'boolean',
            description: 'Emit migrations that lose data (drop a column or table, change a type). Only when the user asked for it; without it such a change fails with DESTRUCTIVE_CHANGE and nothing is written.',
          },
        },
        additionalProperties: false,
      },
    },
    run: (call, ctx) =>
      once(ctx, call, async () => {
        try {
          const fields = fieldsOf('run_generator', call.input ?? {}, ['generator', 'allowDestructive']);
          const generator = text('run_generator', fields, 'generator', { maxBytes: 128, optional: true });
          const allowDestructive = boolean('run_generator', fields, 'allowDestructive');
          const report = await deps.generate.generate(ctx.principal, ctx.projectId, { generator, allowDestructive });
          const list = (paths: string[]) => paths.slice(0, SHOWN_PATHS).join('\n  ') + (paths.length > SHOWN_PATHS ? `\n  ... and ${paths.length - SHOWN_PATHS} more` : '');
          const parts = [`${report.generator} ${report.version}: ${report.written.length} file(s) written, ${report.unchanged} unchanged.`];
          if (report.written.length > 0) parts.push(`Written:\n  ${list(report.written)}`);
          if (report.conflicts.length > 0) {
            parts.push(
              `Conflicts (you edited these; the new version is beside each, merge it by hand and delete the .generated file):\n  ${list(report.conflicts.map((c) => `${c.path} -> ${c.besidePath}`))}`,
            );
          }
          if (report.kept.length > 0) parts.push(`Kept as edited (their generated version did not change, so no conflict):\n  ${list(report.kept)}`);
          if (report.orphaned.length > 0) parts.push(`No longer generated (left in place; delete them if unused):\n  ${list(report.orphaned)}`);
          if (report.warnings.length > 0) parts.push(`Warnings:\n  ${report.warnings.join('\n  ')}`);
          const changed = report.written;
          return ok(parts.join('\n'), { changedPaths: changed, display: { kind: 'files', paths: changed.slice(0, 500) } });
        } catch (err) {
          if (err instanceof AppError && err.code === 'UNPROCESSABLE') {
            const diagnostics = ((err.details as { diagnostics?: Diagnostic[] } | undefined)?.diagnostics ?? []).filter((d) => d.severity === 'error');
            if (diagnostics.length > 0) {
              return failed(`run_generator: ${err.message}. Nothing was generated. Fix the IR with update_ir:\n${formatDiagnostics(diagnostics)}`);
            }
          }
          if (err instanceof AppError && err.code === 'DESTRUCTIVE_CHANGE') {
            return failed(`run_generator: ${err.message}. Ask the user before passing allowDestructive: true.`);
          }
          return errorResult(err, 'run_generator failed');
        }
      }),
  };
  return [runGenerator];
}
