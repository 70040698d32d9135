// Story 8: every page passes an axe-core scan with no serious or critical violations, the
// check-in can be filled and sent with the keyboard alone, and at 360 px wide nothing runs off
// the side. Also saves the screenshots in docs/screenshots/ (1280 and 360 px wide).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Person, circleOf, eventually, stopAll } = require('../lib/circle');
const { context, launch, screenshot, seriousViolations, tabTo } = require('../lib/browser');

let alice;
let bob;
let carol;
let circle;
let browser;
let ctx;
let page;
let origin;

before(async () => {
  alice = await Person.init('alice', 'Alice');
  bob = await Person.init('bob', 'Ben');
  carol = await Person.init('carol', 'Carol');
  await Promise.all([alice.up(), bob.up(), carol.up()]);
  const file = path.join(alice.dir, 'guidelines.txt');
  fs.writeFileSync(file, 'First names only. What is said here stays here. No crosstalk.');
  circle = await circleOf(alice, [bob, carol], 'Tuesday evening', ['--format', '12-step', '--guidelines', file]);
  await alice.create('Morning walkers');
  await alice.ok(['crisis-lines', '--country', 'US']);
  await bob.share(circle, 'Made it to the Thursday meeting. Day 12, and I am proud of it.');
  await carol.share(circle, 'Rough afternoon. I went for a walk instead of calling my old friend. Better now.');
  await carol.share(circle, 'A link someone asked for: https://example.org/meetings/tuesdayeveningcirclesharedresourcesforthenewcomers');
  await eventually('the shares on alice\'s node', async () =>
    (await alice.feed(circle)).filter((i) => i.kind === 'share').length === 3);
  browser = await launch();
  ctx = await context(browser);
  page = await alice.signIn(ctx);
  origin = new URL(page.url()).origin;
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice, bob, carol]);
});

/** The pages a person can be on, by name. */
const pages = () => ({
  home: '/',
  circle: `/c/${circle}`,
  'check-in': `/c/${circle}/check-in`,
  'reach-out': `/c/${circle}/reach-out`,
  goals: `/c/${circle}/goals`,
  clocks: '/clocks',
  partners: `/c/${circle}/partners`,
  meetings: `/c/${circle}/meetings`,
  'help-now': '/help-now',
  members: `/c/${circle}/members`,
  invite: `/c/${circle}/invite`,
  node: '/node',
});

test('every page has no serious or critical accessibility violations', async () => {
  for (const [name, route] of Object.entries(pages())) {
    await page.setViewportSize({ width: 1280, height: 900 });
    const response = await page.goto(origin + route);
    assert.equal(response.status(), 200, name);
    assert.deepEqual(await seriousViolations(page), [], name);
  }
  const stranger = await context(browser);
  const signedOut = await stranger.newPage();
  assert.equal((await signedOut.goto(origin + '/')).status(), 401);
  assert.deepEqual(await seriousViolations(signedOut), [], 'signed out');
  await stranger.close();
});

test('at 360 px wide nothing runs off the side of any page', async () => {
  await page.setViewportSize({ width: 360, height: 740 });
  for (const [name, route] of Object.entries(pages())) {
    await page.goto(origin + route);
    const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(width <= 360, `${name} is ${width} px wide`);
  }
});

test('the check-in can be filled in and sent with the keyboard alone', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${origin}/c/${circle}/check-in`);
  await tabTo(page, 'input[name=day]');
  // Arrow keys move within the day's choices; Space picks the one focused.
  await tabTo(page, '#day-4, #day-5');
  await page.keyboard.press('Space');
  await tabTo(page, '#mood');
  await page.keyboard.type('7');
  await tabTo(page, '#craving');
  await page.keyboard.type('2');
  await tabTo(page, '#trigger-tired');
  await page.keyboard.press('Space');
  await tabTo(page, '#note');
  await page.keyboard.type('Slept badly, but I am here.');
  await tabTo(page, 'input[name=to]');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'to-me');
  await tabTo(page, 'button[type=submit]');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${origin}/c/${circle}`);

  const mine = (await alice.json(['checkins', circle]))[0].checkins;
  const sent = mine.find((c) => c.note === 'Slept badly, but I am here.');
  assert.ok(sent, 'the check-in was saved');
  assert.equal(sent.mood, 7);
  assert.equal(sent.craving, 2);
  assert.deepEqual(sent.triggers, ['tired']);
  assert.equal(sent.to, 'me');
  assert.ok([4, 5].includes(sent.day));
});

test('screenshots of the main pages at 1280 and 360 px wide', async () => {
  const shots = { home: '/', circle: `/c/${circle}`, 'check-in': `/c/${circle}/check-in`, 'reach-out': `/c/${circle}/reach-out` };
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 900 });
    for (const [name, route] of Object.entries(shots)) {
      await page.goto(origin + route);
      await page.evaluate(() => document.fonts.ready);
      const file = await screenshot(page, name);
      assert.ok(fs.statSync(file).size > 0);
    }
  }
});
