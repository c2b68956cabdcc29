/**
 * The Go generator: the same service shape on the standard library only (net/http, encoding/json, testing),
 * so `go test ./...` runs offline with no module downloads. It proves the plugin boundary: it reads the IR
 * through the shared view and registers like any third-party generator.
 */
import { camel, kebab, pascal, snake, viewModel, type AggregateView, type Desc, type Field } from '../ir-view.js';
import type { GeneratedFile, Generator } from '../plugin.js';
import { aggregateData, routeOf, testSamples } from '../service-shape.js';
import { GO_HEADER, helpersTestGo, runtimeGo } from './runtime.js';

/**
 * The Go the output needs: the go sandbox has Debian's Go 1.19, so go.mod says 1.19 and the runtime uses nothing
 * newer (no min/max builtins, no slices/maps packages, no log/slog).
 */
export const GO_VERSION = '1.19';

/** A Go string literal: raw when possible (JSON escapes are valid Go escapes otherwise). */
const goString = (s: string): string => (s.includes('`') ? JSON.stringify(s) : `\`${s}\``);

function goType(field: Field): string {
  const d: Desc = field.desc;
  let t = 'any';
  if (d.kind === 'enum') t = 'string';
  if (d.kind === 'scalar') t = d.type === 'int' ? 'int64' : d.type === 'decimal' ? 'float64' : d.type === 'bool' ? 'bool' : 'string';
  if (d.kind === 'list') t = '[]any';
  return !field.required && t !== 'any' && t !== '[]any' ? `*${t}` : t;
}

const fileBase = (a: AggregateView): string => `${snake(a.name)}_model`;
const varName = (a: AggregateView): string => `${camel(a.name)}Aggregate`;

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

// ${varName(a)} is the ${a.name} aggregate as data the engine runs: shape, commands, queries.
var ${varName(a)} = mustAggregate(${goString(JSON.stringify(aggregateData(a), null, 2))})
`;
}

function testGo(a: AggregateView): string {
  const s = testSamples(a);
  const v = varName(a);
  const sampleVar = `${camel(a.name)}Sample`;
  const tests: string[] = [
    `func Test${pascal(a.name)}SampleIsValid(t *testing.T) {
	if problems := Validate(${v}.Entity, decode(t, ${sampleVar})); len(problems) > 0 {
		t.Fatal(problems)
	}
	if problems := Validate(${v}.Entity, map[string]any{}); len(problems) == 0 {
		t.Fatal("an empty ${a.name} passed validation")
	}
	var typed ${pascal(a.entity.name)}
	if err := json.Unmarshal([]byte(${sampleVar}), &typed); err != nil {
		t.Fatal(err)
	}
}`,
  ];
  for (const { command: c, url, input, badBody, missing } of s.commands) {
    const events = c.emits.map((e) => e.name);
    if (missing.length > 0) {
      tests.push(`// ${c.name} has no parameter for ${missing.join(', ')}: it refuses to create ${a.name} without ${missing.length > 1 ? 'them' : 'it'}.
func Test${pascal(a.name)}${pascal(c.name)}Refused(t *testing.T) {
	server, _ := start(t, ${v}, ${sampleVar})
	status, body := call(t, "POST", server.URL+${JSON.stringify(url)}, ${goString(JSON.stringify(input))})
	if status != 400 {
		t.Fatalf("status %d: %v", status, body)
	}
	paths := []string{}
	for _, p := range body.(map[string]any)["error"].(map[string]any)["details"].([]any) {
		paths = append(paths, p.(map[string]any)["path"].(string))
	}
	if canonical(paths) != ${goString(JSON.stringify(missing.map((m) => `/${m}`)))} {
		t.Fatalf("problems at %v", paths)
	}
}`);
    } else {
      tests.push(`func Test${pascal(a.name)}${pascal(c.name)}(t *testing.T) {
	server, store := start(t, ${v}, ${sampleVar})
	status, body := call(t, "POST", server.URL+${JSON.stringify(url)}, ${goString(JSON.stringify(input))})
	if status != ${c.idParam ? 200 : 201} {
		t.Fatalf("status %d: %v", status, body)
	}
	result := body.(map[string]any)
	entity := result["entity"].(map[string]any)
	stored, ok := store.Get(${v}, entity[${v}.Identifier])
	if !ok || canonical(stored) != canonical(entity) {
		t.Fatalf("stored %v, returned %v", stored, entity)
	}
	types := []any{}
	for _, e := range result["events"].([]any) {
		types = append(types, e.(map[string]any)["type"])
	}
	if canonical(types) != ${goString(JSON.stringify(events))} {
		t.Fatalf("events %v", result["events"])
	}
}`);
    }
    tests.push(`func Test${pascal(a.name)}${pascal(c.name)}BadPayload(t *testing.T) {
	server, _ := start(t, ${v}, ${sampleVar})
	if status, body := call(t, "POST", server.URL+${JSON.stringify(url)}, ${goString(badBody)}); status != 400 {
		t.Fatalf("status %d: %v", status, body)
	}
}`);
  }
  for (const { query: q, url } of s.queries) {
    tests.push(`func Test${pascal(a.name)}${pascal(q.name)}(t *testing.T) {
	server, _ := start(t, ${v}, ${sampleVar})
	status, body := call(t, "GET", server.URL+${JSON.stringify(url)}, "")
	if status != 200 {
		t.Fatalf("status %d: %v", status, body)
	}
	var want any = decode(t, ${sampleVar})
${q.many ? '\twant = []any{want}\n' : ''}	if canonical(body) != canonical(want) {
		t.Fatalf("got %v, want %v", body, want)
	}
}`);
  }
  tests.push(`func Test${pascal(a.name)}GetAndList(t *testing.T) {
	server, _ := start(t, ${v}, ${sampleVar})
	status, body := call(t, "GET", server.URL+${JSON.stringify(`${routeOf(a)}/${s.idSegment}`)}, "")
	if status != 200 || canonical(body) != canonical(decode(t, ${sampleVar})) {
		t.Fatalf("get: status %d: %v", status, body)
	}
	status, body = call(t, "GET", server.URL+${JSON.stringify(`${routeOf(a)}?limit=10`)}, "")
	if status != 200 || canonical(body) != canonical([]any{decode(t, ${sampleVar})}) {
		t.Fatalf("list: status %d: %v", status, body)
	}
	if status, body := call(t, "GET", server.URL+${JSON.stringify(`${routeOf(a)}?limit=0`)}, ""); status != 400 {
		t.Fatalf("limit=0: status %d: %v", status, body)
	}
}`);
  return `${GO_HEADER}
package app

import (
	"encoding/json"
	"testing"
)

const ${sampleVar} = ${goString(JSON.stringify(s.entity))}

${tests.join('\n\n')}
`;
}

export const goHttpGenerator: Generator = {
  manifest: {
    name: 'go-http',
    version: '0.1.0',
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
    const main = `${GO_HEADER}
package main

import (
	"log"
	"net/http"
	"os"

	app "${mod}"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	log.Printf("listening on %s", port)
	log.Fatal(http.ListenAndServe(":"+port, app.NewHandler(app.NewStore())))
}
`;
    const files: GeneratedFile[] = [
      { path: 'go.mod', content: `module ${mod}\n\ngo ${GO_VERSION}\n`, dependsOn: ['*'] },
      { path: 'runtime.go', content: runtimeGo, dependsOn: [] },
      { path: 'helpers_test.go', content: helpersTestGo, dependsOn: [] },
      { path: 'cmd/server/main.go', content: main, dependsOn: ['*'] },
      ...contexts.flatMap((c) =>
        c.aggregates.flatMap((a) => [
          { path: `${fileBase(a)}.go`, content: modelGo(a), dependsOn: a.dependsOn },
          { path: `${fileBase(a)}_test.go`, content: testGo(a), dependsOn: a.dependsOn },
        ]),
      ),
    ];
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
};
