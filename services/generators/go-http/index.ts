/**
 * The Go generator: the service of HTTP-CONTRACT.md on the standard library plus one module, github.com/lib/pq (pure
 * Go, for PostgreSQL through database/sql). Without DATABASE_URL it stores in memory; with it, in PostgreSQL, applying
 * the migrations of ../sql-migrations.ts (built into the binary) first. Migrations evolve with the model: a later
 * change adds a file, never rewrites one. It reads the IR through the shared view and registers like any third-party
 * generator.
 */
import { kebab, pascal, snake, viewModel, type AggregateView, type Desc, type Field } from '../ir-view.js';
import { openapi } from '../openapi.js';
import type { GeneratedFile, Generator } from '../plugin.js';
import { aggregateData } from '../service-shape.js';
import { evolveGeneratedMigrations, initialMigrationFiles } from '../sql-migrations.js';
import { goString, varName } from './go-syntax.js';
import { GO_HEADER, engineGo, helpersTestGo, httpGo, httpTestGo, runtimeGo } from './runtime.js';
import { memoryStoreGo, postgresStoreGo } from './storage.js';
import { aggregateTestGo } from './tests.js';

/**
 * The Go the output needs: the go sandbox has Debian's Go 1.19, so go.mod says 1.19 and the runtime uses nothing
 * newer (no min/max builtins, no slices/maps packages, no log/slog).
 */
export const GO_VERSION = '1.19';

/** lib/pq's last release, which builds with Go 1.19; its go.sum lines, so that builds verify what they download. */
const PQ = 'github.com/lib/pq v1.10.9';
const PQ_SUM = `${PQ} h1:YXG7RB+JIjhP29X+OtkiDnYaXQwpS4JEWq7dtCCRUEw=
${PQ}/go.mod h1:AlVN5x4E4T544tWzH6hKfbfQvm3HdbOxrmggDNAPY9o=
`;

function goType(field: Field): string {
  const d: Desc = field.desc;
  let t = 'any';
  if (d.kind === 'enum') t = 'string';
  if (d.kind === 'scalar') t = d.type === 'int' ? 'int64' : d.type === 'decimal' ? 'float64' : d.type === 'bool' ? 'bool' : 'string';
  if (d.kind === 'list') t = '[]any';
  return !field.required && t !== 'any' && t !== '[]any' ? `*${t}` : t;
}

const fileBase = (a: AggregateView): string => `${snake(a.name)}_model`;

function modelGo(a: AggregateView): string {
  // Columns aligned the way gofmt aligns them, so the output is already formatted.
  const rows = a.entity.fields.map((f) => [pascal(f.name), goType(f), `\`json:"${f.name}${f.required ? '' : ',omitempty'}"\``] as const);
  const w0 = Math.max(0, ...rows.map((r) => r[0].length));
  const w1 = Math.max(0, ...rows.map((r) => r[1].length));
  const fields = rows.map(([n, t, tag]) => `\t${n.padEnd(w0)} ${t.padEnd(w1)} ${tag}`);
  return `${GO_HEADER}
package app

// ${pascal(a.entity.name)} is the root entity of the ${a.name} aggregate (${a.context} context).
type ${pascal(a.entity.name)} struct {
${fields.join('\n')}
}

// ${varName(a)} is the ${a.name} aggregate as data the engine runs: shape, table, commands, queries.
var ${varName(a)} = mustAggregate(${goString(JSON.stringify(aggregateData(a), null, 2))})
`;
}

function mainGo(mod: string): string {
  return `${GO_HEADER}
package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	app "${mod}"
)

func main() {
	fitProcsToCPUQuota()
	store, storage, err := app.OpenStore(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatalf("storage: %v", err)
	}
	defer store.Close()
	log.Printf("storage: %s", storage)
	host, port := os.Getenv("HOST"), os.Getenv("PORT")
	if host == "" {
		host = "0.0.0.0"
	}
	if port == "" {
		port = "3000"
	}
	server := &http.Server{Addr: net.JoinHostPort(host, port), Handler: app.NewHandler(store), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on %s", server.Addr)
	log.Fatal(server.ListenAndServe())
}

// fitProcsToCPUQuota runs no more goroutines in parallel than the container's CPU quota allows (Go before 1.25 counts
// the host's cores: in a 1-CPU container on a bigger host the scheduler overruns the quota and is throttled, which
// shows as latency spikes). GOMAXPROCS, when set, wins.
func fitProcsToCPUQuota() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	quota, period := -1.0, 0.0
	if text, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil { // cgroup v2: "<quota|max> <period>"
		fields := strings.Fields(string(text))
		if len(fields) == 2 && fields[0] != "max" {
			quota, _ = strconv.ParseFloat(fields[0], 64)
			period, _ = strconv.ParseFloat(fields[1], 64)
		}
	} else if q, err := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil { // cgroup v1
		p, _ := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
		quota, _ = strconv.ParseFloat(strings.TrimSpace(string(q)), 64)
		period, _ = strconv.ParseFloat(strings.TrimSpace(string(p)), 64)
	}
	if quota <= 0 || period <= 0 {
		return
	}
	procs := int(quota / period)
	if float64(procs)*period < quota {
		procs++
	}
	if procs >= 1 && procs < runtime.NumCPU() {
		runtime.GOMAXPROCS(procs)
	}
}
`;
}

export const goHttpGenerator: Generator = {
  manifest: {
    name: 'go-http',
    version: '0.2.0',
    language: 'go',
    framework: 'net-http',
    optionsSchema: {
      type: 'object',
      properties: { module: { type: 'string', description: 'Go module path; defaults to the project name in kebab-case' } },
      additionalProperties: false,
    },
  },
  generate(model, options) {
    const contexts = viewModel(model);
    const mod = typeof options.module === 'string' ? options.module : kebab(model.project?.name ?? 'app') || 'app';
    const files: GeneratedFile[] = [
      { path: 'go.mod', content: `module ${mod}\n\ngo ${GO_VERSION}\n\nrequire ${PQ}\n`, dependsOn: ['*'] },
      { path: 'go.sum', content: PQ_SUM, dependsOn: [] },
      { path: 'openapi.json', content: openapi(model.project?.name ?? 'Service', contexts), dependsOn: ['*'] },
      { path: 'runtime.go', content: runtimeGo, dependsOn: [] },
      { path: 'engine.go', content: engineGo, dependsOn: [] },
      { path: 'http.go', content: httpGo, dependsOn: [] },
      { path: 'memory_store.go', content: memoryStoreGo, dependsOn: [] },
      { path: 'postgres_store.go', content: postgresStoreGo, dependsOn: [] },
      { path: 'helpers_test.go', content: helpersTestGo, dependsOn: [] },
      { path: 'http_test.go', content: httpTestGo, dependsOn: [] },
      { path: 'cmd/server/main.go', content: mainGo(mod), dependsOn: ['*'] },
      ...initialMigrationFiles(contexts),
      ...contexts.flatMap((c) =>
        c.aggregates.flatMap((a) => [
          { path: `${fileBase(a)}.go`, content: modelGo(a), dependsOn: a.dependsOn },
          { path: `${fileBase(a)}_test.go`, content: aggregateTestGo(a), dependsOn: a.dependsOn },
        ]),
      ),
    ];
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
  evolve: evolveGeneratedMigrations,
};
