// Meetings and resources: a meeting alice adds in New York time shows on bob's page in his own
// time zone (Tokyo), and a resource she pins is there for him too.
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

async function open(person, options) {
  const ctx = await context(browser, options);
  const page = await person.signIn(ctx);
  await page.goto(`${new URL(page.url()).origin}/c/${circle}/meetings`);
  return { ctx, page };
}

test("a meeting added in New York time shows in bob's own time zone, with the pinned resource", async () => {
  const a = await open(alice, { timezoneId: 'America/New_York' });
  await a.page.getByText('Add a meeting').click();
  assert.equal(await a.page.getByLabel('In the time zone').inputValue(), 'America/New_York');
  await a.page.getByLabel('What it is called').fill('Tuesday evening meeting');
  await a.page.getByLabel('Every week on').selectOption('tuesday');
  await a.page.getByLabel('At', { exact: true }).fill('19:30');
  await a.page.getByRole('button', { name: 'Add the meeting' }).click();
  await a.page.locator('#meetings .meeting', { hasText: 'Tuesday evening meeting' }).waitFor();

  await a.page.getByText('Pin a resource').click();
  await a.page.getByLabel('Its title').fill('When a craving hits');
  await a.page.getByLabel(/^What it says/).fill('Play the tape forward. Call someone. Wait 20 minutes.');
  await a.page.getByRole('button', { name: 'Pin it' }).click();
  await a.page.locator('#resources .resource', { hasText: 'When a craving hits' }).waitFor();
  await a.ctx.close();

  await eventually("the meeting on bob's node", async () =>
    (await bob.json(['meetings', circle])).flat().some((m) => m.title === 'Tuesday evening meeting'));
  const b = await open(bob, { timezoneId: 'Asia/Tokyo' });
  const meeting = b.page.locator('#meetings .meeting', { hasText: 'Tuesday evening meeting' });
  await meeting.waitFor();
  // 19:30 on a Tuesday in New York is 08:30 or 09:30 on Wednesday in Tokyo.
  const next = await meeting.locator('time').innerText();
  assert.match(next, /\b0?[89]:30\b/, next);
  const day = await meeting.locator('time').evaluate((t) =>
    new Date(t.getAttribute('datetime')).toLocaleDateString('en-US', { weekday: 'long', timeZone: 'Asia/Tokyo' }));
  assert.equal(day, 'Wednesday');
  assert.match(await meeting.innerText(), /alice/);
  await b.page.locator('#resources .resource', { hasText: 'Play the tape forward.' }).waitFor();
  await b.ctx.close();
});

test('a meeting with neither a weekday nor a date is refused in plain words, naming no command', async () => {
  const a = await open(alice, { timezoneId: 'Europe/Berlin' });
  await a.page.getByText('Add a meeting').click();
  await a.page.getByLabel('What it is called').fill('Someday meeting');
  await a.page.getByLabel('At', { exact: true }).fill('18:00');
  await a.page.getByRole('button', { name: 'Add the meeting' }).click();
  const error = a.page.locator('form p.error[role="alert"]:visible');
  await error.waitFor();
  const words = await error.innerText();
  assert.match(words, /every week on a day, or once on a date/);
  assert.doesNotMatch(words, /--/);
  assert.equal(await a.page.locator('#meetings .meeting', { hasText: 'Someday meeting' }).count(), 0);
  await a.ctx.close();
  assert.ok(!(await alice.json(['meetings', circle])).flat().some((m) => m.title === 'Someday meeting'));
});
