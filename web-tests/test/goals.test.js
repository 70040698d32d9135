// Goals: alice sets one from the page for the circle, bob sees who set it, and reaching it is
// told once: a second "done" (from a tab that had not caught up) is refused in words.
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

const goal = 'Call my sponsor every evening this week';

async function goalsPage(person) {
  const ctx = await context(browser);
  const page = await person.signIn(ctx);
  await page.goto(`${new URL(page.url()).origin}/c/${circle}/goals`);
  return { ctx, page };
}

test('a goal set from the page reaches bob, with who set it and by when', async () => {
  const { ctx, page } = await goalsPage(alice);
  const by = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('A goal').fill(goal);
  await page.getByLabel('By when (optional)').fill(by);
  await page.getByRole('button', { name: 'Set the goal' }).click();
  const mine = page.locator('#goals-open .item', { hasText: goal });
  await mine.waitFor();
  assert.match(await mine.locator('.meta').innerText(), new RegExp(`alice.*by ${by}`));
  await ctx.close();

  await eventually("alice's goal on bob's node", async () =>
    (await bob.feed(circle)).some((i) => i.kind === 'goal' && i.text.includes(goal)));
  const other = await goalsPage(bob);
  const theirs = other.page.locator('#goals-open .item', { hasText: goal });
  await theirs.waitFor();
  assert.match(await theirs.locator('.meta').innerText(), /alice/);
  // Only alice can say she reached it.
  assert.equal(await theirs.getByRole('button', { name: 'Mark it done' }).count(), 0);
  await other.ctx.close();
});

test('a goal is marked done once; a second time, from another tab, is refused in words', async () => {
  const ctx = await context(browser);
  const first = await alice.signIn(ctx);
  const origin = new URL(first.url()).origin;
  await first.goto(`${origin}/c/${circle}/goals`);
  const second = await ctx.newPage();
  await second.goto(`${origin}/c/${circle}/goals`);

  await first.locator('#goals-open .item', { hasText: goal })
    .getByRole('button', { name: 'Mark it done' }).click();
  const reached = first.locator('#goals-reached .item', { hasText: goal });
  await reached.waitFor();
  assert.match(await reached.locator('.done').innerText(), /^Reached/);

  // The other tab still offers it; the node says no, plainly, and sends nothing.
  const stale = second.locator('#goals-open .item', { hasText: goal });
  await stale.getByRole('button', { name: 'Mark it done' }).click();
  await stale.getByRole('alert').getByText(/already done .*nothing new was sent/).waitFor();
  await ctx.close();

  await eventually('the goal reached on bob\'s node', async () =>
    (await bob.feed(circle)).some((i) => i.kind === 'goal-done'));
  assert.equal((await bob.feed(circle)).filter((i) => i.kind === 'goal-done').length, 1);
});
