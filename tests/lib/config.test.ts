import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', JWT_SECRET: 'x'.repeat(32) };

describe('configuration', () => {
  it('reads PREVIEW_ORIGIN as a wildcard origin, unset by default', () => {
    expect(loadConfig(base).previewOrigin).toBeUndefined();
    expect(loadConfig({ ...base, PREVIEW_ORIGIN: 'https://*.preview.Example.com' }).previewOrigin).toEqual({
      scheme: 'https',
      hostSuffix: '.preview.example.com',
      port: '',
    });
    expect(loadConfig({ ...base, PREVIEW_ORIGIN: 'http://*.p.localhost:4100/' }).previewOrigin).toEqual({
      scheme: 'http',
      hostSuffix: '.p.localhost',
      port: '4100',
    });
  });

  it.each(['preview.example.com', 'https://preview.example.com', 'ftp://*.x.com', 'https://*.x.com/path', 'https://a*.x.com'])(
    'refuses PREVIEW_ORIGIN=%s with a message saying what it must look like',
    (value) => {
      expect(() => loadConfig({ ...base, PREVIEW_ORIGIN: value })).toThrow(/PREVIEW_ORIGIN must look like/);
    },
  );

  it('reads the LLM settings: anthropic by default, keys and base URLs per provider', () => {
    expect(loadConfig(base).llm).toEqual({
      provider: 'anthropic',
      model: undefined,
      anthropic: { apiKey: undefined, baseUrl: undefined },
      openai: { apiKey: undefined, baseUrl: undefined },
      contextWindows: {},
      userBaseUrlPrivate: false,
    });
    const llm = loadConfig({
      ...base,
      LLM_PROVIDER: 'openai',
      LLM_MODEL: 'qwen3-coder',
      OPENAI_API_KEY: 'sk-local',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      ANTHROPIC_API_KEY: 'sk-ant',
      LLM_CONTEXT_WINDOWS: 'qwen3-coder=262144, llama-3.3-70b=131072',
      LLM_USER_BASE_URL_PRIVATE: 'allow',
    }).llm;
    expect(llm).toEqual({
      provider: 'openai',
      model: 'qwen3-coder',
      anthropic: { apiKey: 'sk-ant', baseUrl: undefined },
      openai: { apiKey: 'sk-local', baseUrl: 'http://127.0.0.1:11434/v1' },
      contextWindows: { 'qwen3-coder': 262144, 'llama-3.3-70b': 131072 },
      userBaseUrlPrivate: true,
    });
  });

  it('refuses an unknown LLM_PROVIDER and a base URL that is not http(s)', () => {
    expect(() => loadConfig({ ...base, LLM_PROVIDER: 'gemini' })).toThrow(/LLM_PROVIDER must be anthropic or openai/);
    expect(() => loadConfig({ ...base, ANTHROPIC_BASE_URL: 'api.anthropic.com' })).toThrow(/ANTHROPIC_BASE_URL must be an http\(s\) URL/);
    expect(() => loadConfig({ ...base, LLM_CONTEXT_WINDOWS: 'qwen3-coder:262144' })).toThrow(/LLM_CONTEXT_WINDOWS must look like model=tokens/);
    expect(() => loadConfig({ ...base, LLM_CONTEXT_WINDOWS: 'tiny=100' })).toThrow(/at least 4096/);
  });
});
