/** A person's own model base URL: loopback, private, link-local and mapped addresses are refused; public ones pass. */
import { describe, expect, it } from 'vitest';
import { checkUserBaseUrl } from '../../services/agents/index.js';

describe('checkUserBaseUrl', () => {
  it.each([
    'http://127.0.0.1:5432/',
    'http://localhost:7233',
    'http://[::1]:8080/v1',
    'http://10.1.2.3/',
    'https://172.20.0.5/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00::1]/',
    'http://0.0.0.0:3000/',
  ])('refuses %s', async (url) => {
    await expect(checkUserBaseUrl(url, 'OPENAI_BASE_URL')).rejects.toThrow(/private or loopback/);
  });

  it('refuses what is not an http(s) URL, and a host that does not resolve', async () => {
    await expect(checkUserBaseUrl('file:///etc/passwd', 'OPENAI_BASE_URL')).rejects.toThrow('must be an http(s) URL');
    await expect(checkUserBaseUrl('not a url', 'OPENAI_BASE_URL')).rejects.toThrow('is not a URL');
    await expect(checkUserBaseUrl('https://nothing.invalid/', 'OPENAI_BASE_URL')).rejects.toThrow('does not resolve');
  });

  it('lets a public address through', async () => {
    await expect(checkUserBaseUrl('https://93.184.216.34/v1', 'OPENAI_BASE_URL')).resolves.toBeUndefined();
    await expect(checkUserBaseUrl('http://[2606:2800:220:1::1]/', 'OPENAI_BASE_URL')).resolves.toBeUndefined();
  });
});
