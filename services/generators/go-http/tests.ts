/** The generated Go test of one aggregate: its sample, each command (create, change, If-Match, preconditions), each query, get and list. */
import { camel, pascal, sampleValue, type AggregateView, type CommandView, type Precondition } from '../ir-view.js';
import { idSegment, routeOf, testSamples } from '../service-shape.js';
import { goString, varName } from './go-syntax.js';
import { GO_HEADER } from './runtime.js';

type Entity = Record<string, unknown>;

/** The sample changed so that every precondition of the command holds; undefined when no valid instance can satisfy them. */
function satisfying(a: AggregateView, c: CommandView, sample: Entity): Entity | undefined {
  const entity = { ...sample };
  for (const p of c.preconditions) {
    const field = a.entity.fields.find((f) => f.name === p.field);
    if (!field) return undefined;
    if ('is' in p) {
      if (p.is === 'unset' && field.required) return undefined;
      if (p.is === 'unset') delete entity[p.field];
      else entity[p.field] ??= sampleValue(field.desc, field.validation);
    } else if ('equals' in p) entity[p.field] = p.equals;
    else if (p.oneOf.length > 0) entity[p.field] = p.oneOf[0];
    else return undefined;
  }
  return entity;
}

/** The satisfying instance changed so that the precondition does not hold, when such a value is known. */
function violating(a: AggregateView, p: Precondition, entity: Entity): Entity | undefined {
  const field = a.entity.fields.find((f) => f.name === p.field)!;
  const numeric = field.desc.kind === 'scalar' && (field.desc.type === 'int' || field.desc.type === 'decimal');
  const other = (allowed: unknown[]): unknown => {
    if (field.desc.kind === 'enum') return field.desc.values.find((v) => !allowed.includes(v));
    if (field.desc.kind === 'scalar' && field.desc.type === 'bool') return allowed.includes(true) ? (allowed.includes(false) ? undefined : false) : true;
    if (!numeric) return undefined;
    // The first whole number from the rule's minimum on that the precondition does not allow and the rules do.
    const min = Math.ceil(field.validation?.min ?? 0);
    return Array.from({ length: allowed.length + 1 }, (_, i) => min + i).find((n) => !allowed.includes(n) && n <= (field.validation?.max ?? Infinity));
  };
  if ('is' in p) {
    if (p.is === 'unset') return { ...entity, [p.field]: sampleValue(field.desc, field.validation) };
    if (field.required) return undefined;
    const { [p.field]: _, ...rest } = entity;
    return rest;
  }
  const value = other('equals' in p ? [p.equals] : p.oneOf);
  return value === undefined ? undefined : { ...entity, [p.field]: value };
}

const json = (v: unknown): string => goString(JSON.stringify(v));

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

export function aggregateTestGo(a: AggregateView): string {
  const s = testSamples(a);
  const v = varName(a);
  const sampleVar = `${camel(a.name)}Sample`;
  const route = routeOf(a);
  // Another identifier than the sample's, for "no such instance"; none when the type gives only one sample value.
  const otherId = sampleValue(a.idDesc, undefined, 9);
  const unknownId = JSON.stringify(otherId) === JSON.stringify(s.entity[a.identifier]) ? undefined : otherId;
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
    const events = JSON.stringify(c.emits.map((e) => e.name));
    const name = `${pascal(a.name)}${pascal(c.name)}`;
    tests.push(`func Test${name}BadPayload(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${sampleVar})
		if got := call(t, "POST", server.URL+${JSON.stringify(url)}, ${goString(badBody)}); got.status != 400 || got.errorCode() != ${JSON.stringify(isJson(badBody) ? 'VALIDATION_FAILED' : 'MALFORMED_JSON')} {
			t.Fatal(got)
		}
	})
}`);
    if (missing.length > 0) {
      tests.push(`// ${c.name} has no parameter for ${missing.join(', ')}: it refuses to create ${a.name} without ${missing.length > 1 ? 'them' : 'it'}.
func Test${name}Refused(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${sampleVar})
		got := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(input)})
		if got.status != 400 || got.errorCode() != "VALIDATION_FAILED" {
			t.Fatal(got)
		}
		paths := []string{}
		for _, p := range got.body.(map[string]any)["error"].(map[string]any)["details"].([]any) {
			paths = append(paths, p.(map[string]any)["path"].(string))
		}
		if canonical(paths) != ${json(missing.map((m) => `/${m}`))} {
			t.Fatalf("problems at %v", paths)
		}
	})
}`);
      continue;
    }
    if (c.kind === 'create') {
      tests.push(`func Test${name}(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${sampleVar})
		got := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(input)})
		if got.status != 201 || got.header.Get("ETag") != \`"1"\` {
			t.Fatalf("%v (ETag %s)", got, got.header.Get("ETag"))
		}
		result := got.body.(map[string]any)
		if result["version"] != 1.0 || !eventTypes(result, ${goString(events)}) {
			t.Fatalf("result %v", result)
		}
		location := got.header.Get("Location")
		if !strings.HasPrefix(location, ${JSON.stringify(`${route}/`)}) {
			t.Fatalf("Location %q", location)
		}
		read := call(t, "GET", server.URL+location, "")
		if read.status != 200 || canonical(read.body) != canonical(result["entity"]) || read.header.Get("ETag") != \`"1"\` {
			t.Fatalf("read back %v, created %v", read, result["entity"])
		}
	})
}`);
      continue;
    }
    const seed = satisfying(a, c, s.entity);
    if (!seed) continue;
    const seedVar = `${sampleVar}For${pascal(c.name)}`;
    const unknownInput = unknownId === undefined ? undefined : { ...input, [c.idParam!]: unknownId };
    tests.push(`func Test${name}(t *testing.T) {
	${seedVar} := ${json(seed)}
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${seedVar})
		got := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(input)}, "If-Match", \`"1"\`)
		if got.status != 200 || got.header.Get("ETag") != \`"2"\` {
			t.Fatalf("%v (ETag %s)", got, got.header.Get("ETag"))
		}
		result := got.body.(map[string]any)
		if result["version"] != 2.0 || !eventTypes(result, ${goString(events)}) {
			t.Fatalf("result %v", result)
		}
		read := call(t, "GET", server.URL+${JSON.stringify(`${route}/${s.idSegment}`)}, "")
		if read.status != 200 || canonical(read.body) != canonical(result["entity"]) || read.header.Get("ETag") != \`"2"\` {
			t.Fatalf("read back %v, changed %v", read, result["entity"])
		}
		// The ETag it read before the change is stale now: nothing changes.
		stale := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(input)}, "If-Match", \`W/"1"\`)
		if stale.status != 409 || stale.errorCode() != "VERSION_CONFLICT" || canonical(stale.body.(map[string]any)["error"].(map[string]any)["details"]) != \`{"actual":2,"expected":1}\` {
			t.Fatal(stale)
		}${c.preconditions.length > 0 ? '' : `
		// Changes sent at the same moment queue on the instance: each applies, one version after another.
		for _, status := range concurrently(t, 4, "POST", server.URL+${JSON.stringify(url)}, ${json(input)}) {
			if status != 200 {
				t.Fatalf("concurrent change: status %d", status)
			}
		}
		if after := call(t, "GET", server.URL+${JSON.stringify(`${route}/${s.idSegment}`)}, ""); after.header.Get("ETag") != \`"6"\` {
			t.Fatalf("after 4 more changes: ETag %s", after.header.Get("ETag"))
		}`}${unknownInput === undefined ? '' : `
		if missing := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(unknownInput)}); missing.status != 404 || missing.errorCode() != "NOT_FOUND" {
			t.Fatal(missing)
		}`}
	})
}`);
    c.preconditions.forEach((p, i) => {
      const bad = violating(a, p, seed);
      if (!bad) return;
      tests.push(`func Test${name}Precondition${i + 1}(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${json(bad)})
		got := call(t, "POST", server.URL+${JSON.stringify(url)}, ${json(input)})
		if got.status != 409 || got.errorCode() != "PRECONDITION_FAILED" || canonical(got.body.(map[string]any)["error"].(map[string]any)["details"]) != canonical(decode(t, ${json(p)})) {
			t.Fatal(got)
		}
		if read := call(t, "GET", server.URL+${JSON.stringify(`${route}/${s.idSegment}`)}, ""); read.header.Get("ETag") != \`"1"\` {
			t.Fatalf("changed: %v", read)
		}
	})
}`);
    });
  }
  for (const { query: q, url } of s.queries) {
    const want = q.many ? `map[string]any{"items": []any{decode(t, ${sampleVar})}, "limit": 100, "offset": 0, "total": 1}` : `decode(t, ${sampleVar})`;
    tests.push(`func Test${pascal(a.name)}${pascal(q.name)}(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${sampleVar})
		got := call(t, "GET", server.URL+${JSON.stringify(url)}, "")
		if got.status != 200 || canonical(got.body) != canonical(${want}) {
			t.Fatal(got)
		}
	})
}`);
  }
  tests.push(`func Test${pascal(a.name)}GetAndList(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, ${v}, ${sampleVar})
		got := call(t, "GET", server.URL+${JSON.stringify(`${route}/${s.idSegment}`)}, "")
		if got.status != 200 || canonical(got.body) != canonical(decode(t, ${sampleVar})) || got.header.Get("ETag") != \`"1"\` {
			t.Fatalf("get: %v", got)
		}
		page := map[string]any{"items": []any{decode(t, ${sampleVar})}, "limit": 10, "offset": 0, "total": 1}
		if got := call(t, "GET", server.URL+${JSON.stringify(`${route}?limit=10`)}, ""); got.status != 200 || canonical(got.body) != canonical(page) {
			t.Fatalf("list: %v", got)
		}
		empty := map[string]any{"items": []any{}, "limit": 100, "offset": 1, "total": 1}
		if got := call(t, "GET", server.URL+${JSON.stringify(`${route}?offset=1`)}, ""); got.status != 200 || canonical(got.body) != canonical(empty) {
			t.Fatalf("offset=1: %v", got)
		}
		if got := call(t, "GET", server.URL+${JSON.stringify(`${route}?limit=0`)}, ""); got.status != 400 || got.errorCode() != "VALIDATION_FAILED" {
			t.Fatalf("limit=0: %v", got)
		}${unknownId === undefined ? '' : `
		if got := call(t, "GET", server.URL+${JSON.stringify(`${route}/${idSegment(unknownId)}`)}, ""); got.status != 404 || got.errorCode() != "NOT_FOUND" {
			t.Fatalf("unknown: %v", got)
		}`}
	})
}`);
  const body = tests.join('\n\n');
  const imports = ['"encoding/json"', ...(body.includes('strings.') ? ['"strings"'] : []), '"testing"'];
  return `${GO_HEADER}
package app

import (
${imports.map((i) => `\t${i}`).join('\n')}
)

const ${sampleVar} = ${json(s.entity)}

${body}
`;
}
