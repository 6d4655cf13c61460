// Screenshots of every state of the hosted survey page, in English and Spanish, on a desktop
// and a phone, for docs/survey/. Run by scripts/screenshot-survey.sh against `serve --demo`
// (BAC_URL, BAC_DATA_DIR, BAC_BIN as for run.mjs); OUT names the folder (default docs/survey).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { baseUrl, graphql, launch, offlineContext, token } from './harness.mjs';

const out = process.env.OUT ?? 'docs/survey';
mkdirSync(out, { recursive: true });
const ingest = token('ingest@bac.example.gov');
const admin = token('admin@bac.example.gov');
const { body } = await graphql('{ interactions(first: 10, filter: { channels: [PHONE] }) { edges { node { id } } } }', {
  token: admin,
});
const calls = body.data.interactions.edges.map((edge) => edge.node.id);
let next = 0;
async function newLink() {
  const { body: created } = await graphql(
    'mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { link } }',
    { token: ingest, variables: { id: calls[next++ % calls.length] } },
  );
  return created.data.createSurveyInvitation.link;
}

const desktop = { viewport: { width: 1100, height: 900 } };
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const browser = await launch();
const written = [];
async function shoot(name, device, language, visit, fullPage = false) {
  const context = await offlineContext(browser, { ...device, locale: language === 'es' ? 'es-US' : 'en-US' });
  const page = await context.newPage();
  await visit(page);
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, fullPage });
  assert.deepEqual(context.blockedRequests, []);
  written.push(path);
  await context.close();
}
const submitEmpty = async (page) => {
  await page.goto(await newLink());
  await page.click('button[type="submit"]');
  await page.waitForSelector('.error-summary');
};
const submitAnswers = async (page) => {
  await page.goto(await newLink());
  await page.check('#satisfaction-5');
  await page.check('#resolved-yes');
  await page.click('button[type="submit"]');
  await page.waitForURL('**/s/thank-you**');
};
const unknownLink = (language) => async (page) => {
  await page.goto(`${baseUrl}/s/bms_${'0'.repeat(43)}?lang=${language}`);
};

try {
  await shoot('form-en-desktop', desktop, 'en', async (page) => page.goto(await newLink()), true);
  await shoot('form-es-phone', phone, 'es', async (page) => page.goto(await newLink()), true);
  await shoot('errors-en-desktop', desktop, 'en', submitEmpty);
  await shoot('errors-es-phone', phone, 'es', submitEmpty);
  await shoot('thank-you-en-phone', phone, 'en', submitAnswers);
  await shoot('thank-you-es-desktop', desktop, 'es', submitAnswers);
  await shoot('invalid-link-en-desktop', desktop, 'en', unknownLink('en'));
  await shoot('invalid-link-es-phone', phone, 'es', unknownLink('es'));
} finally {
  await browser.close();
}
console.log(written.join('\n'));
