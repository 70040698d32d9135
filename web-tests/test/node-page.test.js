// Story: alice opens "This node" from her home page: it says her node runs and when bob's node
// was seen; she sets her country and adds her sponsor's number, and the country's lines (988,
// 911) stay, after her own.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
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

test('this node says it runs and who was seen, and a crisis line of her own keeps 988 and 911', async () => {
  assert.ok(circle);
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  await page.getByRole('link', { name: /This node/ }).click();
  await page.getByRole('heading', { name: 'This node', level: 1 }).waitFor();
  await page.getByText('Yes: your node is running on this computer.').waitFor();
  await page.locator('.seen li', { hasText: /^bob: (connected now|last connected)/ }).waitFor();

  await page.getByLabel(/Your country/).fill('US');
  await page.getByLabel(/Lines of your own to add/).fill('My sponsor: +1 555 0100');
  await page.getByRole('button', { name: 'Save crisis lines' }).click();
  const lines = page.locator('.lines');
  await lines.getByText('My sponsor').waitFor();
  const shown = await lines.innerText();
  assert.match(shown, /988/);
  assert.match(shown, /911/);
  assert.ok(shown.indexOf('My sponsor') < shown.indexOf('988'), 'her own line first');

  const [saved] = await alice.json(['crisis-lines']);
  const contacts = JSON.stringify(saved);
  for (const s of ['+1 555 0100', '988', '911']) assert.ok(contacts.includes(s), `${s} in ${contacts}`);

  // A line that is not one is refused beside the form, in words.
  await page.getByLabel(/Lines of your own to add/).fill('just a number');
  await page.getByRole('button', { name: 'Save crisis lines' }).click();
  await page.locator('#crisis .error', { hasText: /is not a crisis line/ }).waitFor();
  await ctx.close();
});
