// Two first-run stories: a node started locked is unlocked through its page, and a new person
// goes from an empty home to a joined circle and a first check-in, all in the browser.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { CIRCLE, Person, eventually, stopAll } = require('../lib/circle');
const { context, launch, seriousViolations, tabTo } = require('../lib/browser');

const PASSPHRASE = 'web tests: seven quiet lanterns by the river';

/** Starts `circle up --locked` with NO passphrase in its environment; waits until the
 * CLI finds the locked node (through H/api.json) and gives a sign-in link. */
async function upLocked(person) {
  const log = fs.openSync(path.join(person.dir, 'node.log'), 'w');
  const env = { ...process.env, CIRCLE_TEST_KDF: 'cheap' };
  delete env.CIRCLE_PASSPHRASE;
  delete env.CIRCLE_PASSPHRASE_FILE;
  delete env.CIRCLE_HOME;
  person.node = spawn(
    CIRCLE,
    ['--home', person.home, 'up', '--locked', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'],
    { env, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  let exited = null;
  person.node.on('exit', (code, signal) => { exited = signal || code; });
  return eventually(`${person.name}'s locked node to give a sign-in link`, async () => {
    if (exited !== null) throw new Error(`it stopped (${exited}): ${person.log().trim()}`);
    // Not before it says where it is: `circle open` would start a node of its own.
    return fs.existsSync(path.join(person.home, 'api.json')) && person.signInUrl();
  }, 30_000);
}

let alice;
let dana;
let erin;
let fay;
let gus;
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice, dana, erin, fay, gus]);
});

test('a locked node is unlocked through its page', async () => {
  dana = await Person.init('dana');
  // A circle made earlier with the CLI, while the node was not running.
  await dana.create('Thursday morning');
  const url = await upLocked(dana);
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(url);
  await page.getByRole('heading', { name: 'Unlock circle' }).waitFor();

  await page.getByLabel('Your passphrase').fill(PASSPHRASE.slice(0, -1));
  await page.getByRole('button', { name: 'Unlock' }).click();
  const refusal = page.locator('#unlock').getByRole('alert');
  await refusal.waitFor();
  const said = (await refusal.innerText()).trim();
  assert.equal(said, "the passphrase does not open this node's keys: try again");
  // Nothing opened: still the unlock page, and the node still says it is locked.
  assert.equal(new URL(page.url()).pathname, '/');
  await page.getByRole('heading', { name: 'Unlock circle' }).waitFor();
  const [status] = await dana.json(['status']);
  assert.notEqual(status.running, true, 'the node stays locked after a wrong passphrase');

  await page.getByLabel('Your passphrase').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByRole('heading', { name: 'Your circles' }).waitFor({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Thursday morning' }).waitFor();
  await ctx.close();
});

test('first run from an empty home to a joined circle and a first check-in', async () => {
  alice = await Person.init('alice');
  await alice.up();
  const circle = await alice.create('Tuesday evening');
  const invite = await alice.invite('Tuesday evening');

  erin = new Person('erin');
  const url = await upLocked(erin);
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(url);
  await page.getByRole('heading', { name: 'Welcome to circle' }).waitFor();

  await page.getByLabel('Your nickname').fill('erin');
  await page.getByLabel(/^A passphrase/).fill(PASSPHRASE);
  await page.getByLabel('The same passphrase again').fill(`${PASSPHRASE}x`);
  await page.getByRole('button', { name: 'Set up circle' }).click();
  const refusal = page.locator('#setup').getByRole('alert');
  await refusal.waitFor();
  const said = (await refusal.innerText()).trim();
  assert.equal(said, 'the two passphrases differ: type the same one twice');
  // Nothing was set up: still the welcome page, and the CLI still finds no node set up.
  await page.getByRole('heading', { name: 'Welcome to circle' }).waitFor();
  const [waiting] = await erin.json(['status']);
  assert.equal(waiting.locked, true);
  assert.equal(waiting.initialized, false, 'the CLI finds the node, still waiting to be set up');

  await page.getByLabel('The same passphrase again').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Set up circle' }).click();
  await page.getByText('You are in no circle yet').waitFor({ timeout: 60_000 });

  await page.getByLabel('The invite you were given').fill(invite);
  await page.getByRole('button', { name: 'Read about the circle first' }).click();
  const preview = page.locator('#join-preview');
  await preview.getByRole('heading', { name: 'Tuesday evening' }).waitFor();
  await preview.getByRole('button', { name: 'I have read this: join Tuesday evening' }).click();
  await page.waitForURL(new RegExp(`/c/${circle}$`), { timeout: 60_000 });

  const origin = new URL(page.url()).origin;
  await page.goto(`${origin}/c/${circle}/check-in`);
  await page.getByLabel('Okay', { exact: true }).check();
  await page.getByLabel(/^Mood/).fill('7');
  await page.getByLabel('A note (optional)').fill('my first week');
  await page.getByLabel(/^Everyone in/).check();
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.waitForURL(`${origin}/c/${circle}`);

  const arrived = await eventually("erin's check-in in alice's feed", async () =>
    (await alice.feed(circle)).find((i) => i.kind === 'checkin' && i.author_name === 'erin'));
  assert.ok(arrived);
  await ctx.close();
});

test('the locked, welcome and unlock pages pass the accessibility scan and work by keyboard alone', async () => {
  // A new home: the welcome (first-run) page, and what a browser that is not signed in sees.
  fay = new Person('fay');
  const welcome = await upLocked(fay);
  const stranger = await context(browser);
  const signedOut = await stranger.newPage();
  const origin = new URL(welcome).origin;
  assert.equal((await signedOut.goto(origin + '/')).status(), 401);
  assert.deepEqual(await seriousViolations(signedOut), [], 'the locked node, signed out');
  await stranger.close();

  let ctx = await context(browser);
  let page = await ctx.newPage();
  await page.goto(welcome);
  await page.getByRole('heading', { name: 'Welcome to circle' }).waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'the welcome page');
  await tabTo(page, '#name');
  await page.keyboard.type('fay');
  await tabTo(page, '#passphrase');
  await page.keyboard.type('short');
  await tabTo(page, '#again');
  await page.keyboard.type('short');
  await page.keyboard.press('Enter');
  await page.locator('#setup').getByRole('alert').waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'the welcome page, saying what to fix');
  await page.locator('#passphrase').fill(PASSPHRASE);
  await page.locator('#again').fill(PASSPHRASE);
  await tabTo(page, 'button[type=submit]');
  await page.keyboard.press('Enter');
  await page.getByText('You are in no circle yet').waitFor({ timeout: 60_000 });
  await ctx.close();

  // A home set up before: the unlock page.
  gus = await Person.init('gus');
  const unlock = await upLocked(gus);
  ctx = await context(browser);
  page = await ctx.newPage();
  await page.goto(unlock);
  await page.getByRole('heading', { name: 'Unlock circle' }).waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'the unlock page');
  await tabTo(page, '#passphrase');
  await page.keyboard.type('not my passphrase');
  await page.keyboard.press('Enter');
  await page.locator('#unlock').getByRole('alert').waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'the unlock page, saying it was wrong');
  await page.locator('#passphrase').fill(PASSPHRASE);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Your circles' }).waitFor({ timeout: 60_000 });
  await ctx.close();
});
