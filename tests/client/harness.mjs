// Shared helpers of the client tests: the server under test, tokens from the `token` command,
// an Apollo Client (core, no React) wired the way a front-end wires it, and a second server in
// trusted-documents (allow-list) mode on the same database.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

/** Base URL of the server under test (no trailing slash). */
export const baseUrl = process.env.BAC_URL?.replace(/\/$/, '') ?? 'http://127.0.0.1:8080';

/** An origin the server lists in CORS_ALLOWED_ORIGINS. */
export const allowedOrigin = process.env.BAC_ALLOWED_ORIGIN ?? 'http://front-end.test';

/** Runs the bac-metrics binary on the server's DATA_DIR (joining its private PostgreSQL). */
export function bac(args, extraEnv = {}) {
  return execFileSync(process.env.BAC_BIN, args, {
    env: { ...process.env, DATA_DIR: process.env.BAC_DATA_DIR, RUST_LOG: 'error', ...extraEnv },
    encoding: 'utf8',
  });
}

/** Mints an access token for `email` with the `token` command. */
export function token(email) {
  return bac(['token', '--email', email, '--ttl', '1h']).trim();
}

/** SHA-256 in hex, as the persisted-queries link and the manifest generator compute it. */
export function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * An Apollo Client against `graphqlUrl`: HttpLink on the global fetch, behind the
 * persisted-queries link when `persisted` (sending hash-only queries with GET when `useGET`).
 * Every HTTP exchange is appended to `exchanges` as `{ method, url, body, status }`.
 */
export function apolloClient({
  graphqlUrl = `${baseUrl}/graphql`,
  bearer,
  persisted = false,
  useGET = false,
  exchanges = [],
} = {}) {
  const recordingFetch = async (uri, init = {}) => {
    const response = await fetch(uri, init);
    exchanges.push({
      method: init.method ?? 'GET',
      url: String(uri),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : null,
      status: response.status,
    });
    return response;
  };
  const http = new HttpLink({
    uri: graphqlUrl,
    fetch: recordingFetch,
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
  });
  const link = persisted
    ? new PersistedQueryLink({ sha256, useGETForHashedQueries: useGET }).concat(http)
    : http;
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

/**
 * Starts `bac-metrics serve` in allow-list mode on the demo's DATA_DIR (another process on the
 * same database, as in a deployment with several servers). Resolves to `{ url, stop }`.
 */
export async function startAllowListServer() {
  const child = spawn(process.env.BAC_BIN, ['serve'], {
    env: {
      ...process.env,
      DATA_DIR: process.env.BAC_DATA_DIR,
      BIND: '127.0.0.1:0',
      APP_ENV: 'production',
      GRAPHQL_TRUSTED_DOCUMENTS: 'allow-list',
      LOG_FORMAT: 'json',
      RUST_LOG: 'info',
      SHUTDOWN_DRAIN_SECONDS: '0',
      RETENTION_SCHEDULE_INTERVAL: 'off',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((done) => child.on('exit', done));
  const lines = [];
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the allow-list server did not start:\n${lines.join('\n')}`)), 60_000);
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line);
      try {
        const event = JSON.parse(line);
        if (event.message === 'listening' && event.address) {
          clearTimeout(timer);
          resolveUrl(event.address);
        }
      } catch {
        // Not a JSON log line.
      }
    });
    child.on('exit', (code) => reject(new Error(`the allow-list server exited with ${code}:\n${lines.join('\n')}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
