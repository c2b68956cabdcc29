/**
 * read_ir and update_ir: the project's domain model through the IR service. A change is written only when the
 * model stays valid (all of it or nothing, under the project's IR lock); otherwise the model gets the
 * diagnostics, each with its file, line and suggested fix, and nothing is written.
 */
import { AppError } from '../../../lib/errors.js';
import { IR_LIMITS, type Diagnostic, type Model, type ModelDiff } from '../../ir/index.js';
import { fieldsOf } from './inputs.js';
import { once, sha256 } from './journal.js';
import { errorResult, failed, ok, ToolInputError } from './results.js';
import type { ResolvedDeps, ToolSpec } from './tool-spec.js';

const SHOWN_DIAGNOSTICS = 50;
const SHOWN_DIFF = 60;

/** One line per element kind: "2 contexts (sales, billing), 5 aggregates, 9 commands, ...". */
export function summarizeModel(model: Model): string {
  const contexts = model.contexts.map((entry) => entry.context);
  const count = (pick: (context: (typeof contexts)[number]) => unknown[]) => contexts.reduce((sum, context) => sum + pick(context).length, 0);
  const name = model.project ? `${model.project.name} (${model.project.stack.runtime})` : 'no project file';
  const contextNames = contexts.map((context) => context.name).slice(0, 20).join(', ');
  return (
    `${name}: ${contexts.length} bounded context(s)${contexts.length > 0 ? ` (${contextNames}${contexts.length > 20 ? ', ...' : ''})` : ''}, ` +
    `${count((c) => c.aggregates)} aggregate(s), ${count((c) => c.commands)} command(s), ${count((c) => c.events)} event(s), ` +
    `${count((c) => c.queries)} query(ies)`
  );
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const lines = diagnostics.slice(0, SHOWN_DIAGNOSTICS).map((d) => {
    const fix = d.suggestion ? ` (suggestion: ${d.suggestion.message}${d.suggestion.replacement !== undefined ? ` -> ${JSON.stringify(d.suggestion.replacement)}` : ''})` : '';
    return `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code}: ${d.message}${fix}`;
  });
  if (diagnostics.length > SHOWN_DIAGNOSTICS) lines.push(`... and ${diagnostics.length - SHOWN_DIAGNOSTICS} more`);
  return lines.join('\n');
}

function formatDiff(diff: ModelDiff): string {
  if (diff.changes.length === 0) return 'The model is unchanged (only formatting or comments differ).';
  const lines = diff.changes.slice(0, SHOWN_DIFF).map((entry) => `${entry.change} ${entry.element} ${entry.path}${entry.field ? ` (${entry.field})` : ''}`);
  if (diff.changes.length > SHOWN_DIFF) lines.push(`... and ${diff.changes.length - SHOWN_DIFF} more`);
  return lines.join('\n');
}

/** The `changes` of update_ir: path -> whole new text, or null to delete. */
export function readChanges(input: unknown): Record<string, string | null> {
  const fields = fieldsOf('update_ir', input, ['changes']);
  const changes = fields.changes;
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) {
    throw new ToolInputError('update_ir needs "changes": an object mapping IR file paths (ir/....yaml) to their whole new text, or null to delete the file');
  }
  const entries = Object.entries(changes as Record<string, unknown>);
  if (entries.length === 0) throw new ToolInputError('update_ir: "changes" names no file');
  if (entries.length > IR_LIMITS.maxFiles) throw new ToolInputError(`update_ir: at most ${IR_LIMITS.maxFiles} files per change`);
  let total = 0;
  const out: Record<string, string | null> = {};
  for (const [path, value] of entries) {
    if (value !== null && typeof value !== 'string') {
      throw new ToolInputError(`update_ir: the value for ${JSON.stringify(path.slice(0, 200))} must be the file's whole text (a string) or null to delete it`);
    }
    if (typeof value === 'string') {
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes > IR_LIMITS.maxFileBytes) throw new ToolInputError(`update_ir: ${path.slice(0, 200)} is ${bytes} bytes; an IR file may be at most ${IR_LIMITS.maxFileBytes}`);
      total += bytes;
    }
    out[path.startsWith('/workspace/') ? path.slice('/workspace/'.length) : path] = value;
  }
  if (total > IR_LIMITS.maxTotalBytes) throw new ToolInputError(`update_ir: the change holds ${total} bytes; the IR may hold at most ${IR_LIMITS.maxTotalBytes}`);
  return out;
}

export function irTools(deps: ResolvedDeps): ToolSpec[] {
  const readIr: ToolSpec = {
    definition: {
      name: 'read_ir',
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    },
    async run(call, ctx) {
      try {
        fieldsOf('read_ir', call.input ?? {}, []);
        const input = await deps.ir.input(ctx.principal, ctx.projectId);
        const paths = Object.keys(input.files);
        if (paths.length === 0 && Object.keys(input.unread).length === 0) {
          return ok(
            'The project has no IR yet (no ir/**/*.yaml file). Create it with update_ir: ir/project.yaml with `project:` ' +
              '(name, stack: {runtime}) and one file per bounded context (`bounded_context:` with name, namespace, aggregates, commands, events, queries).',
            { display: { kind: 'ir', summary: 'no IR yet', diagnostics: 0 } },
          );
        }
        const reading = await deps.ir.read(ctx.principal, ctx.projectId);
        const summary = summarizeModel(reading.model);
        const parts = [`Summary: ${summary}`, `Valid: ${reading.valid ? 'yes' : 'no'}`];
        if (reading.diagnostics.length > 0) parts.push(`Diagnostics:\n${formatDiagnostics(reading.diagnostics)}`);
        for (const [path, why] of Object.entries(input.unread)) parts.push(`--- ${path}: not read (${why})`);
        for (const path of paths.sort()) parts.push(`--- ${path}\n${input.files[path]}`);
        return ok(parts.join('\n\n'), {
          display: { kind: 'ir', summary, diagnostics: reading.diagnostics.length },
          hint: 'read the files that were cut with read_file',
        });
      } catch (err) {
        return errorResult(err, 'read_ir failed');
      }
    },
  };

  const updateIr: ToolSpec = {
    definition: {
      name: 'update_ir',
      inputSchema: {
        type: 'object',
        properties: {
          changes: {
            type: 'object',
            description: 'IR file path (under ir/, ending in .yaml) -> its complete new text, or null to delete it.',
            additionalProperties: { type: ['string', 'null'] },
          },
        },
        required: ['changes'],
        additionalProperties: false,
      },
    },
    run: (call, ctx) =>
      once(ctx, call, async (journal) => {
        try {
          const changes = readChanges(call.input);
          const fingerprint = sha256(JSON.stringify(Object.entries(changes).sort(([a], [b]) => (a < b ? -1 : 1))));
          if (journal.previous?.fingerprint === fingerprint) {
            // An earlier attempt got as far as writing: if the workspace holds the change, it is done.
            const input = await deps.ir.input(ctx.principal, ctx.projectId);
            const applied = Object.entries(changes).every(([path, text]) => (text === null ? !(path in input.files) : input.files[path] === text));
            if (applied) {
              const paths = Object.keys(changes).sort();
              return (
                (journal.previous.result as ReturnType<typeof ok> | null) ??
                ok(`The IR change was written (${paths.join(', ')}).`, { changedPaths: paths, display: { kind: 'ir', summary: `${paths.length} file(s) changed` } })
              );
            }
          }
          let outcome;
          try {
            await journal.intend({ fingerprint, result: null });
            outcome = await deps.ir.apply(ctx.principal, ctx.projectId, changes);
          } catch (err) {
            if (err instanceof AppError && err.code === 'UNPROCESSABLE') {
              const diagnostics = ((err.details as { diagnostics?: Diagnostic[] } | undefined)?.diagnostics ?? []).filter((d) => d.severity === 'error');
              return failed(
                `update_ir refused: the model would be invalid, so nothing was written. Fix these and send the change again:\n${formatDiagnostics(diagnostics)}`,
                { kind: 'ir', summary: 'change refused: invalid model', diagnostics: diagnostics.length },
              );
            }
            throw err;
          }
          const paths = Object.keys(changes).sort();
          const warnings = outcome.diagnostics.filter((d) => d.severity !== 'error');
          const result = ok(
            `The IR change was written (${paths.join(', ')}).\nWhat changed in the model:\n${formatDiff(outcome.diff)}` +
              (warnings.length > 0 ? `\nWarnings:\n${formatDiagnostics(warnings)}` : ''),
            {
              changedPaths: paths,
              display: { kind: 'ir', summary: `${outcome.diff.changes.length} model change(s) in ${paths.length} file(s)`, diagnostics: warnings.length },
            },
          );
          await journal.intend({ fingerprint, result });
          return result;
        } catch (err) {
          return errorResult(err, 'update_ir failed');
        }
      }),
  };

  return [readIr, updateIr];
}
