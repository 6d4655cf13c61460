// Screenshots of GraphiQL (offline, after running a query) and of every web front page, for
// docs/. Not a test: `scripts/screenshots.sh` starts `serve --demo` and runs this against it.
//
//   BAC_URL=… BAC_DATA_DIR=… BAC_BIN=… node tests/web/screenshots.mjs [OUTPUT_DIR]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { baseUrl, launch, offlineContext, token } from './harness.mjs';

const output = resolve(process.argv[2] ?? 'docs');
mkdirSync(output, { recursive: true });
const PASSWORD = 'bac-demo-password';
const viewport = { width: 1280, height: 860 };

const browser = await launch();
const shots = [];
async function shoot(page, name, options = {}) {
  const path = join(output, name);
  await page.screenshot({ path, ...options });
  shots.push(path);
}
async function signIn(page, email, password = PASSWORD) {
  await page.goto(`${baseUrl}/web/sign-in`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

try {
  // GraphiQL with no network beyond the server, after running a query.
  {
    const context = await offlineContext(browser, { viewport });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/graphql`);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').click();
    await page.keyboard.type(`{"Authorization": "Bearer ${token('auditor@bac.example.gov')}"}`);
    await page.keyboard.press('Home');
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ me { displayName role orgUnit { name } } orgUnits(first: 3) { totalCount edges { node { code name } } } }');
    // GraphiQL's prettify lays the query out on lines.
    await page.locator('button[aria-label^="Prettify"]').click();
    await page.keyboard.press('Control+Home');
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => document.querySelector('.result-window .CodeMirror')?.textContent.includes('"data"'));
    await shoot(page, 'graphiql-offline.png');
    if (context.blockedRequests.length) throw new Error(`GraphiQL asked for ${context.blockedRequests}`);
    await context.close();
  }
  // The web front, JavaScript off as it needs none.
  {
    const context = await offlineContext(browser, { viewport, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/web/sign-in`);
    await shoot(page, 'web-sign-in.png');
    await signIn(page, 'auditor@bac.example.gov', 'a wrong password');
    await page.getByRole('alert').waitFor();
    await shoot(page, 'web-sign-in-error.png');
    await signIn(page, 'auditor@bac.example.gov');
    await page.getByRole('heading', { level: 1, name: 'Quarterly oversight reports' }).waitFor();
    await shoot(page, 'web-index.png');
    await page.getByRole('link', { name: /^Open report/ }).first().click();
    await page.getByRole('heading', { level: 1, name: /quarterly oversight report/ }).waitFor();
    await shoot(page, 'web-report.png');
    await context.close();
  }
  {
    const context = await offlineContext(browser, { viewport, javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, 'agent.north.phone.1@bac.example.gov');
    await page.getByRole('heading', { name: 'You do not have access to oversight reports' }).waitFor();
    await shoot(page, 'web-forbidden.png');
    await context.close();
  }
} finally {
  await browser.close();
}
for (const path of shots) console.log(`wrote ${path}`);
