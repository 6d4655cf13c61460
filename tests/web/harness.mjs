// Shared helpers of the browser and client tests: the server under test, tokens, a headless
// Chromium, and the axe-core accessibility check (WCAG 2.1 A and AA rules).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

/** Base URL of the server under test (no trailing slash). */
export const baseUrl = process.env.BAC_URL?.replace(/\/$/, '') ?? 'http://127.0.0.1:8080';

/** Mints an access token for `email` with the `token` command on the server's DATA_DIR. */
export function token(email) {
  return execFileSync(process.env.BAC_BIN, ['token', '--email', email, '--ttl', '1h'], {
    env: { ...process.env, DATA_DIR: process.env.BAC_DATA_DIR, RUST_LOG: 'error' },
    encoding: 'utf8',
  }).trim();
}

/** POSTs a GraphQL request and returns `{ status, body }`. */
export async function graphql(query, { variables, token: bearer, headers = {} } = {}) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new Error('no Chromium found: install it (Debian: apt-get install chromium) or set CHROMIUM');
  return found;
}

/**
 * Launches headless Chromium with the flags a closed network needs. The browser is offline as
 * far as the test cares: every request to a host other than the server under test is aborted,
 * so a page that depends on a CDN fails the test.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

/** A new browser context that only reaches the server under test; `blocked` collects the rest. */
export async function offlineContext(browser, options = {}) {
  const context = await browser.newContext(options);
  const blocked = [];
  const allowed = new URL(baseUrl).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(allowed) || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    blocked.push(url);
    return route.abort();
  });
  context.blockedRequests = blocked;
  return context;
}

/**
 * Runs axe-core on `page` with the WCAG 2.0/2.1 A and AA rule sets and returns its violations
 * (an empty array when the page passes). axe runs in an isolated world, so a strict CSP on the
 * page does not stop it.
 */
export async function accessibilityViolations(page) {
  const source = require('fs').readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const results = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => node.target.join(' ')),
  }));
}
