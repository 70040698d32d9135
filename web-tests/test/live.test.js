// Stories 2 and 6: what someone shares reaches an open page without a reload, what alice types
// in her page reaches bob's node, and two tabs of alice stay in step.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('../lib/circle');
const { context, openLive } = require('../lib/browser');
const { setUp, tearDown } = require('../lib/story');

let alice;
let bob;
let circle;
let browser;

before(async () => {
  ({ alice, bob, circle, browser } = await setUp(['alice', 'bob'], { circle: true }));
});

after(tearDown);

/** Marks a page, so a reload (which forgets the mark) can be told from a live update. */
async function mark(page) {
  await page.evaluate(() => { window.__notReloaded = true; });
}

async function stillTheSamePage(page) {
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
}

test("bob's share appears on alice's open circle page without a reload", async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  // The stream is open before bob shares (or the share would be on the page when it loads).
  await openLive(page, `${new URL(page.url()).origin}/c/${circle}`);
  assert.equal(await page.locator('#feed .item', { hasText: 'Day 12' }).count(), 0);
  await mark(page);

  await bob.share(circle, 'Made it to the Thursday meeting. Day 12.');

  await page.locator('#feed .item', { hasText: 'Made it to the Thursday meeting. Day 12.' })
    .waitFor({ timeout: 90_000 });
  await stillTheSamePage(page);
  const item = page.locator('#feed .item', { hasText: 'Day 12' });
  assert.match(await item.locator('.meta').innerText(), /bob/);
  await ctx.close();
});

test("a share typed in alice's page arrives in bob's feed", async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  await page.goto(`${new URL(page.url()).origin}/c/${circle}`);
  await page.getByLabel('Share with Tuesday evening').fill('Rough afternoon, better now.');
  await page.getByRole('button', { name: 'Share', exact: true }).click();

  // alice's own page shows it, and the box is empty for the next one.
  await page.locator('#feed .item', { hasText: 'Rough afternoon, better now.' }).waitFor();
  assert.equal(await page.getByLabel('Share with Tuesday evening').inputValue(), '');

  const arrived = await eventually("alice's share in bob's feed", async () =>
    (await bob.feed(circle)).find((i) => i.kind === 'share' && i.text === 'Rough afternoon, better now.'));
  assert.equal(arrived.author_name, 'alice');
  await ctx.close();
});

test('two tabs of alice stay in step: a share in one appears in the other', async () => {
  const ctx = await context(browser);
  const one = await alice.signIn(ctx);
  const origin = new URL(one.url()).origin;
  await one.goto(`${origin}/c/${circle}`);
  const two = await ctx.newPage();
  await openLive(two, `${origin}/c/${circle}`);
  await mark(two);

  await one.bringToFront();
  await one.getByLabel('Share with Tuesday evening').fill('Called my sponsor like I said I would.');
  await one.getByRole('button', { name: 'Share', exact: true }).click();

  await two.locator('#feed .item', { hasText: 'Called my sponsor like I said I would.' }).waitFor();
  await stillTheSamePage(two);
  await ctx.close();
});
