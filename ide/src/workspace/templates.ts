/**
 * Starters the wizard can write into a new project: nothing, a static site with a small server for the
 * stack, or an HTTP API generated from an example domain model (IR) by the stack's generator.
 */
import type { Stack } from '../api';
import { filesApi } from './files-api';
import { irApi } from './sandbox-api';
import staticIndex from './templates/static-index.html?raw';
import tasksContext from './templates/tasks.ir.yaml?raw';

export type TemplateId = 'empty' | 'static-site' | 'http-api';

export interface Template {
  id: TemplateId;
  label: string;
  blurb: string;
  stacks: Stack[];
  /** What the agent is asked first when the person writes nothing. */
  suggestion: string;
}

export const TEMPLATES: Template[] = [
  { id: 'empty', label: 'Empty', blurb: 'Start from nothing and let the agent lay it out.', stacks: ['node', 'python', 'go'], suggestion: '' },
  {
    id: 'static-site',
    label: 'Static site',
    blurb: 'An HTML page, styles and a script, served on the preview port.',
    stacks: ['node', 'python', 'go'],
    suggestion: 'Turn this page into a landing page for the project, and start the server so I can see it in the preview.',
  },
  {
    id: 'http-api',
    label: 'HTTP API from a model',
    blurb: 'A tasks API generated from an example domain model (IR) that you and the agent can grow.',
    stacks: ['node', 'go'],
    suggestion: 'Add a priority to tasks, regenerate the code, run the tests and start the API.',
  },
];

const STATIC_CSS = `body { font: 16px/1.6 system-ui, sans-serif; margin: 0; background: #f6f7fb; color: #1d2230; }
main { max-width: 640px; margin: 12vh auto; padding: 0 24px; }
h1 { font-size: 2.2rem; margin: 0 0 0.4em; }
button { font: inherit; padding: 0.5em 1.1em; border: 0; border-radius: 8px; background: #6b5cff; color: #fff; cursor: pointer; }
`;
const STATIC_JS = `document.getElementById('hello').addEventListener('click', () => {
  document.getElementById('out').textContent = 'Hello from ' + location.host + ' at ' + new Date().toLocaleTimeString();
});
`;

/** A tiny file server per stack, on PORT (the preview port by default). */
function staticServer(stack: Stack, port: number): Record<string, string> {
  if (stack === 'python') {
    return {
      'server.py': `"""Serves this folder on PORT (default ${port}): python3 server.py"""
import http.server, os, functools
port = int(os.environ.get("PORT", "${port}"))
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=os.path.dirname(os.path.abspath(__file__)) + "/public")
http.server.ThreadingHTTPServer(("0.0.0.0", port), handler).serve_forever()
`,
    };
  }
  if (stack === 'go') {
    return {
      'go.mod': 'module site\n\ngo 1.21\n',
      'main.go': `// Serves ./public on PORT (default ${port}): go run .
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "${port}"
	}
	log.Printf("listening on %s", port)
	log.Fatal(http.ListenAndServe(":"+port, http.FileServer(http.Dir("public"))))
}
`,
    };
  }
  return {
    'package.json': JSON.stringify({ name: 'site', private: true, scripts: { start: 'node server.js' } }, null, 2) + '\n',
    'server.js': `// Serves ./public on PORT (default ${port}): npm start
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, 'public');
const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml' };
const port = Number(process.env.PORT || ${port});
http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)).replace(/^([.][.][/\\\\])+/, ''));
    const target = file.endsWith(path.sep) || file === root ? path.join(file, 'index.html') : file;
    fs.readFile(target, (err, data) => {
      if (err) return res.writeHead(404).end('Not found');
      res.writeHead(200, { 'content-type': types[path.extname(target)] || 'application/octet-stream' }).end(data);
    });
  })
  .listen(port, () => console.log('listening on ' + port));
`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes the template into the project's workspace. */
export async function applyTemplate(
  template: TemplateId,
  project: { id: string; name: string; description: string; stack: Stack; previewPort?: number },
): Promise<void> {
  const port = project.previewPort ?? 3000;
  if (template === 'static-site') {
    const files: Record<string, string> = {
      'public/index.html': staticIndex.replaceAll('{{name}}', escapeHtml(project.name)).replaceAll('{{description}}', escapeHtml(project.description || 'Built with Vaporform.')),
      'public/style.css': STATIC_CSS,
      'public/app.js': STATIC_JS,
      ...staticServer(project.stack, port),
    };
    for (const [path, text] of Object.entries(files)) await filesApi.write(project.id, path, text);
  } else if (template === 'http-api') {
    const projectYaml = `project:\n  name: ${JSON.stringify(project.name)}\n  description: ${JSON.stringify(project.description || 'A tasks API')}\n  stack: { runtime: ${project.stack} }\n`;
    await irApi.apply(project.id, { 'ir/project.yaml': projectYaml, 'ir/contexts/tasks.yaml': tasksContext });
    await irApi.generate(project.id);
  }
}
