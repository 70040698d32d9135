// Story 4: alice reaches out from her page (with a confirmation first); bob's open page raises a
// notification at once, and once bob opens the circle, alice's page says he has seen it.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('../lib/circle');
const { context, openLive, recordAlertsAndNotifications } = require('../lib/browser');
const { setUp, tearDown } = require('../lib/story');

let alice;
let bob;
let circle;
let browser;

before(async () => {
  ({ alice, bob, circle, browser } = await setUp(['alice', 'bob'], { circle: true }));
});

after(tearDown);

test("a reach-out raises a notification on bob's page, and alice sees when bob has seen it", async () => {
  // bob has circle open on his home page, notifications allowed.
  const bobs = await context(browser);
  await bobs.grantPermissions(['notifications']);
  await recordAlertsAndNotifications(bobs);
  const bobPage = await bob.signIn(bobs);
  const bobOrigin = new URL(bobPage.url()).origin;
  await openLive(bobPage, `${bobOrigin}/`);
  assert.equal(await bobPage.evaluate(() => Notification.permission), 'granted');

  const alices = await context(browser);
  const page = await alice.signIn(alices);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/reach-out`);
  // The crisis lines come first, before anything to fill in.
  await page.getByRole('heading', { name: /If you are in danger/ }).waitFor();

  await page.getByLabel('What you want to say (optional)').fill('Really struggling tonight.');
  await page.getByRole('button', { name: 'Reach out now' }).click();
  // A mis-click sends nothing: the page asks first.
  const yes = page.getByRole('button', { name: 'Yes, send it now' });
  await yes.waitFor();
  assert.ok(await page.getByRole('button', { name: 'Reach out now' }).isHidden(), 'one question at a time');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Yes, send it now');
  assert.deepEqual(await alice.json(['reach-outs', circle]), [], 'nothing sent before yes');
  await yes.click();

  // alice's page says it went, and lists her reach-out, not yet seen.
  await page.locator('#reach-out .ok', { hasText: /^Sent\. Everyone in Tuesday evening/ }).waitFor();
  const mine = page.locator('#mine');
  await mine.getByText(/nobody of 1 has seen it yet/).waitFor();

  // bob's page raised a notification that names neither alice nor the circle.
  const notes = await eventually("a notification on bob's page", async () => {
    const n = await bobPage.evaluate(() => window.__notifications);
    return n.length > 0 && n;
  });
  assert.equal(notes.length, 1);
  assert.equal(notes[0].title, 'circle');
  assert.match(notes[0].body, /reaching out/);
  assert.doesNotMatch(notes[0].body, /alice|Tuesday/);

  // bob opens the circle: he sees it, and alice's page says so without a reload.
  await bobPage.goto(`${bobOrigin}/c/${circle}`);
  await bobPage.locator('#feed .item.urgent', { hasText: 'Really struggling tonight.' }).waitFor();
  await page.locator('#mine').getByText('seen by 1 of 1: bob').waitFor({ timeout: 90_000 });
  await bobs.close();
  await alices.close();
});
