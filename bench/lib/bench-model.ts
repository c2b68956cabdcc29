/** The generated-model benchmarks' IR: `contexts` contexts of `aggregatesPerContext` aggregates each, with a command, event and query per aggregate. */
export function contextYaml(c: number, aggregatesPerContext: number, changed?: string): string {
  const aggregates: string[] = [];
  const commands: string[] = [];
  const events: string[] = [];
  const queries: string[] = [];
  for (let a = 1; a <= aggregatesPerContext; a++) {
    const name = `Item${c}x${a}`;
    const extra = name === changed ? '\n          - { name: priority, type: int, required: false }' : '';
    aggregates.push(`    - name: ${name}
      root_entity:
        name: ${name}Entity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: title, type: string, validation: { max_length: 200 } }
          - { name: status, type: Status }
          - { name: price, type: Money }
          - { name: createdAt, type: datetime }${extra}`);
    commands.push(`    - { name: Create${name}, aggregate: ${name}, parameters: [ { name: title, type: string }, { name: price, type: Money } ], emits: [${name}Created] }`);
    events.push(`    - { name: ${name}Created, aggregate: ${name}, payload: [ { name: id, type: uuid } ] }`);
    queries.push(`    - { name: Get${name}, parameters: [ { name: id, type: uuid } ], result: ${name} }`);
  }
  return `bounded_context:
  name: Area${c}
  namespace: bench.area${c}
  enums:
    - { name: Status, values: [OPEN, DONE] }
  value_objects:
    - name: Money
      properties: [ { name: amount, type: decimal }, { name: currency, type: string } ]
  aggregates:
${aggregates.join('\n')}
  commands:
${commands.join('\n')}
  events:
${events.join('\n')}
  queries:
${queries.join('\n')}
`;
}

export function model(contexts: number, aggregatesPerContext: number, changed?: string): Record<string, string> {
  const files: Record<string, string> = { 'ir/project.yaml': 'project:\n  name: Bench\n  stack: { runtime: node }\n' };
  for (let c = 1; c <= contexts; c++) files[`ir/contexts/area${c}.yaml`] = contextYaml(c, aggregatesPerContext, changed);
  return files;
}
