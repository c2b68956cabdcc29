/** The registry: built-ins arrive through the same `register` a third party uses; bad or duplicate plugins are refused. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { builtinGenerators, GeneratorRegistry, type Generator } from '../../services/generators/index.js';

const thirdParty: Generator = {
  manifest: { name: 'acme-docs', version: '1.0.0', language: 'markdown', framework: 'none', optionsSchema: { type: 'object' } },
  generate: (model) => [{ path: 'README.md', content: `# ${model.project?.name ?? ''}\n`, dependsOn: ['*'] }],
};

describe('generator registry', () => {
  it('holds the built-ins, registered like any plugin', () => {
    const registry = builtinGenerators();
    expect(registry.list().map((m) => m.name)).toEqual(['go-http', 'python-http', 'typescript-http']);
    expect(registry.get('typescript-http')?.manifest).toMatchObject({ language: 'typescript', framework: 'fastify' });
    expect(registry.get('python-http')?.manifest).toMatchObject({ language: 'python', framework: 'fastapi' });
    expect(registry.get('go-http')?.manifest).toMatchObject({ language: 'go', framework: 'net-http' });
    expect(registry.get('nope')).toBeUndefined();
  });

  it('takes a third-party generator and refuses a second one with the same name', () => {
    const registry = builtinGenerators();
    registry.register(thirdParty);
    expect(registry.get('acme-docs')).toBe(thirdParty);
    const again = (): void => registry.register({ ...thirdParty });
    expect(again).toThrowError(AppError);
    expect(again).toThrowError(/already registered/);
    const builtinAgain = (): void => registry.register(builtinGenerators().get('typescript-http')!);
    expect(builtinAgain).toThrowError(/already registered/);
  });

  it('refuses invalid manifests with the problems listed', () => {
    const registry = new GeneratorRegistry();
    const bad = (manifest: object): AppError => {
      try {
        registry.register({ manifest, generate: () => [] } as unknown as Generator);
      } catch (error) {
        return error as AppError;
      }
      throw new Error('accepted');
    };
    expect(bad({ ...thirdParty.manifest, name: 'Bad Name' })).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bad({ ...thirdParty.manifest, version: 'latest' }).details).toEqual({ problems: ['version must be semver (1.2.3)'] });
    expect(bad({ ...thirdParty.manifest, optionsSchema: { type: 'string' } }).code).toBe('VALIDATION_FAILED');
    expect(bad({ name: 'x' }).code).toBe('VALIDATION_FAILED');
    expect(registry.list()).toEqual([]);
  });
});
