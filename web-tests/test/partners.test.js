// Partners: alice asks bob from her page, bob accepts on his, and a private message alice
// writes to him is on bob's page and nowhere on carol's.
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

async function open(person, path) {
  const ctx = await context(browser);
  const page = await person.signIn(ctx);
  await page.goto(`${new URL(page.url()).origin}/c/${circle}${path}`);
  return { ctx, page };
}

/** Reloads `page` until `locator` is on it. */
async function until(page, what, locator) {
  await eventually(what, async () => {
    if (await locator.count() > 0) return true;
    await page.reload();
    return false;
  });
}

const words = 'Thursday was hard. Can we talk after the meeting?';

test('a partner request made on one node is accepted on the other, and a private message reaches only the partner', async () => {
  const a = await open(alice, '/partners');
  const [bobInfo] = (await alice.json(['members', circle])).filter((m) => m.name === 'bob');
  await a.page.getByLabel('Who').selectOption(bobInfo.member);
  // Each member is named with their fingerprint.
  assert.match(await a.page.getByLabel('Who').locator('option:checked').innerText(), new RegExp(`bob · ${bobInfo.fingerprint}`));
  await a.page.getByRole('button', { name: 'Ask to be partners' }).click();
  await a.page.locator('#partners .partner', { hasText: 'waiting for their answer' }).waitFor();

  const b = await open(bob, '/partners');
  const asked = b.page.locator('#partners .partner', { hasText: 'Asked you' });
  await until(b.page, "alice's request on bob's page", asked);
  await asked.getByRole('button', { name: 'Accept' }).click();
  await b.page.locator('#partners .partner', { hasText: 'Your accountability partner since' }).waitFor();

  await until(a.page, 'bob as alice\'s partner', a.page.locator('#partners .partner', { hasText: 'Your accountability partner since' }));
  await a.page.getByLabel('A private message to bob').fill(words);
  await a.page.getByRole('button', { name: 'Send privately' }).click();
  await a.page.locator('#dms .item', { hasText: words }).waitFor();
  await a.ctx.close();

  await until(b.page, "alice's message on bob's page", b.page.locator('#dms .item', { hasText: words }));
  await b.ctx.close();

  // Something alice says afterwards reaches carol, so the private message would have too.
  await alice.share(circle, 'Thanks for tonight, everyone.');
  await eventually("alice's share on carol's node", async () =>
    (await carol.feed(circle)).some((i) => i.text === 'Thanks for tonight, everyone.'));
  for (const path of ['', '/partners']) {
    const c = await open(carol, path);
    await c.page.locator('main').waitFor();
    assert.equal(await c.page.getByText(words).count(), 0, `carol's ${path || 'feed'} page`);
    await c.ctx.close();
  }
});
