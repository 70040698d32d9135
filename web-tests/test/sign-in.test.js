// Story 1: alice signs in with the one-time link `circle open` gives her; the link does not
// work twice, and a browser without her cookie sees how to sign in, not her circles.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Person, stopAll } = require('../lib/circle');
const { context, launch } = require('../lib/browser');

let alice;
let browser;

before(async () => {
  alice = await Person.init('alice');
  await alice.up();
  await alice.create('Tuesday evening');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice]);
});

test('the sign-in link shows your circles once, then says it was already used', async () => {
  const url = await alice.signInUrl();
  const ctx = await context(browser);
  const page = await ctx.newPage();

  const first = await page.goto(url);
  assert.equal(first.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/', 'the link lands on the home page');
  assert.equal(await page.locator('h1').innerText(), 'Your circles');
  await page.getByRole('link', { name: 'Tuesday evening' }).waitFor();
  assert.ok(!page.url().includes('code='), 'the code does not stay in the address bar');

  const [cookie, ...more] = await ctx.cookies();
  assert.equal(more.length, 0, 'one cookie');
  assert.equal(cookie.httpOnly, true, 'the page script cannot read the session');
  assert.equal(cookie.sameSite, 'Strict', 'other sites cannot send it');

  const second = await page.goto(url);
  assert.equal(second.status(), 410);
  assert.match(await page.locator('main').innerText(), /already used/);
  assert.doesNotMatch(await page.locator('main').innerText(), /Tuesday evening/);
  await ctx.close();
});

test('a browser that never signed in is told how to open circle, and sees no circle', async () => {
  const origin = await alice.origin();
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const response = await page.goto(origin + '/');
  assert.equal(response.status(), 401);
  const main = await page.locator('main').innerText();
  assert.match(main, /not signed in/);
  assert.match(main, /circle open/);
  assert.doesNotMatch(await page.content(), /Tuesday evening/);
  await ctx.close();
});
