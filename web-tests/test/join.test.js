// Story 5: carol pastes an invite on her home page, reads the circle's name and guidelines
// first, and joins only when she says she has read them.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Person, eventually, stopAll } = require('../lib/circle');
const { context, launch } = require('../lib/browser');

const GUIDELINES = 'First names only.\nWhat is said here stays here.\nNo crosstalk.';

let alice;
let carol;
let circle;
let browser;

before(async () => {
  alice = await Person.init('alice');
  carol = await Person.init('carol');
  await Promise.all([alice.up(), carol.up()]);
  const file = path.join(alice.dir, 'guidelines.txt');
  fs.writeFileSync(file, GUIDELINES);
  circle = await alice.create('Tuesday evening', ['--format', 'smart', '--guidelines', file]);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice, carol]);
});

test('pasting an invite shows the name and guidelines first, then joins and opens the circle', async () => {
  const invite = await alice.invite('Tuesday evening');
  const ctx = await context(browser);
  const page = await carol.signIn(ctx);
  await page.getByText('You are in no circle yet').waitFor();

  await page.getByLabel('The invite you were given').fill(invite);
  await page.getByRole('button', { name: 'Read about the circle first' }).click();

  const preview = page.locator('#join-preview');
  await preview.getByRole('heading', { name: 'Tuesday evening' }).waitFor();
  const text = await preview.innerText();
  assert.match(text, /Format: SMART Recovery\./);
  for (const line of GUIDELINES.split('\n')) assert.ok(text.includes(line), line);
  const join = preview.getByRole('button', { name: 'I have read this: join Tuesday evening' });
  // The guidelines come before the button that joins.
  const guidelinesFirst = await preview.evaluate((box) => {
    const g = [...box.querySelectorAll('p')].find((p) => p.textContent.includes('No crosstalk'));
    const b = box.querySelector('button');
    return Boolean(g.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(guidelinesFirst);
  // Reading is not joining.
  assert.deepEqual(await carol.json(['circles']), []);

  await join.click();
  await page.waitForURL(new RegExp(`/c/${circle}$`), { timeout: 60_000 });
  assert.equal(await page.locator('h1').innerText(), 'Tuesday evening');
  const [mine] = await carol.json(['circles']);
  assert.equal(mine.id, circle);
  await eventually("carol among alice's members", async () =>
    (await alice.json(['members', circle])).some((m) => m.name === 'carol'));
  await ctx.close();
});
