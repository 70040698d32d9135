// Story 7: markup in what members write (a share, a nickname, a circle's name and guidelines)
// is shown as the text it is, on page load and live, and nothing in it runs.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Person, circleOf, stopAll } = require('../lib/circle');
const { context, launch, openLive, recordAlertsAndNotifications } = require('../lib/browser');

const NICK = "<img src=x onerror=alert('nick')>";
const NAME = "Tuesday <script>alert('name')</script>";
const GUIDELINES = "Be kind.<script>alert('guidelines')</script><img src=x onerror=alert('guidelines-img')>";
const SHARE = "<script>window.__ran = true; alert('share')</script>";
const LIVE = "<img src=x onerror=\"window.__ran = true; alert('live')\"><b id=injected>bold</b>";

let alice;
let bob;
let carol;
let circle;
let browser;

before(async () => {
  alice = await Person.init('alice');
  bob = await Person.init('bob', NICK);
  carol = await Person.init('carol');
  await Promise.all([alice.up(), bob.up(), carol.up()]);
  const file = path.join(alice.dir, 'guidelines.txt');
  fs.writeFileSync(file, GUIDELINES);
  circle = await circleOf(alice, [bob], NAME, ['--guidelines', file]);
  await bob.share(circle, SHARE);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice, bob, carol]);
});

/** Nothing ran, and no element came from anyone's text (the app has no images of its own). */
async function nothingRan(page) {
  const found = await page.evaluate(() => ({
    alerts: window.__alerts,
    ran: window.__ran === true,
    images: document.querySelectorAll('img').length,
    injected: document.querySelectorAll('#injected, b').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
  }));
  assert.deepEqual(found, {
    alerts: [], ran: false, images: 0, injected: 0, scripts: ['/assets/app.js'],
  });
}

test("markup in a share, a nickname and a circle's name is shown as text, on load and live", async () => {
  const ctx = await context(browser);
  await recordAlertsAndNotifications(ctx);
  const page = await alice.signIn(ctx);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.getByRole('link', { name: NAME }).waitFor();
  await nothingRan(page);

  await openLive(page, `${new URL(page.url()).origin}/c/${circle}`);
  assert.equal(await page.locator('h1').innerText(), NAME);
  const shared = page.locator('#feed .item', { hasText: SHARE });
  await shared.waitFor();
  assert.equal(await shared.locator('.meta strong').innerText(), NICK);
  await nothingRan(page);

  await bob.share(circle, LIVE);
  await page.locator('#feed .item', { hasText: LIVE }).waitFor({ timeout: 90_000 });
  await nothingRan(page);
  assert.deepEqual(dialogs, []);
  await ctx.close();
});

test("markup in a circle's guidelines is shown as text in the join preview", async () => {
  const invite = await alice.invite(circle);
  const ctx = await context(browser);
  await recordAlertsAndNotifications(ctx);
  const page = await carol.signIn(ctx);
  await page.getByLabel('The invite you were given').fill(invite);
  await page.getByRole('button', { name: 'Read about the circle first' }).click();
  const preview = page.locator('#join-preview');
  await preview.getByRole('heading', { name: NAME }).waitFor();
  assert.ok((await preview.innerText()).includes(GUIDELINES));
  await nothingRan(page);
  await ctx.close();
});
