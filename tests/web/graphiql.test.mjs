// GraphiQL is served by the binary itself: with every request to any other host aborted it
// renders, runs a query typed into it with a token set in its Headers tab, and its strict
// Content-Security-Policy is never violated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseUrl, launch, offlineContext, token } from './harness.mjs';

/** Records CSP violations and console errors of `page` (the init script runs before any page script). */
async function watchForViolations(page) {
  const problems = [];
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return async () => [...problems, ...(await page.evaluate(() => window.__cspViolations)).map((v) => `CSP: ${v}`)];
}

test('GraphiQL renders offline and runs a query under its CSP', async () => {
  const bearer = token('auditor@bac.example.gov');
  const browser = await launch();
  try {
    const context = await offlineContext(browser);
    const page = await context.newPage();
    const problems = await watchForViolations(page);
    const response = await page.goto(`${baseUrl}/graphql`);
    assert.equal(response.status(), 200);
    const policy = response.headers()['content-security-policy'];
    assert.match(policy, /script-src 'self';/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);

    // Rendered: the editor and the run button, not the "Loading…" placeholder.
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });
    const runButton = page.locator('.graphiql-execute-button');
    await runButton.waitFor();

    // The token goes into the Headers tab, the query into the editor, by keyboard.
    await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').click();
    await page.keyboard.type(`{"Authorization": "Bearer ${bearer}"}`);
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ me { email role } orgUnits(first: 2) { totalCount } }');
    await runButton.click();

    const result = page.locator('.result-window .CodeMirror');
    await page.waitForFunction(
      () => document.querySelector('.result-window .CodeMirror')?.textContent.includes('"data"'),
      null,
      { timeout: 30_000 },
    );
    const text = await result.textContent();
    assert.match(text, /auditor@bac\.example\.gov/);
    assert.match(text, /"totalCount"/);

    assert.deepEqual(context.blockedRequests, [], 'GraphiQL asked for nothing beyond this server');
    assert.deepEqual(await problems(), [], 'no CSP violation or console error');
  } finally {
    await browser.close();
  }
});

test('GraphiQL files are versioned by content and cached for a year', async () => {
  const html = await (await fetch(`${baseUrl}/graphql`, { headers: { accept: 'text/html' } })).text();
  const urls = [...html.matchAll(/(?:src|href)="(\/graphiql\/[0-9a-f]{16}\/[^"]+)"/g)].map((m) => m[1]);
  assert.equal(urls.length, 6, html);
  for (const url of urls) {
    const response = await fetch(`${baseUrl}${url}`);
    assert.equal(response.status, 200, url);
    assert.match(response.headers.get('cache-control'), /max-age=31536000.*immutable/);
    assert.match(response.headers.get('content-type'), url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  }
  // An outdated version segment is not served.
  const stale = urls[0].replace(/\/graphiql\/[0-9a-f]{16}\//, '/graphiql/0000000000000000/');
  assert.equal((await fetch(`${baseUrl}${stale}`)).status, 404);
});
