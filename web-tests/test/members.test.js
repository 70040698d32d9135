// Story: alice, an admin, keeps her circle's members page: she makes carol an admin and a plain
// member again, lets every member invite, and removes bob only after a confirmation that names
// him with his fingerprint; bob's node then says he was removed. carol leaves from her own
// page, after a confirmation that says what leaving means.
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
  await eventually('bob and carol on alice\'s node', async () =>
    (await alice.json(['members', circle])).length === 3);
});

after(tearDown);

/** Someone's member entry, as their own node lists it in `circle`. */
async function member(person, name) {
  return (await person.json(['members', circle])).find((m) => m.name === name);
}

async function standing(person) {
  return (await person.json(['circles'])).find((c) => c.id === circle).standing;
}

test('alice makes carol an admin and a plain member again, and lets every member invite', async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}`);
  await page.getByRole('navigation', { name: 'In Tuesday evening' }).getByRole('link', { name: 'Members' }).click();
  await page.getByRole('heading', { name: 'Members of Tuesday evening' }).waitFor();

  // Everyone, each with their fingerprint.
  const list = page.locator('#members');
  for (const name of ['alice', 'bob', 'carol']) {
    const m = await member(alice, name);
    await list.getByText(`· ${m.fingerprint}`, { exact: true }).waitFor();
  }

  await page.getByRole('button', { name: 'Make carol an admin' }).click();
  await page.getByRole('button', { name: 'Make carol a plain member again' }).waitFor();
  assert.equal((await member(alice, 'carol')).role, 'admin');
  await page.getByRole('button', { name: 'Make carol a plain member again' }).click();
  await page.getByRole('button', { name: 'Make carol an admin' }).waitFor();
  assert.equal((await member(alice, 'carol')).role, 'member');

  assert.equal(await page.getByLabel('Only admins').isChecked(), true);
  await page.getByLabel('Every member').check();
  // Saving reloads the page itself: wait for that load, not a second navigation of ours
  // (which would race it).
  const reloaded = page.waitForEvent('load');
  await page.getByRole('button', { name: 'Save who may invite' }).click();
  await reloaded;
  await eventually('the policy on alice\'s node', async () =>
    (await alice.json(['circles'])).find((c) => c.id === circle).invites === 'members', 30_000);
  assert.equal(await page.getByLabel('Every member').isChecked(), true);
  await ctx.close();
});

test('alice removes bob only after a confirmation naming him and his fingerprint, and bob is told', async () => {
  const bobs = await member(alice, 'bob');
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/members`);

  await page.getByRole('button', { name: 'Remove bob' }).click();
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Yes, remove bob' }) });
  const question = await form.locator('.confirm p').innerText();
  assert.match(question, new RegExp(`Remove bob · ${bobs.fingerprint} from Tuesday evening\\?`));
  assert.match(question, /new key that they do not have/);
  // Asking is not removing.
  assert.ok(await member(alice, 'bob'), 'bob is still a member before yes');

  // "Keep them" sends nothing.
  await form.getByRole('button', { name: 'Keep them' }).click();
  assert.ok(await member(alice, 'bob'));

  await page.getByRole('button', { name: 'Remove bob' }).click();
  await page.getByRole('button', { name: 'Yes, remove bob' }).click();
  await eventually('bob gone from the page', async () => (await page.locator('#members').getByText(bobs.fingerprint).count()) === 0, 30_000);
  assert.equal(await member(alice, 'bob'), undefined);
  await eventually('bob\'s node to say he was removed', async () => (await standing(bob)) === 'removed');
  await ctx.close();
});

test('carol leaves from her page after a confirmation saying what leaving means', async () => {
  const ctx = await context(browser);
  const page = await carol.signIn(ctx);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/members`);
  // carol is no admin: nothing to remove or promote.
  assert.equal(await page.getByRole('button', { name: /^Remove / }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /admin/ }).count(), 0);

  await page.getByRole('button', { name: 'Leave Tuesday evening' }).click();
  const question = await page.locator('#leave .confirm p').innerText();
  assert.match(question, /stop receiving new messages/);
  assert.match(question, /stays readable on this computer/);
  assert.match(question, /new invite from a member brings you back/);
  assert.equal(await standing(carol), 'member', 'asking is not leaving');

  await page.getByRole('button', { name: 'Yes, leave' }).click();
  await page.getByText('You left Tuesday evening.').waitFor();
  assert.equal(await standing(carol), 'left');
  await eventually('carol gone from alice\'s members', async () => (await member(alice, 'carol')) === undefined);
  await ctx.close();
});
