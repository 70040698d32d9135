// The set-up most story files share: people with a node each, alice's circle with the others
// in it, and the browser; undone after the file's tests, also when a step failed.
'use strict';

const { Person, circleOf, stopAll } = require('./circle');
const { launch } = require('./browser');

/** What `setUp` made in this test file (each file runs in a process of its own). */
const made = { people: [], browser: null };

/**
 * Each of `names` runs `circle init` in a new home and starts their node; with `circle`, the
 * first of them makes a circle of that name (`true`: "Tuesday evening") with all the others
 * in it; then the browser is launched. Returns the people by name, `circle` (its id) and
 * `browser`.
 */
async function setUp(names, { circle } = {}) {
  const cast = {};
  const people = [];
  for (const name of names) {
    const person = await Person.init(name);
    made.people.push(person);
    people.push(person);
    cast[name] = person;
  }
  await Promise.all(people.map((p) => p.up()));
  if (circle) {
    const [first, ...others] = people;
    cast.circle = await circleOf(first, others, ...(circle === true ? [] : [circle]));
  }
  made.browser = await launch();
  cast.browser = made.browser;
  return cast;
}

/** Closes the browser and stops everyone `setUp` made (call it in `after`). */
async function tearDown() {
  if (made.browser) await made.browser.close();
  await stopAll(made.people);
}

module.exports = { setUp, tearDown };
