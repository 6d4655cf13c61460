// The harness itself works: the server answers, a token can be minted, Chromium renders a page
// served by the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseUrl, graphql, launch, offlineContext, token } from './harness.mjs';

test('the server under test answers GraphQL with a minted token', async () => {
  const bearer = token('admin@bac.example.gov');
  const { status, body } = await graphql('{ me { email role } }', { token: bearer });
  assert.equal(status, 200);
  assert.equal(body.data.me.role, 'ADMIN');
});

test('headless Chromium renders a page of the server', async () => {
  const browser = await launch();
  try {
    const context = await offlineContext(browser);
    const page = await context.newPage();
    const response = await page.goto(`${baseUrl}/healthz`);
    assert.equal(response.status(), 200);
  } finally {
    await browser.close();
  }
});
