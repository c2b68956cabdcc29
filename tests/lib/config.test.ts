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
});
