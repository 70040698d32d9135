// Story 3: a check-in from the page marked "Only me" stays on alice's computer; one for the
// circle reaches bob.
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

/** Fills alice's check-in page and sends it; waits until the page moves on to the feed. */
async function checkIn(page, { day, mood, note, who }) {
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/check-in`);
  await page.getByLabel(day, { exact: true }).check();
  await page.getByLabel(/^Mood/).fill(String(mood));
  await page.getByLabel('lonely').check();
  await page.getByLabel('A note (optional)').fill(note);
  await page.getByLabel(who).check();
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.waitForURL(`${origin}/c/${circle}`);
}

test('checking in without saying how today is going, or with a mood of 15, says what to fix and sends nothing', async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/check-in`);
  let sent = 0;
  page.on('request', (r) => { if (r.method() === 'POST') sent += 1; });
  await page.getByLabel('A note (optional)').fill('forgot the day');
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByRole('alert').getByText('Choose how today is going first.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.name), 'day', 'the choice has the focus');

  await page.getByLabel('Okay', { exact: true }).check();
  await page.getByLabel(/^Mood/).fill('15');
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByRole('alert').getByText('Mood: use a whole number from 0 to 10.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mood');
  assert.equal(sent, 0);
  assert.equal(new URL(page.url()).pathname, `/c/${circle}/check-in`);
  await ctx.close();
});

const fromAlice = (items) => items.filter((i) => i.author_name === 'alice');

test('a check-in for "only me" never reaches bob; one for the circle does', async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);

  await checkIn(page, { day: 'Hard', mood: 3, note: 'kept this one to myself', who: /^Only me/ });
  // It was saved, for alice alone.
  const mine = (await alice.json(['checkins', circle]))[0].checkins;
  const kept = mine.find((c) => c.note === 'kept this one to myself');
  assert.ok(kept, 'alice sees her own check-in');
  assert.equal(kept.to, 'me');
  assert.equal(kept.day, 2);
  assert.equal(kept.mood, 3);
  assert.deepEqual(kept.triggers, ['lonely']);

  // Something alice sends afterwards has reached bob, so the check-in would have too.
  await alice.share(circle, 'Going to bed early tonight.');
  await eventually("alice's later share in bob's feed", async () =>
    (await bob.feed(circle)).some((i) => i.text === 'Going to bed early tonight.'));
  const bobs = await bob.feed(circle);
  assert.deepEqual(fromAlice(bobs).filter((i) => i.kind === 'checkin'), [], 'no check-in from alice');
  assert.ok(!JSON.stringify(bobs).includes('kept this one to myself'));
  assert.deepEqual(fromAlice((await bob.json(['checkins', circle]))[0].checkins), []);

  await checkIn(page, { day: 'Okay', mood: 6, note: 'a good meeting', who: /^Everyone in/ });
  const arrived = await eventually("alice's circle check-in in bob's feed", async () =>
    fromAlice(await bob.feed(circle)).find((i) => i.kind === 'checkin'));
  assert.match(arrived.text, /day 4\/5/);
  const seen = fromAlice((await bob.json(['checkins', circle]))[0].checkins);
  assert.equal(seen.length, 1, 'bob sees exactly the circle check-in');
  assert.equal(seen[0].note, 'a good meeting');
  await ctx.close();
});
