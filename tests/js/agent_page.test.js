/*
 * agent_page.test.js - the browser agent page (/agent/) in headless chromium,
 * driven by playwright-core (run by tests/eventbridge_test.sh after
 * eventbridge.test.js, on the same node): the page connects with a token from
 * its URL, shows alice's activity, a reservation arrives, a click accepts it
 * and the node reports it accepted; a click completes it; an activity button
 * changes the activity. Env: CHROMIUM plus what eb_helpers.js reads.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./eb_helpers.js');

const { chromium } = h.need('playwright-core');
const WS = h.workspaceSid;

let browser, page, profile, alice;
const consoleLines = [];

test.before(async () => {
  alice = await h.workerByName('alice');
  await h.admin('POST', `Workspaces/${WS}/Workers/${alice.sid}`, { ActivitySid: (await h.activityByName('Available')).sid });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'swb-chromium-'));
  /* A fresh profile directory (playwright passes it as --user-data-dir). */
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
});

test.after(async () => {
  if (browser) await browser.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

function dumpOnFailure(fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      console.log('# browser console:\n' + consoleLines.map((l) => '#   ' + l).join('\n'));
      if (page) console.log('# page log:\n' + (await page.locator('#log').innerText().catch(() => '?')));
      throw e;
    }
  };
}

test('without a token the page says how to get one', dumpOnFailure(async () => {
  await page.goto(`http://${h.env.http}/agent/`);
  await page.waitForSelector('body[data-state="error"]', { timeout: 10000 });
  assert.match(await page.locator('#no-token').innerText(), /tokens\.twilio/);
}));

test('the page connects with its token and shows the worker and activity', dumpOnFailure(async () => {
  const token = h.mint({ workerSid: alice.sid, identity: 'alice' });
  await page.goto(`http://${h.env.http}/agent/?token=${token}`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 15000 });
  assert.match(await page.locator('#worker-name').innerText(), /alice/);
  assert.equal(await page.locator('#activity').innerText(), 'Available');
}));

test('a reservation appears; clicking Accept accepts it on the node; Complete completes it', dumpOnFailure(async () => {
  const taskSid = await h.createTask({ type: 'inbound', from: '+15550002222', note: '<b>not html</b>' });
  const card = page.locator(`li.reservation[data-task="${taskSid}"]`);
  await card.waitFor({ timeout: 15000 });
  assert.equal(await card.locator('.status').innerText(), 'pending');
  assert.match(await card.locator('pre.attrs').innerText(), /<b>not html<\/b>/);
  const resSid = await card.getAttribute('data-sid');

  await card.locator('button.accept').click();
  await page.waitForSelector(`li.reservation[data-sid="${resSid}"].accepted`, { timeout: 10000 });
  const onNode = await h.admin('GET', `Workspaces/${WS}/Workers/${alice.sid}/Reservations/${resSid}`);
  assert.equal(onNode.reservation_status, 'accepted');
  assert.equal(onNode.task.assignment_status, 'assigned');

  await page.locator(`li.reservation[data-sid="${resSid}"] button.complete`).click();
  await page.waitForSelector(`li.reservation[data-sid="${resSid}"]`, { state: 'detached', timeout: 10000 });
  const task = await h.admin('GET', `Workspaces/${WS}/Tasks/${taskSid}`);
  assert.equal(task.assignment_status, 'completed');
}));

test('an activity button changes the worker activity', dumpOnFailure(async () => {
  await page.locator('#activities button[data-activity="Unavailable"]').click();
  await page.waitForFunction(() => document.getElementById('activity').textContent === 'Unavailable', null,
    { timeout: 10000 });
  const w = await h.admin('GET', `Workspaces/${WS}/Workers/${alice.sid}`);
  assert.equal(w.activity_name, 'Unavailable');
}));
