// Runs every `*.test.mjs` in this folder with Node's test runner against a bac-metrics server.
//
//   node run.mjs [file.test.mjs ...]
//
// With BAC_URL (the server's base URL, e.g. http://127.0.0.1:8080) and BAC_DATA_DIR (the
// DATA_DIR of that `serve --demo`) the tests use that server, which must list BAC_ALLOWED_ORIGIN
// (default http://front-end.test) in CORS_ALLOWED_ORIGINS. Without them this script starts
// `serve --demo` itself on a free port with a throwaway DATA_DIR (its own private PostgreSQL)
// and that origin allowed, and stops it afterwards. BAC_BIN names the binary (default:
// target/debug/bac-metrics, built by `cargo build` beforehand).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const bin = process.env.BAC_BIN ?? join(root, 'target', 'debug', 'bac-metrics');
const allowedOrigin = process.env.BAC_ALLOWED_ORIGIN ?? 'http://front-end.test';

async function startDemo() {
  const folder = mkdtempSync(join(tmpdir(), 'bac-metrics-client-'));
  // The private cluster runs as the `postgres` user when we are root: it must reach the folder.
  chmodSync(folder, 0o755);
  const dataDir = join(folder, 'data');
  const child = spawn(bin, ['serve', '--demo'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      BIND: '127.0.0.1:0',
      RUST_LOG: 'warn',
      CORS_ALLOWED_ORIGINS: allowedOrigin,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --demo did not start:\n${output}`)), 180_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/GraphiQL: (http:\/\/\S+)\/graphql/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve --demo exited with ${code}:\n${output}`)));
  });
  return {
    url,
    dataDir,
    stop: async () => {
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGTERM');
      await exited;
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

let server = null;
if (!process.env.BAC_URL) {
  server = await startDemo();
}
const env = {
  ...process.env,
  BAC_URL: process.env.BAC_URL ?? server.url,
  BAC_DATA_DIR: process.env.BAC_DATA_DIR ?? server.dataDir,
  BAC_BIN: bin,
  BAC_ALLOWED_ORIGIN: allowedOrigin,
};
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(here).filter((name) => name.endsWith('.test.mjs')).sort();
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  cwd: here,
  env,
  stdio: 'inherit',
});
if (server) await server.stop();
process.exit(result.status ?? 1);
