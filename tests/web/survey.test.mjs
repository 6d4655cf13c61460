// The hosted survey page (/s/{token}) in headless Chromium: WCAG 2.1 AA (axe-core) on every
// state in English and Spanish, a keyboard-only submission, a phone-sized screen, a browser
// without JavaScript, the optional character count, and nothing loaded from anywhere else.
//
// Links come from the API as an integration gets them: createSurveyInvitation with the demo's
// ingest account, on phone calls the demo's admin can list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessibilityViolations, baseUrl, graphql, launch, offlineContext, token } from './harness.mjs';

let browser;
let ingestToken;
let adminToken;
let phoneCalls = [];

before(async () => {
  browser = await launch();
  ingestToken = token('ingest@bac.example.gov');
  adminToken = token('admin@bac.example.gov');
  const { body } = await graphql(
    '{ interactions(first: 40, filter: { channels: [PHONE] }) { edges { node { id } } } }',
    { token: adminToken },
  );
  phoneCalls = body.data.interactions.edges.map((edge) => edge.node.id);
  assert.ok(phoneCalls.length >= 20, 'the demo has phone calls to survey');
});

after(async () => {
  await browser?.close();
});

let nextCall = 0;
/** A fresh one-time link from the API: `{ link, token, invitationId, interactionId }`. */
async function newLink() {
  const interactionId = phoneCalls[nextCall++ % phoneCalls.length];
  const { body } = await graphql(
    'mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token link invitation { id } } }',
    { token: ingestToken, variables: { id: interactionId } },
  );
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const created = body.data.createSurveyInvitation;
  assert.ok(created.link.startsWith(`${baseUrl}/s/bms_`), created.link);
  return { link: created.link, token: created.token, invitationId: created.invitation.id, interactionId };
}

async function responseTo(interactionId, invitationId) {
  const { body } = await graphql(
    'query($id: ID!) { interaction(id: $id) { surveyResponses { invitationId satisfaction trust effectiveness ease efficiency transparency helpfulness resolved comment } } }',
    { token: adminToken, variables: { id: interactionId } },
  );
  return body.data.interaction.surveyResponses.find((response) => response.invitationId === invitationId);
}

/** A page in an offline context; `check()` asserts nothing left the server. */
async function openPage(options = {}) {
  const context = await offlineContext(browser, options);
  const page = await context.newPage();
  return {
    page,
    check: () => assert.deepEqual(context.blockedRequests, [], 'the page loads nothing from elsewhere'),
    close: () => context.close(),
  };
}

async function assertAccessible(page, state) {
  const violations = await accessibilityViolations(page);
  assert.deepEqual(violations, [], `${state}: ${JSON.stringify(violations, null, 2)}`);
}

for (const language of ['en', 'es']) {
  const text = {
    en: { title: 'How did we do?', errors: 'There is a problem', thanks: 'Thank you', invalid: 'This survey link cannot be used', submit: 'Send my answers' },
    es: { title: '¿Cómo lo hicimos?', errors: 'Hay un problema', thanks: 'Gracias', invalid: 'Este enlace de encuesta no se puede usar', submit: 'Enviar mis respuestas' },
  }[language];

  test(`every state of the survey passes WCAG 2.1 AA in ${language}`, async () => {
    const { page, check, close } = await openPage({ locale: language === 'es' ? 'es-MX' : 'en-US' });
    try {
      const { link, token: used, invitationId, interactionId } = await newLink();
      // The form, in the language the browser asks for (Accept-Language from the locale).
      const form = await page.goto(link);
      assert.equal(form.status(), 200);
      assert.equal(await page.getAttribute('html', 'lang'), language);
      assert.equal(await page.textContent('h1'), text.title);
      await assertAccessible(page, `${language} form`);

      // Sending nothing: the form comes back with the error summary focused.
      await page.getByRole('button', { name: text.submit }).click();
      await page.waitForSelector('.error-summary');
      assert.equal(await page.textContent('#error-summary-title'), text.errors);
      assert.equal(await page.evaluate(() => document.activeElement.className), 'error-summary');
      assert.match(await page.title(), /^Error: /);
      await assertAccessible(page, `${language} form with errors`);

      // Answering: the thank-you page.
      await page.check('#satisfaction-5');
      await page.check('#helpfulness-4');
      await page.check('#resolved-yes');
      await page.fill('#comment', language === 'es' ? 'Muy amables.' : 'Very kind.');
      await page.getByRole('button', { name: text.submit }).click();
      await page.waitForURL(`**/s/thank-you?lang=${language}`);
      assert.equal(await page.textContent('h1'), text.thanks);
      await assertAccessible(page, `${language} thank-you`);
      const response = await responseTo(interactionId, invitationId);
      assert.equal(response.satisfaction, 5);
      assert.equal(response.helpfulness, 4);
      assert.equal(response.resolved, true);

      // A used link and an unknown one: the same page, byte for byte.
      const usedPage = await page.goto(`${baseUrl}/s/${used}?lang=${language}`);
      assert.equal(usedPage.status(), 404);
      const usedHtml = await page.content();
      assert.equal(await page.textContent('h1'), text.invalid);
      await assertAccessible(page, `${language} used link`);
      const unknownPage = await page.goto(`${baseUrl}/s/bms_${'x'.repeat(43)}?lang=${language}`);
      assert.equal(unknownPage.status(), 404);
      assert.equal(await page.content(), usedHtml);
      await assertAccessible(page, `${language} unknown link`);
      check();
    } finally {
      await close();
    }
  });
}

test('the language switch is a visible link to the other language', async () => {
  const { page, check, close } = await openPage();
  try {
    const { link } = await newLink();
    await page.goto(link);
    const switcher = page.getByRole('navigation', { name: 'Language' }).getByRole('link', { name: 'Español' });
    assert.equal(await switcher.isVisible(), true);
    await switcher.click();
    await page.waitForURL('**?lang=es');
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    await page.getByRole('navigation', { name: 'Idioma' }).getByRole('link', { name: 'English' }).click();
    await page.waitForURL('**?lang=en');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    check();
  } finally {
    await close();
  }
});

test('a customer can answer with the keyboard alone', async () => {
  const { page, check, close } = await openPage();
  try {
    const { link, invitationId, interactionId } = await newLink();
    await page.goto(link);
    const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim());

    // The skip link comes first and takes the focus to the survey.
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to main content');
    assert.equal(
      await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle),
      'solid',
      'the focus is visible',
    );
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'main');

    // Sending nothing by keyboard: the error summary takes the focus, its link leads to the
    // first question.
    const pressUntil = async (id, limit = 40) => {
      for (let step = 0; step < limit; step++) {
        await page.keyboard.press('Tab');
        if ((await focused()) === id) return;
      }
      assert.fail(`Tab never reached #${id}`);
    };
    await pressUntil('Send my answers');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.error-summary');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'error-summary');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'satisfaction-1');

    // Each statement: arrows move within the five answers (and choose); Tab goes to the next.
    const choices = { satisfaction: 4, trust: 3, effectiveness: 5, ease: 2, efficiency: 4, transparency: 3, helpfulness: 5 };
    let first = true;
    for (const [field, value] of Object.entries(choices)) {
      if (!first) await page.keyboard.press('Tab');
      first = false;
      assert.equal(await focused(), `${field}-1`);
      await page.keyboard.press('Space');
      for (let step = 1; step < value; step++) await page.keyboard.press('ArrowRight');
      assert.equal(await focused(), `${field}-${value}`);
      assert.equal(await page.isChecked(`#${field}-${value}`), true);
    }
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'resolved-yes');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.isChecked('#resolved-no'), true);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'comment');
    await page.keyboard.type('Typed without a mouse.');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Send my answers');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/s/thank-you?lang=en');

    const response = await responseTo(interactionId, invitationId);
    assert.deepEqual(
      { ...response, invitationId: undefined },
      { ...choices, resolved: false, comment: 'Typed without a mouse.', invitationId: undefined },
    );
    check();
  } finally {
    await close();
  }
});

test('on a phone the page fits the screen and answers fill the width', async () => {
  const { page, check, close } = await openPage({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'es-US',
  });
  try {
    const { link, invitationId, interactionId } = await newLink();
    await page.goto(link);
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    // Each answer is a full-width box at least 44 px tall: easy to tap.
    const box = await page.locator('#satisfaction-3').locator('xpath=..').boundingBox();
    assert.ok(box.height >= 44 && box.width >= 300, JSON.stringify(box));
    await page.tap('label[for="satisfaction-3"]');
    await page.tap('label[for="resolved-yes"]');
    await page.tap('button[type="submit"]');
    await page.waitForURL('**/s/thank-you?lang=es');
    assert.equal((await responseTo(interactionId, invitationId)).satisfaction, 3);
    await assertAccessible(page, 'phone thank-you');
    check();
  } finally {
    await close();
  }
});

test('without JavaScript the survey still works', async () => {
  const { page, check, close } = await openPage({ javaScriptEnabled: false });
  try {
    const { link, invitationId, interactionId } = await newLink();
    await page.goto(link);
    // The script-only character count stays hidden; the hint states the limit.
    assert.equal(await page.isVisible('#comment-count'), false);
    assert.match(await page.textContent('#comment-hint'), /4,000 characters/);
    await page.check('#ease-4');
    await page.fill('#comment', 'No scripts here.');
    await page.click('button[type="submit"]');
    await page.waitForURL('**/s/thank-you?lang=en');
    const response = await responseTo(interactionId, invitationId);
    assert.equal(response.ease, 4);
    assert.equal(response.comment, 'No scripts here.');
    check();
  } finally {
    await close();
  }
});

test('with JavaScript the comment box counts down', async () => {
  const { page, check, close } = await openPage();
  try {
    const { link } = await newLink();
    await page.goto(link);
    assert.equal(await page.textContent('#comment-count'), '4,000 characters left');
    await page.fill('#comment', 'Hello');
    assert.equal(await page.textContent('#comment-count'), '3,995 characters left');
    // Screen readers hear it once typing pauses.
    await page.waitForFunction(() => document.getElementById('comment-count-live').textContent !== '');
    assert.equal(await page.textContent('#comment-count-live'), '3,995 characters left');
    assert.equal(await page.getAttribute('#comment', 'maxlength'), '4000');
    check();
  } finally {
    await close();
  }
});
