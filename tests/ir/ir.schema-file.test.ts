import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config.js';
import { irSchema } from '../../services/ir/index.js';

describe('published IR schema', () => {
  it('services/ir/ir.schema.json is the exported schema, written out', () => {
    const written: unknown = JSON.parse(readFileSync(path.join(repoRoot, 'services', 'ir', 'ir.schema.json'), 'utf8'));
    expect(written).toEqual(irSchema);
  });

  it('is a JSON Schema 2020-12 document', () => {
    expect(irSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});
