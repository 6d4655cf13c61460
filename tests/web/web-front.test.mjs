// The web front for oversight staff in headless Chromium, with every request to another host
// aborted: each page passes axe-core's WCAG 2.0/2.1 A and AA rules with zero violations, breaks
// no Content-Security-Policy, and signing in, opening a report and signing out work from the
// keyboard alone, without JavaScript.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessibilityViolations, baseUrl, launch, offlineContext } from './harness.mjs';

const PASSWORD = 'bac-demo-password';
const AUDITOR = 'auditor@bac.example.gov';
const AGENT = 'agent.north.phone.1@bac.example.gov';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/**
 * A fresh offline browser context and a page that records console errors (CSP violations show
 * there). The pages have no scripts; `javaScriptEnabled: false` proves they need none. axe-core
 * itself needs JavaScript, so the accessibility check runs with it on.
 */
async function newPage({ javaScriptEnabled = true } = {}) {
  const context = await offlineContext(browser, { javaScriptEnabled, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    // A refusal page (401, 403) is logged as a failed load of the document itself: expected.
    const refusalPage = /^Failed to load resource: the server responded with a status of 40[13]/;
    if (message.type() === 'error' && !refusalPage.test(message.text())) problems.push(message.text());
  });
  if (javaScriptEnabled) {
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
  }
  page.problems = problems;
  page.blocked = context.blockedRequests;
  return page;
}

async function signIn(page, email, password = PASSWORD) {
  await page.goto(`${baseUrl}/web/sign-in`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** axe-core in the page (it runs in an isolated world, so JavaScript may stay off for the page). */
async function assertAccessible(page, name) {
  const violations = await accessibilityViolations(page);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
  assert.deepEqual(page.problems, [], `${name}: console errors (CSP violations show here)`);
  assert.deepEqual(page.blocked, [], `${name}: requests to other hosts`);
}

test('every web front page passes axe-core (WCAG 2.1 A and AA) with zero violations', async () => {
  const page = await newPage();
  const results = {};

  const signInResponse = await page.goto(`${baseUrl}/web/sign-in`);
  assert.equal(signInResponse.status(), 200);
  assert.match(signInResponse.headers()['content-security-policy'], /^default-src 'none'; style-src 'sha256-/);
  await assertAccessible(page, 'sign-in');
  results['sign-in'] = 0;

  await signIn(page, AUDITOR, 'not the password');
  await page.getByRole('alert').waitFor();
  assert.match(await page.title(), /^Error: Sign in/);
  await assertAccessible(page, 'sign-in error');
  results['sign-in error'] = 0;

  await signIn(page, AUDITOR);
  await page.getByRole('heading', { name: 'Quarterly oversight reports', level: 1 }).waitFor();
  await assertAccessible(page, 'index');
  results.index = 0;

  await page.getByRole('link', { name: /^Open report/ }).first().click();
  await page.getByRole('heading', { level: 1, name: /quarterly oversight report/ }).waitFor();
  assert.match(page.url(), /\/reports\/oversight\?fiscalYear=\d{4}&quarter=[1-4]$/);
  await assertAccessible(page, 'report');
  results.report = 0;

  const agent = await newPage();
  await signIn(agent, AGENT);
  await agent.getByRole('heading', { name: 'You do not have access to oversight reports' }).waitFor();
  await assertAccessible(agent, '403');
  results['403'] = 0;
  const response = await agent.goto(`${baseUrl}/reports/oversight?fiscalYear=2026&quarter=1`);
  assert.equal(response.status(), 403);
  await assertAccessible(agent, '403 (report URL)');

  console.log(`# axe-core violations per page: ${JSON.stringify(results)}`);
});

test('signing in, opening a report and signing out work from the keyboard alone, without JavaScript', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await page.goto(`${baseUrl}/web/sign-in`);
  const focused = () =>
    page.evaluate(() => {
      const element = document.activeElement;
      const style = getComputedStyle(element);
      return {
        tag: element.tagName.toLowerCase(),
        id: element.id,
        text: element.textContent.trim(),
        outline: `${style.outlineStyle} ${style.outlineWidth}`,
      };
    });

  // The first Tab reaches the skip link, visibly; Enter moves to the main content.
  await page.keyboard.press('Tab');
  let element = await focused();
  assert.equal(element.text, 'Skip to main content');
  assert.match(element.outline, /^solid [3-9]/, 'a visible focus ring');
  await page.keyboard.press('Enter');
  assert.equal((await focused()).id, 'main');

  // From the main content: email, password, the button — each with a visible focus ring.
  await page.keyboard.press('Tab');
  element = await focused();
  assert.equal(element.id, 'email');
  assert.match(element.outline, /^solid [3-9]/);
  await page.keyboard.type(AUDITOR);
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'password');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Tab');
  element = await focused();
  assert.equal(element.text, 'Sign in');
  await Promise.all([page.waitForURL(`${baseUrl}/web/`), page.keyboard.press('Enter')]);
  assert.equal(await page.title(), 'Oversight reports — bac-metrics');

  // Tab to the first report link and open it.
  let opened = false;
  for (let step = 0; step < 30 && !opened; step += 1) {
    await page.keyboard.press('Tab');
    const current = await focused();
    if (current.tag === 'a' && current.text.startsWith('Open report')) {
      assert.match(current.outline, /^solid [3-9]/);
      await Promise.all([page.waitForURL(/\/reports\/oversight\?/), page.keyboard.press('Enter')]);
      opened = true;
    }
  }
  assert.ok(opened, 'a report link is reachable by Tab');
  await page.getByRole('heading', { level: 1, name: /quarterly oversight report/ }).waitFor();

  // Sign out from the report's banner, by keyboard.
  let signedOut = false;
  for (let step = 0; step < 10 && !signedOut; step += 1) {
    await page.keyboard.press('Tab');
    if ((await focused()).text === 'Sign out') {
      await Promise.all([page.waitForURL(/\/web\/sign-in\?notice=signed-out$/), page.keyboard.press('Enter')]);
      signedOut = true;
    }
  }
  assert.ok(signedOut, 'the Sign out button is reachable by Tab');
  assert.equal(await page.getByRole('status').textContent(), 'You have signed out.');
  // The old session is gone: the index asks for a sign-in again.
  await page.goto(`${baseUrl}/web/`);
  assert.match(page.url(), /\/web\/sign-in\?next=%2Fweb%2F/);
});

test('the CSV downloads from the index with the cookie session', async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await signIn(page, AUDITOR);
  await page.getByRole('heading', { name: 'Quarterly oversight reports', level: 1 }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /^Download CSV/ }).first().click(),
  ]);
  assert.match(download.suggestedFilename(), /^oversight-report-FY\d{4}-Q[1-4]\.csv$/);
  const stream = await download.createReadStream();
  let text = '';
  for await (const chunk of stream) text += chunk;
  assert.match(text, /^fiscal_quarter,period_start,period_end,org_unit_code/);
});
