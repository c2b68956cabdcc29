/**
 * Shared by the generators that store in PostgreSQL (the SQL is the same whatever language applies it).
 * Migrations that evolve with the model. `001_<context>.sql` is the initial schema; every later generation whose
 * storage differs from the schema the last migration produced adds one new file (`002_add_loan_returned_on.sql`)
 * and never rewrites an old one (it may already be applied somewhere). What the migrations add up to is kept in
 * `migrations/schema.json` (tables and columns as the model wants them, plus every migration's name and SQL, so
 * the old files are emitted again unchanged): the diff is between that snapshot and the current model's schema.
 * A rename is seen as a drop and an add. Destructive changes (drop table or column, type change, a column made
 * required, an enum value removed, a new primary key) are refused with DESTRUCTIVE_CHANGE unless allowed.
 */
import { AppError } from '../../lib/errors.js';
import type { AggregateView, ContextView } from './ir-view.js';
import { snake } from './ir-view.js';
import type { GeneratedFile } from './plugin.js';
import { columnKind, eventsTable, tableName } from './service-shape.js';

export const SCHEMA_PATH = 'migrations/schema.json';
const SQL_TYPES = { text: 'TEXT', int: 'INTEGER', decimal: 'NUMERIC', bool: 'BOOLEAN', date: 'DATE', datetime: 'TIMESTAMPTZ', uuid: 'UUID', json: 'JSONB' } as const;
const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface ColumnSchema {
  name: string;
  type: string;
  primaryKey?: true;
  notNull?: true;
  /** Enum values (a CHECK constraint). */
  values?: string[];
  /** A SQL literal every existing and new row starts with (then NOT NULL holds even when added later). */
  default?: string;
}

export interface TableSchema {
  name: string;
  context: string;
  /** The aggregate stored here; absent for a context's events table. */
  aggregate?: string;
  columns: ColumnSchema[];
}

export interface SchemaSnapshot {
  format: 1;
  tables: TableSchema[];
  migrations: Array<{ name: string; sql: string }>;
}

export interface DestructiveChange {
  table: string;
  column?: string;
  change: 'drop-table' | 'drop-column' | 'type' | 'required' | 'enum-value-removed' | 'primary-key';
  message: string;
}

function columnOf(a: AggregateView, f: AggregateView['entity']['fields'][number]): ColumnSchema {
  const column: ColumnSchema = { name: snake(f.name), type: SQL_TYPES[columnKind(f.desc)] };
  if (f.name === a.identifier) column.primaryKey = true;
  else if (f.required) column.notNull = true;
  if (f.desc.kind === 'enum' && f.desc.values.length) column.values = [...f.desc.values];
  return column;
}

/**
 * The column that counts an aggregate's saves, for optimistic concurrency (HTTP-CONTRACT.md): 1 when created, one
 * more per change. Its leading underscore keeps it apart from the model's own fields (a snake_case name never has one).
 */
export const VERSION_COLUMN: ColumnSchema = { name: '_version', type: 'INTEGER', notNull: true, default: '1' };

/** The tables the model wants, per context: its aggregates' tables, then its events table (the outbox). */
export function schemaOf(contexts: ContextView[]): TableSchema[] {
  return contexts.flatMap((ctx) => [
    ...ctx.aggregates.map((a) => ({
      name: tableName(a),
      context: ctx.name,
      aggregate: a.name,
      columns: [...a.entity.fields.map((f) => columnOf(a, f)), VERSION_COLUMN],
    })),
    { name: eventsTable(ctx.name), context: ctx.name, columns: [] },
  ]);
}

const checkSql = (c: ColumnSchema): string => (c.values ? `CHECK (${q(c.name)} IN (${c.values.map(sqlString).join(', ')}))` : '');

function columnSql(c: ColumnSchema, withConstraints = true): string {
  const parts = [q(c.name), c.type];
  if (c.primaryKey) parts.push('PRIMARY KEY');
  else if (c.notNull && (withConstraints || c.default !== undefined)) parts.push('NOT NULL');
  if (c.default !== undefined) parts.push(`DEFAULT ${c.default}`);
  if (c.values) parts.push(checkSql(c));
  return parts.join(' ');
}

function createTableSql(t: TableSchema): string {
  if (t.aggregate === undefined) {
    return `CREATE TABLE IF NOT EXISTS ${q(t.name)} (
  seq BIGSERIAL PRIMARY KEY,
  aggregate TEXT NOT NULL,
  aggregate_id JSONB NOT NULL,
  type TEXT NOT NULL,
  payload JSONB NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);`;
  }
  return `-- ${t.aggregate}: one row per aggregate; value objects, entities and lists are JSONB.
CREATE TABLE IF NOT EXISTS ${q(t.name)} (
${t.columns.map((c) => `  ${columnSql(c)}`).join(',\n')}
);`;
}

/** The initial migration of one context (`001_<context>.sql`). */
export function initialMigration(context: string, tables: TableSchema[]): string {
  const own = tables.filter((t) => t.context === context);
  const aggregates = own.filter((t) => t.aggregate !== undefined).map(createTableSql);
  const events = own.filter((t) => t.aggregate === undefined).map(createTableSql);
  return `-- Generated by Vaporform: the tables of the ${context} context.

${aggregates.join('\n\n')}

${events.join('\n\n')}
`;
}

/** Drops whatever CHECK constraints the column has (their names depend on how it was made) and adds the new one. */
function replaceCheckSql(table: string, c: ColumnSchema): string {
  const drop = `DO $$
DECLARE constraint_name name;
BEGIN
  FOR constraint_name IN
    SELECT con.conname FROM pg_constraint con
    JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
    WHERE con.conrelid = ${sqlString(q(table))}::regclass AND con.contype = 'c' AND att.attname = ${sqlString(c.name)}
  LOOP
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', ${sqlString(table)}, constraint_name);
  END LOOP;
END $$;`;
  return c.values ? `${drop}\nALTER TABLE ${q(table)} ADD ${checkSql(c)};` : drop;
}

interface Step {
  slug: string;
  sql: string;
  destructive?: DestructiveChange;
}

/** The steps from `before` to `after`, in a stable order: new tables, new columns, other changes, drops. */
export function migrationSteps(before: TableSchema[], after: TableSchema[]): Step[] {
  const steps: Step[] = [];
  const old = new Map(before.map((t) => [t.name, t] as const));
  const now = new Set(after.map((t) => t.name));
  for (const t of after) {
    const prev = old.get(t.name);
    if (!prev) {
      steps.push({ slug: `create_${t.name}`, sql: createTableSql(t) });
      continue;
    }
    const cols = new Map(prev.columns.map((c) => [c.name, c] as const));
    const kept = new Set(t.columns.map((c) => c.name));
    for (const c of t.columns) {
      const p = cols.get(c.name);
      const where = `${t.name}.${c.name}`;
      if (!p) {
        if (c.primaryKey) {
          steps.push({
            slug: `primary_key_${t.name}_${c.name}`,
            sql: `ALTER TABLE ${q(t.name)} ADD COLUMN ${columnSql(c)};`,
            destructive: { table: t.name, column: c.name, change: 'primary-key', message: `${t.name} gets a new identifier column ${c.name}: existing rows have none` },
          });
          continue;
        }
        // A required field new to an existing table: its old rows have no value, and the model gives no default.
        const note = c.notNull && c.default === undefined
          ? `-- ${c.name} is required by the model, but rows saved before this migration have no value and the model gives\n-- no default: the column stays nullable; the service requires it on every save from now on.\n`
          : '';
        steps.push({ slug: `add_${t.name}_${c.name}`, sql: `${note}ALTER TABLE ${q(t.name)} ADD COLUMN IF NOT EXISTS ${columnSql(c, false)};` });
        continue;
      }
      if (p.type !== c.type) {
        steps.push({
          slug: `alter_${t.name}_${c.name}_type`,
          sql: `ALTER TABLE ${q(t.name)} ALTER COLUMN ${q(c.name)} TYPE ${c.type} USING ${q(c.name)}::${c.type};`,
          destructive: { table: t.name, column: c.name, change: 'type', message: `${where} changes type from ${p.type} to ${c.type}: existing values may not convert` },
        });
      }
      if (Boolean(p.primaryKey) !== Boolean(c.primaryKey)) {
        steps.push({
          slug: `primary_key_${t.name}_${c.name}`,
          sql: c.primaryKey
            ? `ALTER TABLE ${q(t.name)} DROP CONSTRAINT IF EXISTS ${q(`${t.name}_pkey`)};\nALTER TABLE ${q(t.name)} ADD PRIMARY KEY (${q(c.name)});`
            : `ALTER TABLE ${q(t.name)} DROP CONSTRAINT IF EXISTS ${q(`${t.name}_pkey`)};`,
          destructive: { table: t.name, column: c.name, change: 'primary-key', message: `${where} ${c.primaryKey ? 'becomes' : 'is no longer'} the identifier` },
        });
      } else if (!c.primaryKey && Boolean(p.notNull) !== Boolean(c.notNull)) {
        steps.push(
          c.notNull
            ? {
                slug: `require_${t.name}_${c.name}`,
                sql: `ALTER TABLE ${q(t.name)} ALTER COLUMN ${q(c.name)} SET NOT NULL;`,
                destructive: { table: t.name, column: c.name, change: 'required', message: `${where} becomes required: rows without a value make the migration fail` },
              }
            : { slug: `optional_${t.name}_${c.name}`, sql: `ALTER TABLE ${q(t.name)} ALTER COLUMN ${q(c.name)} DROP NOT NULL;` },
        );
      }
      const [was, is] = [p.values ?? [], c.values ?? []];
      if (JSON.stringify(was) !== JSON.stringify(is)) {
        const removed = was.filter((v) => !is.includes(v));
        const added = is.filter((v) => !was.includes(v));
        steps.push({
          slug: added.length && !removed.length ? `add_${t.name}_${c.name}_${added.map((v) => snake(v)).join('_')}` : `change_${t.name}_${c.name}_values`,
          sql: replaceCheckSql(t.name, c),
          ...(removed.length && is.length
            ? { destructive: { table: t.name, column: c.name, change: 'enum-value-removed' as const, message: `${where} no longer allows ${removed.join(', ')}: rows holding ${removed.length > 1 ? 'them' : 'it'} make the migration fail` } }
            : {}),
        });
      }
    }
    for (const p of prev.columns) {
      if (kept.has(p.name)) continue;
      steps.push({
        slug: `drop_${t.name}_${p.name}`,
        sql: `ALTER TABLE ${q(t.name)} DROP COLUMN IF EXISTS ${q(p.name)};`,
        destructive: { table: t.name, column: p.name, change: 'drop-column', message: `${t.name}.${p.name} is no longer in the model: dropping it loses its data (a rename is a drop and an add)` },
      });
    }
  }
  for (const t of before) {
    if (now.has(t.name)) continue;
    steps.push({
      slug: `drop_${t.name}`,
      sql: `DROP TABLE IF EXISTS ${q(t.name)};`,
      destructive: { table: t.name, change: 'drop-table', message: `${t.name} is no longer in the model: dropping it loses its rows` },
    });
  }
  // New tables first, then new columns, then the rest, drops last: the file is named after its first step.
  const rank = (s: Step) => (s.slug.startsWith('create_') ? 0 : s.slug.startsWith('add_') && !s.destructive ? 1 : s.slug.startsWith('drop_') ? 3 : 2);
  return steps.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j).map(([s]) => s);
}

const isColumn = (c: unknown): c is ColumnSchema => {
  const col = c as Partial<ColumnSchema> | null;
  return (
    typeof col === 'object' && col !== null && typeof col.name === 'string' && typeof col.type === 'string' &&
    (Object.values(SQL_TYPES) as string[]).includes(col.type) &&
    (col.default === undefined || (typeof col.default === 'string' && /^(-?\d+|'(?:[^']|'')*')$/.test(col.default))) &&
    (col.values === undefined || (Array.isArray(col.values) && col.values.every((v) => typeof v === 'string')))
  );
};

/** The snapshot as the workspace holds it (untrusted): anything malformed is an error, never a fresh start. */
export function parseSnapshot(text: string): SchemaSnapshot {
  const invalid = (why: string) =>
    new AppError('UNPROCESSABLE', `${SCHEMA_PATH} ${why}; restore it (it records what the migrations already did) or remove migrations/ to start over`, {
      path: SCHEMA_PATH,
    });
  let data: Partial<SchemaSnapshot> | null;
  try {
    data = JSON.parse(text) as Partial<SchemaSnapshot> | null;
  } catch {
    throw invalid('is not valid JSON');
  }
  if (typeof data !== 'object' || data === null || data.format !== 1 || !Array.isArray(data.tables) || !Array.isArray(data.migrations)) {
    throw invalid('is not a schema snapshot (format 1)');
  }
  for (const t of data.tables as unknown[]) {
    const table = t as Partial<TableSchema> | null;
    if (typeof table !== 'object' || table === null || typeof table.name !== 'string' || typeof table.context !== 'string' || !Array.isArray(table.columns) || !table.columns.every(isColumn)) {
      throw invalid('holds a table that is not a name, a context and columns');
    }
  }
  for (const m of data.migrations as unknown[]) {
    const migration = m as { name?: unknown; sql?: unknown } | null;
    if (typeof migration !== 'object' || migration === null || typeof migration.name !== 'string' || !/^\d{3,}_[a-z0-9_]+\.sql$/.test(migration.name) || typeof migration.sql !== 'string') {
      throw invalid('holds a migration that is not a NNN_name.sql file and its SQL');
    }
  }
  return data as SchemaSnapshot;
}

const snapshotFile = (snapshot: SchemaSnapshot, dependsOn: string[]): GeneratedFile => ({
  path: SCHEMA_PATH,
  content: `${JSON.stringify(snapshot, null, 2)}\n`,
  dependsOn,
});

const COLUMN_LINE = /^  "([^"]+)" (TEXT|INTEGER|NUMERIC|BOOLEAN|DATE|TIMESTAMPTZ|UUID|JSONB)( PRIMARY KEY| NOT NULL)?(?: DEFAULT (-?\d+))?(?: CHECK \("[^"]+" IN \((.*)\)\))?,?$/;

/**
 * The snapshot of `001_` files written before snapshots existed (this generator's own format, read back), so that
 * such a project's next change is a new migration too. A file it cannot read is an error: rewriting it could not
 * reach a database it was applied to.
 */
export function snapshotFromSql(files: ReadonlyArray<readonly [string, string]>): SchemaSnapshot {
  const tables: TableSchema[] = [];
  for (const [path, sql] of files) {
    const context = path.replace(/^migrations\/001_|\.sql$/g, '');
    for (const match of sql.matchAll(/CREATE TABLE IF NOT EXISTS "([^"]+)" \(\n([\s\S]*?)\n\);/g)) {
      const [, name, body] = match as unknown as [string, string, string];
      if (body.startsWith('  seq BIGSERIAL PRIMARY KEY,')) {
        tables.push({ name, context, columns: [] });
        continue;
      }
      const columns = body.split('\n').map((line) => {
        const col = COLUMN_LINE.exec(line);
        if (!col) {
          throw new AppError('UNPROCESSABLE', `${path} was generated before migrations/schema.json existed and was edited since: its line "${line.trim()}" cannot be read back; write migrations/schema.json by hand or remove migrations/ to start over`, { path });
        }
        const column: ColumnSchema = { name: col[1]!, type: col[2]! };
        if (col[3] === ' PRIMARY KEY') column.primaryKey = true;
        if (col[3] === ' NOT NULL') column.notNull = true;
        if (col[4] !== undefined) column.default = col[4];
        if (col[5] !== undefined) column.values = [...col[5].matchAll(/'((?:[^']|'')*)'/g)].map((v) => v[1]!.replace(/''/g, "'"));
        return column;
      });
      tables.push({ name, context, aggregate: name, columns });
    }
  }
  return { format: 1, tables, migrations: files.map(([path, sql]) => ({ name: path.slice('migrations/'.length), sql })) };
}

/** The first generation's migrations: `001_<context>.sql` each, and the snapshot of the schema they make. */
export function initialMigrationFiles(contexts: ContextView[]): GeneratedFile[] {
  const tables = schemaOf(contexts);
  const migrations = contexts.map((c) => ({ name: `001_${snake(c.name)}.sql`, sql: initialMigration(c.name, tables) }));
  const deps = (c: ContextView) => [...new Set(c.aggregates.flatMap((a) => a.dependsOn))].sort();
  return [
    ...contexts.map((c, i) => ({ path: `migrations/${migrations[i]!.name}`, content: migrations[i]!.sql, dependsOn: deps(c) })),
    snapshotFile({ format: 1, tables, migrations }, ['*']),
  ];
}

/**
 * The migration files once a snapshot exists: the old ones as they were, plus one new file for the steps from the
 * snapshot's schema to `tables` (none when storage did not change), and the new snapshot. Throws DESTRUCTIVE_CHANGE,
 * so that nothing is written, when a step would lose data and `allowDestructive` is not set.
 */
export function evolvedMigrationFiles(tables: TableSchema[], previous: string, options: { allowDestructive: boolean }): GeneratedFile[] {
  const snapshot = parseSnapshot(previous);
  const steps = migrationSteps(snapshot.tables, tables);
  const destructive = steps.flatMap((s) => (s.destructive ? [s.destructive] : []));
  if (destructive.length > 0 && !options.allowDestructive) {
    throw new AppError(
      'DESTRUCTIVE_CHANGE',
      `The model change would lose data (${destructive.map((d) => d.message).join('; ')}); nothing was generated. Generate again with allowDestructive: true to emit it, or undo the change`,
      { changes: destructive },
    );
  }
  const migrations = [...snapshot.migrations];
  if (steps.length > 0) {
    const last = Math.max(0, ...migrations.map((m) => Number.parseInt(m.name, 10)));
    const first = steps[0]!.slug;
    const slug = (steps.length === 1 ? first : `${first}_and_${steps.length - 1}_more`).replace(/[^a-z0-9_]+/g, '_').slice(0, 80);
    const name = `${String(last + 1).padStart(3, '0')}_${slug}.sql`;
    const header = `-- Generated by Vaporform: the model's changes since ${migrations.at(-1)?.name ?? 'the start'}.\n-- Never rewritten once generated; a later change gets a new file.\n`;
    const body = steps.map((s) => `${s.destructive ? `-- DESTRUCTIVE (allowed): ${s.destructive.message}\n` : ''}${s.sql}`).join('\n\n');
    migrations.push({ name, sql: `${header}\n${body}\n` });
  }
  return [...migrations.map((m) => ({ path: `migrations/${m.name}`, content: m.sql, dependsOn: ['*'] })), snapshotFile({ format: 1, tables, migrations }, ['*'])];
}

/**
 * Fits a fresh generation to the workspace's migrations: without a snapshot there it is the first generation and
 * stays as it is; with one, the fresh `001_` files give way to the old migrations plus what changed.
 */
export function evolveGeneratedMigrations(files: GeneratedFile[], current: ReadonlyMap<string, string>, options: { allowDestructive: boolean }): GeneratedFile[] {
  const fresh = files.find((f) => f.path === SCHEMA_PATH);
  if (fresh === undefined) return files;
  const tables = (JSON.parse(fresh.content) as SchemaSnapshot).tables;
  const initial = files.filter((f) => /^migrations\/001_[^/]+\.sql$/.test(f.path));
  // A workspace generated before the snapshot existed: its 001 files (as they are there) are the baseline.
  const legacy = initial.filter((f) => current.has(f.path) && current.get(f.path) !== f.content);
  const previous = current.get(SCHEMA_PATH) ?? (legacy.length > 0 ? JSON.stringify(snapshotFromSql(initial.flatMap((f) => (current.has(f.path) ? [[f.path, current.get(f.path)!] as const] : [])))) : undefined);
  if (previous === undefined) return files;
  const isMigration = (path: string) => path === SCHEMA_PATH || /^migrations\/[^/]+\.sql$/.test(path);
  return [...files.filter((f) => !isMigration(f.path)), ...evolvedMigrationFiles(tables, previous, options)].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
}
