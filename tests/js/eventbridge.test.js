/*
 * eventbridge.test.js - an unmodified twilio-taskrouter@2.1.1 Worker against
 * swb-node's EventBridge (run by tests/eventbridge_test.sh, which starts the
 * node with tests/data/eventbridge/workspace.json: alice available, bob
 * offline, every task to the "Everyone" queue). Tests run in order and share
 * the node; each says the behaviour it checks.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./eb_helpers.js');

const { Worker } = h.need('twilio-taskrouter');
const WebSocket = h.need('ws');

const WS = h.workspaceSid;
let alice, bob, offline, available, unavailable;
const workers = []; /* every SDK Worker made, disconnected at the end */

function newWorker(token, extra = {}) {
  const w = new Worker(token, { ebServer: h.EB_URL, wsServer: h.WS_URL, logLevel: 'silent', ...extra });
  w.on('error', () => {}); /* reconnect attempts report errors; the tests look at events instead */
  workers.push(w);
  return w;
}

/* A raw socket (the ws package, as the SDK uses) that records frames and its close. */
function rawSocket(token, query = '') {
  const sock = new WebSocket(`${h.WS_URL}?token=${token}&closeExistingSessions=false&clientVersion=2.1.1${query}`);
  sock.frames = [];
  sock.closed = new Promise((resolve) => sock.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  sock.on('message', (data) => sock.frames.push(String(data)));
  sock.on('error', () => {});
  return sock;
}

const workerNow = (sid) => h.admin('GET', `Workspaces/${WS}/Workers/${sid}`);

test.after(() => {
  for (const w of workers) {
    try { w.disconnect(); } catch (e) { /* already gone */ }
  }
});

test('setup: the node serves the workspace through an admin Access Token', async () => {
  alice = await h.workerByName('alice');
  bob = await h.workerByName('bob');
  offline = await h.activityByName('Offline');
  available = await h.activityByName('Available');
  unavailable = await h.activityByName('Unavailable');
  assert.equal(alice.activity_name, 'Available');
  assert.equal(typeof alice.date_created, 'number', 'EventBridge dates are epoch seconds');
  assert.equal(typeof alice.attributes, 'string', 'attributes are a JSON string');
});

test('bad requests are answered with a status and an error JSON, and change nothing', async () => {
  const url = `Workspaces/${WS}/Workers/${alice.sid}`;
  const change = { ActivitySid: offline.sid };
  const wrongKey = h.mint({ workerSid: alice.sid, secret: 'f'.repeat(32) });
  let r = await h.ebPost({ url, method: 'POST', params: change, token: wrongKey });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.code, 20101);
  assert.match(r.body.message, /signature/);

  const now = Math.floor(Date.now() / 1000);
  const expired = h.rawJwt({
    jti: `${h.creds.api_key_sid}-${now - 7200}`, iss: h.creds.api_key_sid, sub: h.creds.account_sid,
    iat: now - 7200, exp: now - 3600,
    grants: { identity: 'alice', task_router: { workspace_sid: WS, worker_sid: alice.sid, role: 'worker' } },
  });
  r = await h.ebPost({ url, method: 'POST', params: change, token: expired });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.code, 20104);
  assert.match(r.body.message, /expired/);

  const otherWs = 'WS' + 'ab'.repeat(16);
  r = await h.ebPost({ url, method: 'POST', params: change, token: h.mint({ workerSid: alice.sid, ws: otherWs }) });
  assert.equal(r.status, 401, r.text);
  assert.match(r.body.message, /does not exist on this node/);

  const aliceToken = h.mint({ workerSid: alice.sid });
  r = await h.ebPost({ url: `Workspaces/${otherWs}/Workers/${alice.sid}`, method: 'POST', params: change, token: aliceToken });
  assert.equal(r.status, 403, r.text);
  assert.match(r.body.message, /this token is for workspace/);

  r = await h.ebPost({ url: `Workspaces/${WS}/Workers/${bob.sid}`, method: 'POST', params: { ActivitySid: available.sid },
    token: aliceToken });
  assert.equal(r.status, 403, 'a worker token may not change another worker');

  r = await h.ebPost('{"url": "Workspaces/", "method": ');
  assert.equal(r.status, 400);
  assert.match(r.body.message, /malformed JSON/);

  r = await h.ebPost({ url, method: 'POST', params: change, token: aliceToken, extra: 1 });
  assert.equal(r.status, 400, 'unknown envelope fields are refused');

  r = await h.ebPost({ url: `Workspaces/${WS}/Nonsense/${alice.sid}`, method: 'GET', params: {}, token: aliceToken });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.body.code, 20404);

  r = await h.ebPost({ url, method: 'POST', params: { ActivitySid: offline.sid, Bogus: 1 }, token: aliceToken });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.message, /Bogus/);

  r = await h.ebPost({ url, method: 'POST', params: { ActivitySid: 'WA' + '0'.repeat(32) }, token: aliceToken });
  assert.equal(r.status, 404, r.text);

  const after = await workerNow(alice.sid);
  assert.equal(after.activity_sid, available.sid, 'alice is still available');
  const bobAfter = await workerNow(bob.sid);
  assert.equal(bobAfter.activity_sid, offline.sid, 'bob is still offline');
});

test('the WebSocket refuses a bad token by closing with 4001 and a reason', async () => {
  const sock = rawSocket(h.mint({ workerSid: alice.sid, secret: 'e'.repeat(32) }));
  const { code, reason } = await sock.closed;
  assert.equal(code, 4001);
  assert.match(reason, /Invalid Access Token/);
  assert.equal(sock.frames.length, 0, 'no init for a refused socket');
});

test('init comes once with channel_id, account, workspace and the lifetime; expiry closes the socket', async () => {
  const sock = rawSocket(h.mint({ workerSid: alice.sid, ttl: 3 }), '&setWorkerOfflineIfDisconnected=false');
  const { code, reason } = await sock.closed;
  const inits = sock.frames.filter((f) => f.trim()).map((f) => JSON.parse(f));
  assert.equal(inits.length, 1);
  assert.equal(inits[0].event_type, 'init');
  const p = inits[0].payload;
  assert.equal(p.channel_id, alice.sid);
  assert.equal(p.account_sid, h.creds.account_sid);
  assert.equal(p.workspace_sid, WS);
  assert.ok(p.token_lifetime > 0 && p.token_lifetime <= 3000, `token_lifetime ${p.token_lifetime}`);
  assert.equal(code, 4001);
  assert.match(reason, /expired/);
});

let w; /* alice's main Worker */

test('a Worker connects, emits ready and sees its worker, activities and channels', async () => {
  w = newWorker(h.mint({ workerSid: alice.sid, identity: 'alice' }));
  await h.next(w, 'ready');
  assert.equal(w.sid, alice.sid);
  assert.equal(w.accountSid, h.creds.account_sid);
  assert.equal(w.workspaceSid, WS);
  assert.equal(w.name, 'alice');
  assert.equal(w.activity.name, 'Available');
  assert.equal(w.activities.size, 3);
  assert.ok(w.channels.size >= 1);
  assert.deepEqual(w.attributes.skills, ['support']);
  assert.equal(w.reservations.size, 0);
  /* /metrics counts the SDK's socket */
  const metrics = await (await fetch(`http://${process.env.SWB_HTTP}/metrics`)).text();
  assert.match(metrics, /^swb_sdk_sockets [1-9]/m);
});

test('a new task reaches the Worker as reservation.created; accept and complete it', async () => {
  const created = h.next(w, 'reservationCreated');
  const taskSid = await h.createTask({ type: 'inbound', from: '+15550001111' });
  const r = await created;
  assert.equal(r.task.sid, taskSid);
  assert.equal(r.status, 'pending');
  assert.equal(r.task.status, 'reserved');
  assert.equal(r.task.attributes.from, '+15550001111');
  assert.equal(r.task.queueName, 'Everyone');
  assert.equal(r.timeout, 120);

  const accepted = h.next(r, 'accepted');
  await r.accept();
  await accepted;
  assert.equal(r.status, 'accepted');
  assert.equal(r.task.status, 'assigned');
  const onNode = await h.admin('GET', `Workspaces/${WS}/Workers/${alice.sid}/Reservations/${r.sid}`);
  assert.equal(onNode.reservation_status, 'accepted');

  const taskDone = h.next(r.task, 'completed');
  const resDone = h.next(r, 'completed');
  await r.task.complete('resolved');
  await taskDone;
  await resDone;
  assert.equal(r.task.status, 'completed');
  assert.equal(r.task.reason, 'resolved');
  assert.equal(w.reservations.has(r.sid), false);
});

test('rejecting with an activity moves the worker there (worker.activity.update)', async () => {
  const created = h.next(w, 'reservationCreated');
  await h.createTask({ type: 'inbound', n: 2 });
  const r = await created;
  const rejected = h.next(r, 'rejected');
  const moved = h.next(w, 'activityUpdated', 10000, () => w.activity.name === 'Unavailable');
  await r.reject({ activitySid: unavailable.sid });
  await rejected;
  await moved;
  assert.equal(r.status, 'rejected');
  assert.equal((await workerNow(alice.sid)).activity_name, 'Unavailable');
});

test('setAsCurrent changes the activity; attributes updates come back as attributesUpdated', async () => {
  const moved = h.next(w, 'activityUpdated', 10000, () => w.activity.name === 'Available');
  await w.activities.get(available.sid).setAsCurrent();
  await moved;
  assert.equal((await workerNow(alice.sid)).activity_name, 'Available');

  const updated = h.next(w, 'attributesUpdated');
  await w.setAttributes({ ...w.attributes, languages: ['en', 'fr'] });
  await updated;
  assert.deepEqual(w.attributes.languages, ['en', 'fr']);
});

test('wrap up, then complete: reservation.wrapup and task.wrapup, then the ends', async () => {
  const created = h.next(w, 'reservationCreated');
  await h.createTask({ type: 'inbound', n: 3 });
  const r = await created;
  await Promise.all([h.next(r, 'accepted'), r.accept()]);
  const wrapR = h.next(r, 'wrapup');
  const wrapT = h.next(r.task, 'wrapup');
  await r.task.wrapUp({ reason: 'notes' });
  await wrapR;
  await wrapT;
  assert.equal(r.status, 'wrapping');
  assert.equal(r.task.status, 'wrapping');
  await Promise.all([h.next(r, 'completed'), r.complete()]);
  assert.equal(w.reservations.has(r.sid), false);
});

test('unsupported calls get a 400 that says why', async () => {
  const created = h.next(w, 'reservationCreated');
  await h.createTask({ type: 'inbound', n: 4 });
  const r = await created;
  await assert.rejects(r.dequeue(), /telephony/);
  await assert.rejects(r.conference(), /telephony/);
  assert.equal(r.status, 'pending', 'a refused instruction changes nothing');
  await Promise.all([h.next(r, 'accepted'), r.accept()]);
  await Promise.all([h.next(r, 'completed'), r.task.complete('done')]);
});

test('pending reservations are listed to a Worker that connects later', async () => {
  w.disconnect();
  await h.until('alice offline after the grace', async () => (await workerNow(alice.sid)).activity_sid === offline.sid,
    5000);
  await h.admin('POST', `Workspaces/${WS}/Workers/${alice.sid}`, { ActivitySid: available.sid });
  const sid = await h.createTask({ type: 'inbound', n: 5 });
  const w2 = newWorker(h.mint({ workerSid: alice.sid }));
  await h.next(w2, 'ready');
  const held = [...w2.reservations.values()];
  assert.equal(held.length, 1);
  assert.equal(held[0].task.sid, sid);
  assert.equal(held[0].status, 'pending');
  await Promise.all([h.next(held[0], 'accepted'), held[0].accept()]);
  await Promise.all([h.next(held[0], 'completed'), held[0].task.complete('done')]);
  w = w2;
});

test('closeExistingSessions closes the older socket of the same worker', async () => {
  const lost = h.next(w, 'disconnected');
  const w3 = newWorker(h.mint({ workerSid: alice.sid }), { closeExistingSessions: true });
  await h.next(w3, 'ready');
  const e = await lost;
  assert.match(e.message, /newer session/);
  w.disconnect();
  w = w3;
});

test('the worker goes offline after the grace when its last socket drops', async () => {
  w.disconnect();
  await h.until('alice offline', async () => (await workerNow(alice.sid)).activity_sid === offline.sid, 5000);
});

test('setWorkerOfflineIfDisconnected=false keeps the worker in its activity', async () => {
  await h.admin('POST', `Workspaces/${WS}/Workers/${alice.sid}`, { ActivitySid: available.sid });
  const w4 = newWorker(h.mint({ workerSid: alice.sid }), { setWorkerOfflineIfDisconnected: false });
  await h.next(w4, 'ready');
  w4.disconnect();
  await h.sleep(2000); /* 4x the grace */
  assert.equal((await workerNow(alice.sid)).activity_name, 'Available');
});

test('heartbeats: a " " text frame at least every 15 s', { timeout: 25000 }, async () => {
  const sock = rawSocket(h.mint({ workerSid: bob.sid }), '&setWorkerOfflineIfDisconnected=false');
  await h.until('a heartbeat', () => sock.frames.some((f) => f === ' '), 17000, 250);
  sock.close();
  await sock.closed;
});

test('the Worker reconnects after the node restarts and is ready again', { timeout: 40000 }, async () => {
  const w5 = newWorker(h.mint({ workerSid: alice.sid }));
  await h.next(w5, 'ready');
  const lost = h.next(w5, 'disconnected', 15000);
  await h.stopNode();
  await lost;
  const again = h.next(w5, 'ready', 20000);
  await h.startNode();
  await again;
  assert.equal(w5.activity.name, 'Available');
  const created = h.next(w5, 'reservationCreated');
  await h.createTask({ type: 'inbound', n: 6 });
  const r = await created;
  await Promise.all([h.next(r, 'accepted'), r.accept()]);
  await Promise.all([h.next(r, 'completed'), r.task.complete('done')]);
  w5.disconnect();
  await h.sleep(1000);
  await h.admin('POST', `Workspaces/${WS}/Workers/${alice.sid}`, { ActivitySid: available.sid });
});
