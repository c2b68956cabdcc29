/** Request log lines never carry a secret that came in the query string, whatever the parameter's name. */
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../services/gateway/logging.js';

/** The request URLs the app's own logger configuration writes, for the given request path. */
async function loggedUrls(url: string): Promise<string[]> {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const options = loggerOptions('info');
  const app = Fastify({ logger: { ...(typeof options === 'object' ? options : {}), stream } });
  app.get('/*', async () => 'ok');
  try {
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
  } finally {
    await app.close();
  }
  return lines.map((line) => JSON.parse(line) as { req?: { url?: string } }).flatMap((entry) => (entry.req?.url ? [entry.req.url] : []));
}

describe('request logging', () => {
  it('redacts preview tokens, access tokens and keys in the query, and keeps the rest', async () => {
    const urls = await loggedUrls(
      '/preview/p1/page?vf_preview_token=PREVIEW-SECRET&page=2&token=WS-SECRET&access_token=A-SECRET&api_key=K-SECRET#x',
    );
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url).not.toMatch(/SECRET/);
      expect(url).toContain('vf_preview_token=[redacted]');
      expect(url).toContain('page=2');
    }
  });
});
