// Story: alice makes an invite on her page (7 days, 2 people), sees it as a QR code drawn by
// her node and as text to copy; bob joins with that text from his terminal; then alice revokes
// it, after a confirmation, and carol can no longer join with it.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Person, eventually, stopAll } = require('../lib/circle');
const { context, launch } = require('../lib/browser');

let alice;
let bob;
let carol;
let circle;
let browser;

before(async () => {
  alice = await Person.init('alice');
  bob = await Person.init('bob');
  carol = await Person.init('carol');
  await Promise.all([alice.up(), bob.up(), carol.up()]);
  circle = await alice.create('Tuesday evening');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice, bob, carol]);
});

test('an invite made on the page shows as a QR code and text, bob joins with it, and alice revokes it', async () => {
  const ctx = await context(browser);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await alice.signIn(ctx);
  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}`);
  await page.getByRole('navigation', { name: 'In Tuesday evening' }).getByRole('link', { name: 'Invite' }).click();
  await page.getByText('No invite of Tuesday evening can let anyone in right now.').waitFor();

  await page.getByLabel('How long it stays valid').selectOption({ label: '7 days' });
  await page.getByLabel('How many people may use it, 1 to 10').fill('2');
  await page.getByRole('button', { name: 'Make the invite' }).click();

  const made = page.locator('#invite-made');
  await made.getByRole('heading', { name: 'Your invite' }).waitFor();
  assert.match(await made.locator('#invite-facts').innerText(), /^It lets in 2 people, until .+\.$/);
  const token = await page.getByLabel('Or copy it and send it privately').inputValue();
  assert.ok(token.length > 20, token);

  // The QR code is an SVG the node drew, shown on the page.
  const qr = made.getByRole('img', { name: 'The invite as a QR code' });
  await eventually('the QR code to load', () => qr.evaluate((img) => img.complete && img.naturalWidth > 0), 30_000);
  const src = await qr.getAttribute('src');
  assert.ok(src.startsWith(`/c/${circle}/invite/qr?token=`), src);
  const svg = await page.evaluate((u) => fetch(u).then(async (r) => [r.headers.get('content-type'), await r.text()]), src);
  assert.equal(svg[0], 'image/svg+xml');
  assert.match(svg[1], /<svg[^>]*>.*<path/s);
  // Nobody else's invite, and nobody signed out, gets one drawn.
  const stranger = await context(browser);
  const out = await stranger.newPage();
  assert.equal((await out.goto(origin + src)).status(), 401);
  await stranger.close();

  await page.getByRole('button', { name: 'Copy' }).click();
  await page.locator('#invite-copied', { hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // The open invites show it at once.
  const open = page.locator('#open-invites');
  await open.getByText(/Lets in 2 more people/).waitFor();

  const joined = await bob.join(token);
  assert.equal(joined, circle);
  await page.reload();
  await open.getByText(/Lets in one more person/).waitFor();

  await open.getByRole('button', { name: 'Revoke' }).click();
  assert.match(await open.locator('.confirm p').innerText(), /Nobody can join with it any more/);
  assert.equal((await alice.json(['invites', circle])).length, 1, 'asking is not revoking');
  await open.getByRole('button', { name: 'Yes, revoke it' }).click();
  await open.getByText('No invite of Tuesday evening can let anyone in right now.').waitFor();
  assert.deepEqual(await alice.json(['invites', circle]), []);
  await assert.rejects(carol.join(token));
  await ctx.close();
});
