/**
 * How the project a built-in generator writes is installed, checked, tested and started, by its stack's own usual
 * commands, run in the project's sandbox from the workspace root. The black-box test and bench/generate use these;
 * a generator's output must make them work (services/generators/HTTP-CONTRACT.md, "Running").
 */
export const STACK_COMMANDS = {
  node: {
    generator: 'typescript-http',
    install: 'npm install --no-audit --no-fund',
    typecheck: 'npm run typecheck',
    test: 'npm test',
    start: 'npm start',
  },
  python: {
    generator: 'python-http',
    install: 'python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt',
    typecheck: '.venv/bin/mypy app tests',
    test: '.venv/bin/pytest -q',
    start: '.venv/bin/python -m app',
  },
  go: {
    generator: 'go-http',
    install: 'go mod download',
    typecheck: 'go vet ./...',
    test: 'go test ./...',
    start: 'go build -o .bin/server ./cmd/server && exec ./.bin/server',
  },
} as const;
export type StackName = keyof typeof STACK_COMMANDS;
