/** Per-aggregate files: the module (pydantic models with the IR's rules, and the data the engine runs) and its pytest file. */
import { sampleValue, snake, type AggregateView, type CommandView, type Desc, type Precondition } from '../ir-view.js';
import { aggregateData, idSegment, routeOf, testSamples } from '../service-shape.js';
import { ModelClasses, py, pyName } from './python-source.js';
import { PY_HEADER } from './runtime.js';

/** The package of a context and the module of an aggregate, e.g. `app.lending.loan`. */
const TAKEN = new Set(['aggregates', 'engine', 'main', 'migrations', 'store', 'types']);
/** A context's package under app/: an identifier (`import` is not one), never one of the fixed modules' names. */
export const contextPackage = (context: string): string => (TAKEN.has(snake(context)) ? `${snake(context)}_context` : pyName(snake(context)));
export const aggregateModule = (a: AggregateView): string => `app.${contextPackage(a.context)}.${pyName(snake(a.name))}`;
export const modulePath = (a: AggregateView): string => `${aggregateModule(a).replace(/\./g, '/')}.py`;

/** How a query-string or path value is read before validation: as the JSON its type is written in. */
function coerceKind(desc: Desc): string {
  if (desc.kind === 'scalar') return desc.type === 'int' || desc.type === 'decimal' || desc.type === 'bool' ? desc.type : 'text';
  return desc.kind === 'enum' ? 'text' : 'json';
}

function idPath(a: AggregateView): Record<string, string> {
  const d = a.idDesc;
  const only = d.kind === 'object' && d.fields.length === 1 ? d.fields[0]! : undefined;
  return only && (only.desc.kind === 'scalar' || only.desc.kind === 'enum') ? { field: only.name, kind: coerceKind(only.desc) } : { kind: coerceKind(d) };
}

/** The aggregate as data the engine runs (app/engine.py): routes, table, defaults, commands, queries. */
function engineSpec(a: AggregateView): Record<string, unknown> {
  const data = aggregateData(a);
  return {
    context: a.context,
    name: a.name,
    route: routeOf(a),
    identifier: a.identifier,
    idDesc: a.idDesc,
    idPath: idPath(a),
    table: data.table,
    eventsTable: data.eventsTable,
    defaults: data.defaults,
    nowFields: data.nowFields,
    commands: Object.fromEntries(
      a.commands.map((c) => [c.name, { kind: c.kind, ...(c.idParam ? { idParam: c.idParam } : {}), sets: c.sets, preconditions: c.preconditions, emits: c.emits }]),
    ),
    queries: Object.fromEntries(
      a.queries.map((q) => [q.name, { params: Object.fromEntries(q.input.fields.map((f) => [f.name, coerceKind(f.desc)])), filters: q.filters, many: q.many }]),
    ),
  };
}

export function aggregateModuleSource(a: AggregateView): string {
  const classes = new ModelClasses();
  const entity = classes.model(a.entity.name, a.entity.fields, `The root entity of ${a.name} (${a.context} context).`);
  const idField = a.entity.fields.find((f) => f.name === a.identifier);
  const idType = classes.type(a.idDesc, idField?.validation);
  const inputs = a.commands.map((c) => [c.name, classes.model(c.input.name, c.input.fields, `The input of ${c.name}.`)] as const);
  const params = a.queries.map((q) => [q.name, classes.model(q.input.name, q.input.fields, `The parameters of ${q.name}.`)] as const);
  const mapping = (pairs: ReadonlyArray<readonly [string, string]>) =>
    pairs.length ? `{\n${pairs.map(([k, v]) => `        ${JSON.stringify(k)}: ${v},`).join('\n')}\n    }` : '{}';
  return `${PY_HEADER}"""The ${a.name} aggregate of the ${a.context} context: its pydantic models (the IR's rules) and the data the engine runs."""
from typing import Annotated, Any, Literal, Optional  # noqa: F401

from pydantic import ConfigDict, Field  # noqa: F401

from app.engine import Aggregate
from app.types import Date, Int, Model, Text, Uuid, UtcDatetime  # noqa: F401


${classes.sources.join('\n\n')}

AGGREGATE = Aggregate(
    spec=${py(engineSpec(a), 4)},
    entity=${entity},
    id_type=${idType},
    inputs=${mapping(inputs)},
    params=${mapping(params)},
)
`;
}

type Entity = Record<string, unknown>;

/** Top-level nulls dropped: the service leaves an optional field without a value out of the entity. */
const withoutNulls = (entity: Entity): Entity => Object.fromEntries(Object.entries(entity).filter(([, v]) => v !== null && v !== undefined));

/**
 * The sample as a command's preconditions need it, and one they refuse (when the model allows making one):
 * `is: unset` on an optional field drops it, `equals`/`oneOf` take the value; a refused one breaks the first precondition.
 */
function preconditionSamples(a: AggregateView, c: CommandView, sample: Entity): { holds?: Entity; breaks?: { entity: Entity; precondition: Precondition } } {
  const optional = (name: string) => a.entity.fields.find((f) => f.name === name)?.required === false;
  const holds: Entity = { ...sample };
  for (const p of c.preconditions) {
    if ('is' in p) {
      if (p.is === 'unset') {
        if (!optional(p.field)) return {};
        delete holds[p.field];
      } else if (holds[p.field] === undefined) return {};
    } else if ('equals' in p) holds[p.field] = p.equals;
    else if (p.oneOf.length) holds[p.field] = p.oneOf[0];
    else return {};
  }
  const first = c.preconditions[0];
  if (!first) return { holds };
  const field = a.entity.fields.find((f) => f.name === first.field);
  const broken: Entity = { ...holds };
  if ('is' in first) {
    if (first.is === 'unset') broken[first.field] = sample[first.field];
    else if (optional(first.field)) delete broken[first.field];
    else return { holds };
  } else {
    const allowed = 'equals' in first ? [first.equals] : first.oneOf;
    const candidates = field?.desc.kind === 'enum' ? field.desc.values : field?.desc.kind === 'scalar' && field.desc.type === 'bool' ? [true, false] : [];
    const other = candidates.find((v) => !allowed.includes(v));
    if (other === undefined) return { holds };
    broken[first.field] = other;
  }
  return { holds, breaks: { entity: broken, precondition: first } };
}

const article = (word: string): string => (/^[AEIOU]/i.test(word) ? 'an' : 'a');

export function aggregateTestSource(a: AggregateView): string {
  const s = testSamples(a);
  const sample = withoutNulls(s.entity);
  const agg = snake(a.name);
  const getUrl = `${routeOf(a)}/${s.idSegment}`;
  const tests: string[] = [];
  tests.push(`def test_a_sample_${agg}_is_valid_and_an_empty_one_is_not() -> None:
    ENTITY.model_validate_json(json.dumps(SAMPLE))
    with pytest.raises(ValidationError):
        ENTITY.model_validate_json("{}")`);
  for (const { command: c, url, input, badBody, missing } of s.commands) {
    const name = snake(c.name);
    const events = c.emits.map((e) => e.name);
    const payload = `payload: JsonObject = ${py(input, 4)}`;
    const post = `client.post(${py(url)}, json=payload`;
    if (missing.length > 0) {
      tests.push(`def test_${name}_refuses_to_create_${article(a.name)}_${agg}_without_${missing.map(snake).join('_')}(serve: Serve) -> None:
    # No parameter of ${c.name} gives ${missing.join(', ')}, and no value would mean anything: refused, not stored.
    client = serve(AGGREGATE, SAMPLE)
    ${payload}
    res = ${post})
    assert res.status_code == 400, res.text
    assert sorted(p["path"] for p in res.json()["error"]["details"]) == ${py(missing.map((m) => `/${m}`).sort())}`);
    } else if (c.kind === 'create') {
      tests.push(`def test_${name}_creates_${article(a.name)}_${agg}(serve: Serve) -> None:
    client = serve(AGGREGATE, SAMPLE)
    ${payload}
    res = ${post})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["version"] == 1 and res.headers["etag"] == '"1"'
    assert [e["type"] for e in body["events"]] == ${py(events)}
    read = client.get(res.headers["location"])
    assert read.status_code == 200, read.text
    assert read.json() == body["entity"]
    assert read.headers["etag"] == '"1"'`);
    } else {
      const { holds, breaks } = preconditionSamples(a, c, sample);
      if (holds) {
        tests.push(`def test_${name}_changes_${article(a.name)}_${agg}_at_the_version_it_names(serve: Serve) -> None:
    client = serve(AGGREGATE, ${JSON.stringify(holds) === JSON.stringify(sample) ? 'SAMPLE' : py(holds, 4)})
    ${payload}
    res = ${post}, headers={"If-Match": '"1"'})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["version"] == 2 and res.headers["etag"] == '"2"'
    assert [e["type"] for e in body["events"]] == ${py(events)}
    read = client.get(${py(getUrl)})
    assert read.json() == body["entity"] and read.headers["etag"] == '"2"'
    # A writer that read version 1 is refused now: nothing changes.
    stale = ${post}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "VERSION_CONFLICT"
    assert stale.json()["error"]["details"] == {"expected": 1, "actual": 2}`);
      }
      if (breaks) {
        tests.push(`def test_${name}_refuses_${article(a.name)}_${agg}_its_precondition_does_not_hold_for(serve: Serve) -> None:
    client = serve(AGGREGATE, ${py(breaks.entity, 4)})
    ${payload}
    res = ${post})
    assert res.status_code == 409, res.text
    assert res.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert res.json()["error"]["details"] == ${py(breaks.precondition)}
    assert client.get(${py(getUrl)}).headers["etag"] == '"1"'`);
      }
      tests.push(`def test_${name}_of_an_unknown_${agg}_is_404(serve: Serve) -> None:
    client = serve()
    ${payload}
    res = ${post})
    assert res.status_code == 404, res.text
    assert res.json()["error"]["code"] == "NOT_FOUND"`);
    }
    tests.push(`def test_${name}_refuses_a_bad_payload_and_unknown_fields(serve: Serve) -> None:
    client = serve(AGGREGATE, SAMPLE)
    ${payload}
    res = client.post(${py(url)}, content=${py(badBody)}, headers={"content-type": "application/json"})
    assert res.status_code == 400, res.text
    assert res.json()["error"]["code"] in ("VALIDATION_FAILED", "MALFORMED_JSON")
    res = client.post(${py(url)}, json={**payload, "notAFieldOf${c.name}": 1})
    assert res.status_code == 400, res.text
    assert {"path": "/notAFieldOf${c.name}", "message": "is not a known field"} in res.json()["error"]["details"]`);
  }
  for (const { query: q, url } of s.queries) {
    tests.push(`def test_${snake(q.name)}_finds_the_stored_${agg}(serve: Serve) -> None:
    res = serve(AGGREGATE, SAMPLE).get(${py(url)})
    assert res.status_code == 200, res.text
    assert res.json() == ${q.many ? '{"items": [SAMPLE], "limit": 100, "offset": 0, "total": 1}' : 'SAMPLE'}`);
  }
  const otherId = sampleValue(a.idDesc, undefined, 9);
  const otherSegment = idSegment(otherId);
  tests.push(`def test_get_and_list_${agg}(serve: Serve) -> None:
    client = serve(AGGREGATE, SAMPLE)
    res = client.get(${py(getUrl)})
    assert res.status_code == 200, res.text
    assert res.json() == SAMPLE and res.headers["etag"] == '"1"'
    assert client.get(ROUTE + "?limit=10").json() == {"items": [SAMPLE], "limit": 10, "offset": 0, "total": 1}
    assert client.get(ROUTE + "?offset=1").json() == {"items": [], "limit": 100, "offset": 1, "total": 1}
    for bad in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
        res = client.get(f"{ROUTE}?{bad}")
        assert res.status_code == 400, bad
        assert res.json()["error"]["code"] == "VALIDATION_FAILED"${
          otherSegment !== s.idSegment
            ? `
    res = client.get(${py(`${routeOf(a)}/${otherSegment}`)})
    assert res.status_code == 404 and res.json()["error"]["code"] == "NOT_FOUND"`
            : ''
        }`);
  return `${PY_HEADER}"""Tests of the ${a.name} aggregate (${a.context} context): its model, commands, queries and endpoints."""
import json

import pytest
from pydantic import ValidationError

from ${aggregateModule(a)} import AGGREGATE
from app.types import JsonObject
from tests.conftest import Serve

ENTITY = AGGREGATE.entity
ROUTE = ${py(routeOf(a))}
SAMPLE: JsonObject = ${py(sample)}


${tests.join('\n\n\n')}
`;
}
