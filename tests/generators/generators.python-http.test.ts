/**
 * The Python generator's output: its files, deterministically; pinned requirements and a strict mypy.ini; per-aggregate files carrying
 * their aggregate's dependsOn; registered and the default for a python stack; every file valid Python for the
 * python sandbox's own interpreter (Debian's 3.11), names the IR allows but Python does not (keywords, BaseModel's
 * attributes, a context named like a fixed module) included. Its tests run against the real packages in
 * generated-app.python-http.test.ts (the sandbox reaches PyPI).
 */
import { chmodSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';
import { builtinGenerators, pythonHttpGenerator } from '../../services/generators/index.js';
import { STACK_COMMANDS } from '../../services/generators/stack-commands.js';
import { generate } from '../../services/generators/worker-tasks.js';
import { readModel, type Model } from '../../services/ir/index.js';
import { loadFixture, PROJECT_YAML } from '../helpers/ir-fixtures.js';
import { removeThrowaways, runInImage } from '../helpers/containers.js';
import { fixtureModel, writeTemp } from './helpers.js';

const LABEL = 'python-http';
let docker: Docker;
const temps: string[] = [];
beforeAll(() => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
});
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await removeThrowaways(docker, LABEL);
});

/**
 * Names that are fine in the IR and not as Python identifiers (fields, an aggregate named Class), an aggregate named
 * like the fixed test_service.py, in a context named like the engine module.
 */
function awkwardModel(): Model {
  const context = `bounded_context:
  name: Engine
  namespace: acme.engine
  aggregates:
    - name: Part
      root_entity:
        name: PartEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: class, type: string, validation: { pattern: "^(?<kind>[a-z]+)-\\\\k<kind>$" } }
          - { name: json, type: int, required: false }
          - { name: model_name, type: string, required: false }
    - name: Class
      root_entity: { name: ClassEntity, properties: [ { name: id, type: uuid, identifier: true } ] }
    - name: Service
      root_entity: { name: ServiceEntity, properties: [ { name: id, type: uuid, identifier: true } ] }
  commands:
    - { name: AddPart, aggregate: Part, parameters: [ { name: class, type: string } ], emits: [PartAdded] }
  events:
    - { name: PartAdded, aggregate: Part, payload: [ { name: partId, type: uuid } ] }
`;
  const reading = readModel({ 'ir/project.yaml': PROJECT_YAML, 'ir/contexts/engine.yaml': context });
  expect(reading.valid, JSON.stringify(reading.diagnostics)).toBe(true);
  return reading.model;
}

describe('python-http generator', () => {
  const library = pythonHttpGenerator.generate(fixtureModel('library'), {});
  const file = (path: string) => library.find((f) => f.path === path)!;

  it('writes the app, a module and a test per aggregate, and the shared migrations, deterministically', () => {
    expect(library.map((f) => f.path)).toEqual([
      '.gitignore',
      'app/__init__.py',
      'app/__main__.py',
      'app/aggregates.py',
      'app/engine.py',
      'app/lending/__init__.py',
      'app/lending/loan.py',
      'app/lending/member.py',
      'app/main.py',
      'app/migrations.py',
      'app/store.py',
      'app/types.py',
      'migrations/001_lending.sql',
      'migrations/schema.json',
      'mypy.ini',
      'openapi.json',
      'pytest.ini',
      'requirements.txt',
      'tests/__init__.py',
      'tests/conftest.py',
      'tests/test_loan.py',
      'tests/test_member.py',
      'tests/test_service.py',
    ]);
    expect(pythonHttpGenerator.generate(fixtureModel('library'), {})).toEqual(library);
    expect(pythonHttpGenerator.evolve).toBeTypeOf('function');
  });

  it('pins every requirement it names', () => {
    const lines = file('requirements.txt').content.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(lines.map((line) => line.split('==')[0])).toEqual(['fastapi', 'uvicorn', 'pydantic', 'psycopg[binary]', 'psycopg-pool', 'pytest', 'httpx', 'mypy']);
    for (const line of lines) expect(line).toMatch(/^[a-z-]+(\[binary\])?==\d+\.\d+\.\d+$/);
    expect(lines.find((line) => line.startsWith('pydantic=='))).toMatch(/^pydantic==2\./);
    expect(lines.find((line) => line.startsWith('psycopg['))).toMatch(/==3\./);
  });

  it('type-checks with mypy in strict mode and the pydantic plugin, the mypy its requirements pin', () => {
    const config = file('mypy.ini').content;
    expect(config).toMatch(/^\[mypy\]$/m);
    expect(config).toMatch(/^strict = True$/m);
    expect(config).toMatch(/^plugins = pydantic\.mypy$/m);
    expect(config).toMatch(/^python_version = 3\.11$/m);
    expect(file('mypy.ini').dependsOn).toEqual([]);
    expect(file('requirements.txt').content).toMatch(/^mypy==\d+\.\d+\.\d+$/m);
    expect(file('.gitignore').content).toContain('.mypy_cache/');
    expect(STACK_COMMANDS.python.typecheck).toBe('.venv/bin/mypy app tests');
  });

  it('puts the IR rules into the pydantic models and the SQL of sql-migrations.ts into migrations/', () => {
    const loan = file('app/lending/loan.py').content;
    expect(loan).toContain('isbn: Annotated[Text, Field(min_length=10, max_length=17, pattern="^[0-9X-]+$")]');
    expect(loan).toContain('renewals: Annotated[Int, Field(ge=0, le=3)]');
    expect(loan).toContain('returnedOn: Optional[Date] = None');
    expect(loan).toContain('"defaults": {"renewals": 0}');
    expect(file('migrations/001_lending.sql').content).toContain('"_version" INTEGER NOT NULL DEFAULT 1');
  });

  it("carries the IR's preconditions to the engine and tests both sides of them", () => {
    expect(file('app/lending/loan.py').content).toContain('"preconditions": [{"field": "returnedOn", "is": "unset"}]');
    const tests = file('tests/test_loan.py').content;
    expect(tests).toContain('def test_return_book_changes_a_loan_at_the_version_it_names(serve: Serve) -> None:');
    expect(tests).toContain('def test_return_book_refuses_a_loan_its_precondition_does_not_hold_for(serve: Serve) -> None:');
    expect(tests).toContain('assert res.json()["error"]["details"] == {"field": "returnedOn", "is": "unset"}');
  });

  it('gives per-aggregate files their aggregate\'s dependsOn and the fixed files none', () => {
    const loanDeps = file('app/lending/loan.py').dependsOn;
    expect(loanDeps).toEqual(expect.arrayContaining(['Lending/Loan', 'Lending/BorrowBook', 'Lending/ListMemberLoans']));
    expect(loanDeps).not.toContain('Lending/Member');
    expect(file('tests/test_loan.py').dependsOn).toEqual(loanDeps);
    expect(file('tests/test_member.py').dependsOn).toEqual(['Lending/Member']);
    for (const path of ['app/engine.py', 'app/store.py', 'app/main.py', 'app/migrations.py', 'requirements.txt']) expect(file(path).dependsOn).toEqual([]);
    expect(file('app/aggregates.py').dependsOn).toEqual(['*']);
  });

  it('tests that a create no parameter of which gives the required fields is refused (400), not stored with zero values', () => {
    const files = loadFixture('library');
    files['ir/contexts/lending.yaml'] = files['ir/contexts/lending.yaml']!.replace(
      /    - name: BorrowBook\n      aggregate: Loan\n      creates: true\n      parameters:\n(        - .*\n)+      emits: .*\n/,
      '    - { name: BorrowBook, aggregate: Loan, creates: true }\n',
    );
    const reading = readModel(files);
    expect(reading.diagnostics.map((d) => d.code)).toEqual(['COMMAND_MISSING_FIELDS']);
    const tests = pythonHttpGenerator.generate(reading.model, {}).find((f) => f.path === 'tests/test_loan.py')!.content;
    expect(tests).toContain('def test_borrow_book_refuses_to_create_a_loan_without_member_id_isbn_due_on(serve: Serve) -> None:');
    expect(tests).toContain('== ["/dueOn", "/isbn", "/memberId"]');
  });

  it('checks a Unicode-property pattern with the Rust engine of pydantic (Python re has no \\p{...}), other patterns with re', () => {
    const files = loadFixture('library');
    files['ir/contexts/lending.yaml'] = files['ir/contexts/lending.yaml']!.replace(
      'validation: { min_length: 2, max_length: 100 }',
      'validation: { min_length: 2, max_length: 100, pattern: "^\\\\p{Lu}[\\\\p{L} ]+$" }',
    );
    const reading = readModel(files);
    expect(reading.valid, JSON.stringify(reading.diagnostics)).toBe(true);
    const generated = pythonHttpGenerator.generate(reading.model, {});
    const member = generated.find((f) => f.path === 'app/lending/member.py')!.content;
    expect(member).toMatch(/class MemberEntity\(Model\):\n(.*\n)*?    model_config = ConfigDict\(regex_engine="rust-regex"\)\n/);
    expect(member).toContain('pattern="^\\\\p{Lu}[\\\\p{L} ]+$"');
    expect(generated.find((f) => f.path === 'app/lending/loan.py')!.content).not.toContain('rust-regex');
    expect(pythonHttpGenerator.generate(awkwardModel(), {}).find((f) => f.path === 'app/engine_context/part.py')!.content).not.toContain('rust-regex');
  });

  it('is registered and the default generator of a python stack', () => {
    expect(builtinGenerators().get('python-http')?.manifest).toMatchObject({ language: 'python', framework: 'fastapi' });
    const files = loadFixture('hr-leave');
    expect(files['ir/project.yaml']).toContain('runtime: python');
    const generation = generate({ ir: { files, unread: {} }, options: {} });
    expect(generation.generator.name).toBe('python-http');
    expect(generation.evolves).toBe(true);
    expect(generation.files.map((f) => f.path)).toContain('tests/test_leave_request.py');
  });

  it('keeps IR names Python cannot take as aliases, and a context named like a fixed module out of its way', () => {
    const files = pythonHttpGenerator.generate(awkwardModel(), {});
    const part = files.find((f) => f.path === 'app/engine_context/part.py')?.content ?? '';
    expect(part).toContain('class_: Annotated[Text, Field(pattern="^(?P<kind>[a-z]+)-(?P=kind)$")] = Field(alias="class")');
    expect(part).toContain('json_: Optional[Int] = Field(None, alias="json")');
    expect(part).toContain('model_name_: Optional[Text] = Field(None, alias="model_name")');
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['app/engine.py', 'app/engine_context/class_.py', 'tests/test_class.py', 'tests/test_engine_service.py', 'tests/test_service.py']));
    expect(files.find((f) => f.path === 'app/aggregates.py')?.content).toContain('from app.engine_context.class_ import AGGREGATE as ENGINE_CLASS');
  });

  it.each(['library', 'ecommerce', 'hr-leave', 'awkward names'])('the %s service is valid Python for the python sandbox\'s interpreter', async (name) => {
    const files = pythonHttpGenerator.generate(name === 'awkward names' ? awkwardModel() : fixtureModel(name), {});
    const dir = writeTemp(files, `py-${name.replace(/\W+/g, '-')}`);
    temps.push(dir);
    chmodSync(dir, 0o755); // the sandbox user (uid 1000) reads it through a read-only mount
    const script = `python3 -c '
import ast, pathlib, sys
files = sorted(pathlib.Path("/src").rglob("*.py"))
for path in files:
    ast.parse(path.read_text(), str(path))
print(sys.version.split()[0], len(files), "files parsed")
'`;
    const result = await runInImage(docker, sandboxImageName('python', inject('imageTag')), script, { label: LABEL, readOnly: [`${dir}:/src`] });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^3\.11\.\d+ \d+ files parsed/);
  }, 60_000);
});
