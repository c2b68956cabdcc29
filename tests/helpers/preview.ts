/** Requests to a preview origin from Node. */
import http from 'node:http';

/**
 * `<label>.preview.localhost` resolves to loopback in browsers, not in Node: the request goes to the API's
 * address with the preview's Host header, as a browser's would arrive.
 */
export function previewFetch(
  apiBaseUrl: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const target = new URL(url);
  const api = new URL(apiBaseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: api.hostname,
        port: api.port,
        method: options.method ?? 'GET',
        path: target.pathname + target.search,
        headers: { ...options.headers, host: target.host },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}
