// Clocks: alice starts one from the page (in her browser's time zone), shares its milestones
// with her circle, and starts it again privately: the circle never hears of the restart.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('../lib/circle');
const { context } = require('../lib/browser');
const { setUp, tearDown } = require('../lib/story');

let alice;
let bob;
let circle;
let browser;

before(async () => {
  ({ alice, bob, circle, browser } = await setUp(['alice', 'bob'], { circle: true }));
});

after(tearDown);

const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

test('a clock started from the home page counts days, and a private restart never reaches the circle', async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  await page.getByRole('link', { name: 'Your recovery clocks' }).click();
  await page.waitForURL(/\/clocks$/);

  // The time zone starts as the browser's own.
  const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(await page.getByLabel('Time zone days are counted in').inputValue(), zone);
  await page.getByLabel(/^What it counts/).fill('no drinking');
  await page.getByLabel('Since').fill(daysAgo(40));
  await page.getByRole('button', { name: 'Start the clock' }).click();
  const clock = page.locator('#clocks .clock', { hasText: 'no drinking' });
  await clock.waitFor();
  assert.match(await clock.locator('.days').innerText(), /^(39|40|41) days$/);
  assert.match(await clock.innerText(), /next: 60 days/);

  await clock.getByText('Share its milestones with a circle').click();
  await clock.getByLabel('Which circle').selectOption({ label: 'Tuesday evening' });
  await clock.getByRole('button', { name: 'Share milestones' }).click();
  await page.locator('#clocks .clock', { hasText: 'Milestones are told to Tuesday evening.' }).waitFor();

  const again = page.locator('#clocks .clock', { hasText: 'no drinking' });
  await again.getByText('Start it again').click();
  await again.getByLabel('A note for yourself (optional)').fill('Slipped on Saturday. Back at it.');
  await again.getByRole('button', { name: 'Start again' }).click();
  // Asked first, naming what happens.
  await again.getByText(/again from today, at 0 days\?/).waitFor();
  await again.getByRole('button', { name: 'Yes, start again' }).click();
  await page.locator('#clocks .clock .days', { hasText: /^0 days$/ }).waitFor();
  await ctx.close();

  // Something alice says afterwards reaches bob, so a told restart would have too.
  await alice.share(circle, 'See you all on Tuesday.');
  await eventually("alice's share on bob's node", async () =>
    (await bob.feed(circle)).some((i) => i.text === 'See you all on Tuesday.'));
  const told = (await bob.feed(circle)).filter((i) => i.kind === 'clock-reset' || /Slipped/.test(i.text));
  assert.deepEqual(told, []);
  assert.deepEqual((await alice.feed(circle)).filter((i) => i.kind === 'clock-reset'), []);
});
