// The feed, complete: a reply shows what it answers, reactions gather under their message,
// withdrawing asks first and then takes the words off every node, a share can disappear, and
// older messages are a page away.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('../lib/circle');
const { context } = require('../lib/browser');
const { setUp, tearDown } = require('../lib/story');

let alice;
let bob;
let carol;
let circle;
let browser;

before(async () => {
  ({ alice, bob, carol, circle, browser } = await setUp(['alice', 'bob', 'carol'], { circle: true }));
});

after(tearDown);

/** Someone's circle page, signed in, in a fresh browser context. */
async function circlePage(person) {
  const ctx = await context(browser);
  const page = await person.signIn(ctx);
  await page.goto(`${new URL(page.url()).origin}/c/${circle}`);
  return { ctx, page };
}

/** Waits until `person`'s node holds a message of the circle that `probe` picks out. */
async function reaches(person, what, probe) {
  await eventually(`${what} on ${person.name}'s node`, async () =>
    (await person.feed(circle)).some(probe));
}

/** The item of the feed on `page` that says `text`, reloading until it is there. */
async function itemSaying(page, text) {
  const item = page.locator('#feed .item', { has: page.locator('p.text', { hasText: text }) });
  await eventually(`"${text}" on the page`, async () => {
    if (await item.count() > 0) return true;
    await page.reload();
    return false;
  });
  return item;
}

test("alice's reply from the page shows on bob's page with the start of what it answers", async () => {
  const said = 'Ninety days today. I did not think I would get here.';
  await bob.share(circle, said);
  await reaches(alice, "bob's share", (i) => i.text === said);

  const { ctx, page } = await circlePage(alice);
  const theirs = await itemSaying(page, 'Ninety days today');
  // Who wrote it, with their fingerprint, so two people called bob never look alike.
  const shown = await theirs.locator('.meta').innerText();
  assert.match(shown, /bob/);
  const fingerprint = (await bob.feed(circle)).find((i) => i.text === said).author_fingerprint;
  assert.ok(shown.includes(fingerprint), `${shown} names bob's fingerprint ${fingerprint}`);

  await theirs.getByText('Reply', { exact: true }).click();
  await theirs.getByLabel('Your reply to bob').fill('So proud of you. See you Thursday.');
  await theirs.getByRole('button', { name: 'Send reply' }).click();
  await ctx.close();

  await reaches(bob, "alice's reply", (i) => i.text === 'So proud of you. See you Thursday.');
  const other = await circlePage(bob);
  const reply = await itemSaying(other.page, 'So proud of you');
  assert.match(await reply.locator('.quote').innerText(), /In reply to .*Ninety days today/);
  await other.ctx.close();
});

test('reactions from two members are grouped under the message they answer', async () => {
  const said = 'Called my sponsor instead of the bar.';
  await bob.share(circle, said);
  await reaches(alice, "bob's share", (i) => i.text === said);
  await reaches(carol, "bob's share", (i) => i.text === said);

  for (const person of [alice, carol]) {
    const { ctx, page } = await circlePage(person);
    const item = await itemSaying(page, said);
    await item.getByRole('button', { name: 'React ❤' }).click();
    // The page shows it at once, grouped, once the node has it.
    await item.locator('.reacted', { hasText: person.name }).waitFor();
    await ctx.close();
  }

  const { ctx, page } = await circlePage(bob);
  await itemSaying(page, said);
  await eventually('both reactions under bob\'s message', async () => {
    const text = await page.locator('#feed .item', { has: page.locator('p.text', { hasText: said }) })
      .locator('.reacted').innerText().catch(() => '');
    if (/❤ 2: .*alice.*carol|❤ 2: .*carol.*alice/.test(text)) return true;
    await page.reload();
    return false;
  });
  // Grouped, not one line a reaction in the feed.
  assert.equal(await page.locator('#feed .item[data-kind=reaction]').count(), 0);
  await ctx.close();
});

test("withdrawing asks first, then the words are gone from bob's page", async () => {
  const said = 'I said too much about my brother here, taking it back.';
  const { ctx, page } = await circlePage(alice);
  await page.getByLabel('Share with Tuesday evening').fill(said);
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const mine = await itemSaying(page, said);
  await reaches(bob, "alice's share", (i) => i.text === said);

  await mine.getByRole('button', { name: 'Withdraw' }).click();
  // Nothing is sent until she says yes, and she is told what will happen.
  await mine.getByText(/removed from this feed on every member's computer/).waitFor();
  assert.equal((await bob.feed(circle)).filter((i) => i.text === said).length, 1);
  await mine.getByRole('button', { name: 'Yes, withdraw it' }).click();
  await page.locator('#feed p.text', { hasText: said }).waitFor({ state: 'detached' });
  await ctx.close();

  await eventually("the words gone from bob's node", async () =>
    !(await bob.feed(circle)).some((i) => i.text === said));
  const other = await circlePage(bob);
  assert.equal(await other.page.getByText(said).count(), 0);
  await other.ctx.close();
});

test('only my own messages offer Withdraw', async () => {
  const { ctx, page } = await circlePage(alice);
  const theirs = await itemSaying(page, 'Called my sponsor instead of the bar.');
  assert.equal(await theirs.getByRole('button', { name: 'Withdraw' }).count(), 0);
  const mine = await itemSaying(page, 'So proud of you');
  assert.equal(await mine.getByRole('button', { name: 'Withdraw' }).count(), 1);
  await ctx.close();
});

test('a share set to disappear after 24 hours says so', async () => {
  const { ctx, page } = await circlePage(alice);
  await page.getByLabel('Share with Tuesday evening').fill('Only for today: I am struggling.');
  await page.getByLabel('Disappear after').selectOption('24h');
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const item = await itemSaying(page, 'Only for today');
  assert.match(await item.locator('.expires').innerText(), /^Disappears in 2[34] h$/);
  const [held] = (await alice.feed(circle)).filter((i) => i.text === 'Only for today: I am struggling.');
  assert.ok(held.expires_at, 'the node holds when it disappears');
  await ctx.close();
});

test('the first screen shows the newest 50, and "Older messages" pages back', async () => {
  const { ctx, page } = await circlePage(alice);
  const api = `/v1/circles/${circle}/shares`;
  await page.evaluate(async (url) => {
    for (let n = 1; n <= 55; n++) {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `Step note ${n}.` }),
      });
      if (!r.ok) throw new Error(`share ${n}: ${r.status}`);
    }
  }, api);
  await page.reload();
  const items = page.locator('#feed > li');
  assert.equal(await items.count(), 50);
  await page.locator('#feed p.text', { hasText: 'Step note 55.' }).waitFor();
  assert.equal(await page.locator('#feed p.text', { hasText: /^Step note 6\.$/ }).count(), 1);
  assert.equal(await page.locator('#feed p.text', { hasText: /^Step note 5\.$/ }).count(), 0);

  await page.getByRole('link', { name: 'Older messages' }).click();
  await page.locator('#feed p.text', { hasText: /^Step note 5\.$/ }).waitFor();
  assert.equal(await page.locator('#feed p.text', { hasText: /^Step note 1\.$/ }).count(), 1);
  assert.equal(await page.locator('#feed p.text', { hasText: /^Step note 6\.$/ }).count(), 0);
  // The page before holds what was said before the notes too.
  await page.locator('#feed p.text', { hasText: 'Ninety days today' }).waitFor();
  await page.getByRole('link', { name: 'Back to the newest messages' }).click();
  await page.locator('#feed p.text', { hasText: 'Step note 55.' }).waitFor();
  await ctx.close();
});
