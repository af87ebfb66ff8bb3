// rest.test.js - twilio-node 6 (npm `twilio`) against swb-node's TaskRouter v1 REST API.
//
// One workspace's whole life through client.taskrouter.v1: create it, its activities,
// task channels, workers, queues and a workflow; create tasks, see and answer their
// reservations (reject with an activity, accept, complete), page through lists, read
// every statistics resource and the events, and hit the error paths (credentials,
// unknown sids, bad parameters, conflicts, wrong methods and routes, malformed bodies,
// bearer tokens: ours and Twilio Access Tokens, a worker acting on another's reservation).
//
// Run by tests/rest_twilio_test.sh, which starts the node and sets:
//   SWB_REST_URL (http://127.0.0.1:PORT), SWB_ACCOUNT_SID, SWB_AUTH_TOKEN, SWB_API_KEY_SID,
//   SWB_API_KEY_SECRET, SWB_SECRET_HEX (the node's DATA/secret), TWILIO_MODULE (twilio@6's folder).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const twilio = require(process.env.TWILIO_MODULE);
const BASE = process.env.SWB_REST_URL;
const ACCOUNT = process.env.SWB_ACCOUNT_SID;
const TOKEN = process.env.SWB_AUTH_TOKEN;
const KEY = process.env.SWB_API_KEY_SID;
const KEY_SECRET = process.env.SWB_API_KEY_SECRET;
const SECRET = Buffer.from(process.env.SWB_SECRET_HEX, 'hex');

function client(user = ACCOUNT, pass = TOKEN, opts = {}) {
  const c = twilio(user, pass, { region: '', edge: '', ...opts });
  c.taskrouter.baseUrl = BASE;
  return c;
}

const tr = client().taskrouter.v1;

// Asserts that promise rejects with a RestException of this status (and code when given).
async function rejects(promise, status, code, messagePart) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error with status ${status}`);
  assert.equal(err.status, status, `status of: ${err.message}`);
  if (code !== undefined) assert.equal(err.code, code, `code of: ${err.message}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0);
  if (messagePart) assert.match(err.message, messagePart);
  assert.match(err.moreInfo, /^https:\/\/www\.twilio\.com\/docs\/errors\/\d+$/);
  return err;
}

// A raw request (what twilio-node cannot send), with our Basic credentials unless auth is given.
async function raw(method, path, { body, auth, headers = {} } = {}) {
  const h = { ...headers };
  if (auth !== null) h.Authorization = auth || 'Basic ' + Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64');
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(BASE + path, { method, headers: h, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : null };
}

const b64url = (x) => Buffer.from(x).toString('base64url');

// One of the node's own tokens (common/token.h): HS256 over the node secret.
function ourToken(scope, { exp, secret = SECRET } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64url(JSON.stringify({ iss: 'switchboard', scope, iat: now - 10, exp: exp ?? now + 600 }));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${claims}`).digest('base64url');
  return `${head}.${claims}.${sig}`;
}

function accessToken(workspaceSid, workerSid, role) {
  const AccessToken = twilio.jwt.AccessToken;
  const t = new AccessToken(ACCOUNT, KEY, KEY_SECRET, { identity: 'rest-test', ttl: 600 });
  t.addGrant(new AccessToken.TaskRouterGrant({ workspaceSid, workerSid, role }));
  return t.toJwt();
}

const S = {}; // what the steps share

test('credentials: account SID + auth token, API key, and wrong ones', async () => {
  const list = await tr.workspaces.list();
  assert.ok(list.length >= 1, 'the default workspace is listed');
  const viaKey = await client(KEY, KEY_SECRET, { accountSid: ACCOUNT }).taskrouter.v1.workspaces.list();
  assert.equal(viaKey.length, list.length);
  await rejects(client(ACCOUNT, 'f'.repeat(32)).taskrouter.v1.workspaces.list(), 401, 20003, /Authenticate/);
  await rejects(client(KEY, TOKEN, { accountSid: ACCOUNT }).taskrouter.v1.workspaces.list(), 401, 20003);
  const none = await raw('GET', '/v1/Workspaces', { auth: null });
  assert.equal(none.status, 401);
  assert.equal(none.json.code, 20003);
  assert.match(none.headers.get('www-authenticate'), /^Basic/);
});

test('workspace: create, fetch, update, duplicate name, list filter', async () => {
  const name = `REST test ${crypto.randomBytes(4).toString('hex')}`;
  const ws = await tr.workspaces.create({ friendlyName: name, multiTaskEnabled: true, eventsFilter: 'task.created,task.completed' });
  assert.match(ws.sid, /^WS[0-9a-f]{32}$/);
  assert.equal(ws.accountSid, ACCOUNT);
  assert.equal(ws.friendlyName, name);
  assert.equal(ws.eventsFilter, 'task.created,task.completed');
  assert.equal(ws.url, `${BASE}/v1/Workspaces/${ws.sid}`);
  assert.equal(ws.links.workers, `${BASE}/v1/Workspaces/${ws.sid}/Workers`);
  assert.ok(ws.dateCreated instanceof Date && !isNaN(ws.dateCreated), 'ISO 8601 date parsed by the library');
  assert.equal(ws.defaultActivityName, 'Offline');
  S.ws = ws.sid;
  S.wsName = name;
  const again = await tr.workspaces(ws.sid).fetch();
  assert.equal(again.sid, ws.sid);
  const upd = await tr.workspaces(ws.sid).update({ eventsFilter: '' , friendlyName: name });
  assert.equal(upd.friendlyName, name);
  await rejects(tr.workspaces.create({ friendlyName: name }), 409, 20409, /already exists/);
  await rejects(tr.workspaces.create({ friendlyName: name + ' x', template: 'BOGUS' }), 400, 20001, /Template/);
  const found = await tr.workspaces.list({ friendlyName: name });
  assert.deepEqual(found.map((w) => w.sid), [ws.sid]);
  const fifo = await tr.workspaces.create({ friendlyName: name + ' FIFO', template: 'FIFO' });
  const fifoQueues = await tr.workspaces(fifo.sid).taskQueues.list();
  assert.deepEqual(fifoQueues.map((q) => q.friendlyName), ['Sample Queue']);
  assert.equal((await tr.workspaces(fifo.sid).workflows.list()).length, 1);
  assert.equal(await tr.workspaces(fifo.sid).remove(), true);
  await rejects(tr.workspaces(fifo.sid).fetch(), 404, 20404);
});

test('activities: defaults, create, duplicate, update, delete', async () => {
  const ws = tr.workspaces(S.ws);
  const acts = await ws.activities.list();
  const names = acts.map((a) => a.friendlyName);
  for (const n of ['Offline', 'Available', 'Unavailable']) assert.ok(names.includes(n), `default activity ${n}`);
  S.available = acts.find((a) => a.friendlyName === 'Available').sid;
  S.offline = acts.find((a) => a.friendlyName === 'Offline').sid;
  assert.equal(acts.find((a) => a.sid === S.available).available, true);
  const lunch = await ws.activities.create({ friendlyName: 'Lunch', available: false });
  assert.match(lunch.sid, /^WA/);
  assert.equal(lunch.available, false);
  assert.equal(lunch.url, `${BASE}/v1/Workspaces/${S.ws}/Activities/${lunch.sid}`);
  await rejects(ws.activities.create({ friendlyName: 'Lunch' }), 409, 20409, /already exists/);
  const renamed = await ws.activities(lunch.sid).update({ friendlyName: 'Long lunch' });
  assert.equal(renamed.friendlyName, 'Long lunch');
  const onlyAvailable = await ws.activities.list({ available: 'true' });
  assert.ok(onlyAvailable.every((a) => a.available));
  assert.equal(await ws.activities(lunch.sid).remove(), true);
  await rejects(ws.activities(lunch.sid).fetch(), 404, 20404);
  await rejects(ws.activities(S.offline).remove(), 409, 20409, /in use/);
});

test('task channels: list key "channels", create, update, delete', async () => {
  const ws = tr.workspaces(S.ws);
  const chans = await ws.taskChannels.list();
  assert.ok(chans.map((c) => c.uniqueName).includes('voice'));
  const page = await raw('GET', `/v1/Workspaces/${S.ws}/TaskChannels`);
  assert.equal(page.json.meta.key, 'channels');
  assert.ok(Array.isArray(page.json.channels));
  const fax = await ws.taskChannels.create({ friendlyName: 'Fax', uniqueName: 'fax', channelOptimizedRouting: true });
  assert.match(fax.sid, /^TC/);
  assert.equal(fax.channelOptimizedRouting, true);
  assert.equal((await ws.taskChannels(fax.sid).fetch()).uniqueName, 'fax');
  assert.equal((await ws.taskChannels(fax.sid).update({ friendlyName: 'Telefax' })).friendlyName, 'Telefax');
  await rejects(ws.taskChannels.create({ friendlyName: 'Fax', uniqueName: 'fax' }), 409, 20409);
  assert.equal(await ws.taskChannels(fax.sid).remove(), true);
});

test('workers: create, fetch (attributes), list (attributes null, filters), paging', async () => {
  const ws = tr.workspaces(S.ws);
  const mk = (friendlyName, attrs) => ws.workers.create({ friendlyName, attributes: JSON.stringify(attrs) });
  const alice = await mk('alice', { skills: ['sales', 'support'], level: 3 });
  const bob = await mk('bob', { skills: ['sales'], level: 2 });
  const carol = await mk('carol', { skills: ['billing'], level: 1 });
  S.alice = alice.sid;
  S.bob = bob.sid;
  S.carol = carol.sid;
  assert.match(alice.sid, /^WK/);
  assert.deepEqual(JSON.parse(alice.attributes), { skills: ['sales', 'support'], level: 3 });
  assert.equal(alice.activityName, 'Offline');
  assert.equal(alice.available, false);
  assert.equal(alice.links.activity, `${BASE}/v1/Workspaces/${S.ws}/Activities/${S.offline}`);
  assert.equal(typeof (await ws.workers(alice.sid).fetch()).attributes, 'string');
  await rejects(mk('alice', {}), 409, 20409, /already exists/);
  await rejects(ws.workers.create({ friendlyName: 'zed', attributes: '{not json' }), 400, 20001, /'Attributes'/);
  await rejects(ws.workers('WK' + '0'.repeat(32)).fetch(), 404, 20404);
  for (let i = 0; i < 7; i++) await mk(`extra${i}`, { skills: [] });

  const all = await ws.workers.list();
  assert.equal(all.length, 10);
  assert.ok(all.every((w) => w.attributes === null), 'attributes are null in lists, as Twilio');
  const paged = await ws.workers.list({ pageSize: 3 });
  assert.equal(paged.length, 10, 'list() follows next_page_url through 4 pages');
  assert.deepEqual(paged.map((w) => w.sid), all.map((w) => w.sid));
  const first = await ws.workers.page({ pageSize: 4 });
  assert.equal(first.instances.length, 4);
  assert.match(first.nextPageUrl, new RegExp(`^${BASE}/v1/Workspaces/${S.ws}/Workers\\?.*Page=1`));
  const second = await first.nextPage();
  assert.equal(second.instances.length, 4);
  const third = await second.nextPage();
  assert.equal(third.instances.length, 2);
  assert.equal(third.nextPage(), undefined, 'the last page has no next_page_url');
  const limited = await ws.workers.list({ limit: 5 });
  assert.equal(limited.length, 5);
  const seen = [];
  await new Promise((resolve, reject) =>
    ws.workers.each({ pageSize: 2, callback: (w) => seen.push(w.sid), done: (e) => (e ? reject(e) : resolve()) }));
  assert.equal(seen.length, 10);

  const sales = await ws.workers.list({ targetWorkersExpression: 'skills HAS "sales"' });
  assert.deepEqual(sales.map((w) => w.friendlyName).sort(), ['alice', 'bob']);
  assert.deepEqual((await ws.workers.list({ friendlyName: 'carol' })).map((w) => w.sid), [S.carol]);
  assert.equal((await ws.workers.list({ activityName: 'Offline' })).length, 10);
  assert.equal((await ws.workers.list({ available: 'true' })).length, 0);
  await rejects(ws.workers.list({ targetWorkersExpression: 'skills HAS (' }), 400, 20001);
  await rejects(ws.workers.list({ available: 'maybe' }), 400, 20001, /'Available'/);

  const chans = await ws.workers(S.alice).workerChannels.list();
  const voice = chans.find((c) => c.taskChannelUniqueName === 'voice');
  assert.equal(voice.configuredCapacity, 1);
  assert.equal((await ws.workers(S.alice).workerChannels('voice').fetch()).sid, voice.sid);
  const cap = await ws.workers(S.alice).workerChannels(voice.sid).update({ capacity: 2 });
  assert.equal(cap.configuredCapacity, 2);
  await ws.workers(S.alice).workerChannels('voice').update({ capacity: 1 });
});

test('task queues and workflow: create, filters, conflicts', async () => {
  const ws = tr.workspaces(S.ws);
  const sales = await ws.taskQueues.create({ friendlyName: 'Sales', targetWorkers: 'skills HAS "sales"', maxReservedWorkers: 1 });
  const support = await ws.taskQueues.create({ friendlyName: 'Support', targetWorkers: 'skills HAS "support"' });
  S.sales = sales.sid;
  S.support = support.sid;
  assert.match(sales.sid, /^WQ/);
  assert.equal(sales.targetWorkers, 'skills HAS "sales"');
  assert.equal(sales.taskOrder, 'FIFO');
  assert.equal(sales.links.statistics, `${BASE}/v1/Workspaces/${S.ws}/TaskQueues/${sales.sid}/Statistics`);
  await rejects(ws.taskQueues.create({ friendlyName: 'Sales' }), 409, 20409);
  await rejects(ws.taskQueues.create({ friendlyName: 'Bad', targetWorkers: 'skills HAS' }), 400, 20001);
  await rejects(ws.taskQueues.create({ friendlyName: 'Bad', taskOrder: 'RANDOM' }), 400, 20001, /'TaskOrder'/);
  await rejects(ws.taskQueues.create({ friendlyName: 'Bad', maxReservedWorkers: 'many' }), 400, 20001, /'MaxReservedWorkers'/);
  assert.deepEqual((await ws.taskQueues.list({ friendlyName: 'Support' })).map((q) => q.sid), [S.support]);
  assert.deepEqual((await ws.taskQueues.list({ workerSid: S.bob })).map((q) => q.sid), [S.sales]);
  const forAttrs = await ws.taskQueues.list({ evaluateWorkerAttributes: JSON.stringify({ skills: ['support'] }) });
  assert.deepEqual(forAttrs.map((q) => q.sid), [S.support]);
  const eligible = await ws.workers.list({ taskQueueSid: S.sales });
  assert.deepEqual(eligible.map((w) => w.friendlyName).sort(), ['alice', 'bob']);

  const configuration = JSON.stringify({
    task_routing: {
      filters: [{ filter_friendly_name: 'sales', expression: 'type == "sales"', targets: [{ queue: S.sales }] }],
      default_filter: { queue: S.support },
    },
  });
  const wf = await ws.workflows.create({ friendlyName: 'Inbound', configuration, taskReservationTimeout: 120 });
  S.wf = wf.sid;
  assert.match(wf.sid, /^WW/);
  assert.equal(typeof wf.configuration, 'string');
  assert.deepEqual(JSON.parse(wf.configuration).task_routing.default_filter, { queue: S.support });
  assert.equal(wf.taskReservationTimeout, 120);
  await rejects(ws.workflows.create({ friendlyName: 'Inbound', configuration }), 409, 20409);
  await rejects(ws.workflows.create({ friendlyName: 'Broken', configuration: '{"task_routing": ' }), 400, 20001);
  const wf2 = await ws.workflows(wf.sid).update({ assignmentCallbackUrl: 'http://127.0.0.1:9/assign', reEvaluateTasks: 'false' });
  assert.equal(wf2.assignmentCallbackUrl, 'http://127.0.0.1:9/assign');
  await ws.workflows(wf.sid).update({ assignmentCallbackUrl: '' });
  await rejects(ws.workflows(wf.sid).update({ reEvaluateTasks: 'true' }), 400, 20001, /not supported/);
  assert.equal((await ws.workflows.list({ friendlyName: 'Inbound' })).length, 1);
  // a queue a workflow targets cannot go
  await rejects(ws.taskQueues(S.sales).remove(), 409, 20409, /workflow/);
});

test('tasks and reservations: reject with an activity, accept, complete', async () => {
  const ws = tr.workspaces(S.ws);
  await ws.workers(S.alice).update({ activitySid: S.available });
  const task = await ws.tasks.create({ workflowSid: S.wf, attributes: JSON.stringify({ type: 'sales', customer: 'ACME' }), priority: 5, timeout: 3600 });
  S.task = task.sid;
  assert.match(task.sid, /^WT/);
  assert.equal(task.assignmentStatus, 'reserved');
  assert.equal(task.taskQueueSid, S.sales);
  assert.equal(task.workflowSid, S.wf);
  assert.equal(task.priority, 5);
  assert.deepEqual(JSON.parse(task.attributes), { type: 'sales', customer: 'ACME' });
  assert.equal(task.links.reservations, `${BASE}/v1/Workspaces/${S.ws}/Tasks/${task.sid}/Reservations`);

  const aliceRes = await ws.workers(S.alice).reservations.list();
  assert.equal(aliceRes.length, 1);
  const r1 = aliceRes[0];
  assert.match(r1.sid, /^WR/);
  assert.equal(r1.reservationStatus, 'pending');
  assert.equal(r1.taskSid, task.sid);
  assert.equal(r1.workerName, 'alice');
  assert.equal(r1.url, `${BASE}/v1/Workspaces/${S.ws}/Workers/${S.alice}/Reservations/${r1.sid}`);
  const taskRes = await ws.tasks(task.sid).reservations.list();
  assert.deepEqual(taskRes.map((r) => r.sid), [r1.sid]);
  assert.equal((await ws.tasks(task.sid).reservations(r1.sid).fetch()).workerSid, S.alice);
  assert.equal((await ws.workers(S.alice).reservations.list({ reservationStatus: 'accepted' })).length, 0);
  // a reservation under the wrong worker or task is not there
  await rejects(ws.workers(S.bob).reservations(r1.sid).fetch(), 404, 20404);

  // bob's token may not touch alice's reservation
  const bobToken = ourToken(`worker:${S.bob}`);
  const forbidden = await raw('POST', `/v1/Workspaces/${S.ws}/Workers/${S.alice}/Reservations/${r1.sid}`,
    { auth: `Bearer ${bobToken}`, body: 'ReservationStatus=accepted' });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.code, 20403);
  assert.match(forbidden.json.message, /another worker/);
  const bobTwilio = accessToken(S.ws, S.bob, 'worker');
  const forbidden2 = await raw('POST', `/v1/Workspaces/${S.ws}/Tasks/${task.sid}/Reservations/${r1.sid}`,
    { auth: `Bearer ${bobTwilio}`, body: 'ReservationStatus=rejected' });
  assert.equal(forbidden2.status, 403);
  assert.equal(forbidden2.json.code, 20403);

  // alice rejects and goes offline; the task waits again
  const rejected = await ws.workers(S.alice).reservations(r1.sid).update({ reservationStatus: 'rejected', workerActivitySid: S.offline });
  assert.equal(rejected.reservationStatus, 'rejected');
  assert.equal((await ws.workers(S.alice).fetch()).activityName, 'Offline');
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'pending');
  await rejects(ws.workers(S.alice).reservations(r1.sid).update({ reservationStatus: 'accepted' }), 409, 20409, /not pending/);
  await rejects(ws.workers(S.alice).reservations(r1.sid).update({ reservationStatus: 'bogus' }), 400, 20001);

  // bob becomes available and is offered the task; he accepts through the task's path
  await ws.workers(S.bob).update({ activitySid: S.available });
  const pending = await ws.tasks(task.sid).reservations.list({ reservationStatus: 'pending' });
  assert.equal(pending.length, 1);
  assert.equal(pending[0].workerSid, S.bob);
  S.r2 = pending[0].sid;
  // bob may read his own reservation with his own token
  const own = await raw('GET', `/v1/Workspaces/${S.ws}/Workers/${S.bob}/Reservations/${S.r2}`, { auth: `Bearer ${bobToken}` });
  assert.equal(own.status, 200);
  assert.equal(own.json.reservation_status, 'pending');
  // and not another worker's record
  const other = await raw('GET', `/v1/Workspaces/${S.ws}/Workers/${S.alice}`, { auth: `Bearer ${bobTwilio}` });
  assert.equal(other.status, 403);
  const accepted = await raw('POST', `/v1/Workspaces/${S.ws}/Tasks/${task.sid}/Reservations/${S.r2}`,
    { auth: `Bearer ${bobTwilio}`, body: 'ReservationStatus=accepted' });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.json.reservation_status, 'accepted');
  const assigned = await ws.tasks(task.sid).fetch();
  assert.equal(assigned.assignmentStatus, 'assigned');
  // a worker holding reservations cannot be deleted
  await rejects(ws.workers(S.bob).remove(), 409, 20409);
  // wrap up, then complete through the task
  assert.equal((await ws.tasks(task.sid).update({ assignmentStatus: 'wrapping' })).assignmentStatus, 'wrapping');
  const done = await ws.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'sold' });
  assert.equal(done.assignmentStatus, 'completed');
  assert.equal(done.reason, 'sold');
  await rejects(ws.tasks(task.sid).update({ assignmentStatus: 'canceled' }), 409, 20409);
  await rejects(ws.tasks(task.sid).update({ assignmentStatus: 'completed', ifMatch: '"1"' }), 400, 20001, /If-Match/);
});

test('tasks: list filters, AssignmentStatus repeated, paging, cancel, delete, bad parameters', async () => {
  const ws = tr.workspaces(S.ws);
  S.waiting = [];
  for (let i = 0; i < 5; i++) {
    const t = await ws.tasks.create({ workflowSid: S.wf, attributes: JSON.stringify({ type: 'billing', n: i }), priority: i });
    assert.equal(t.assignmentStatus, 'pending');
    assert.equal(t.taskQueueSid, S.support);
    S.waiting.push(t.sid);
  }
  const pending = await ws.tasks.list({ assignmentStatus: ['pending'] });
  assert.deepEqual(pending.map((t) => t.sid).sort(), [...S.waiting].sort());
  assert.ok(pending.every((t) => t.attributes === null));
  const both = await ws.tasks.list({ assignmentStatus: ['pending', 'completed'] });
  assert.equal(both.length, 6);
  const paged = await ws.tasks.list({ assignmentStatus: ['pending', 'completed'], pageSize: 2 });
  assert.equal(paged.length, 6);
  const p0 = await ws.tasks.page({ assignmentStatus: ['pending', 'completed'], pageSize: 4 });
  assert.match(p0.nextPageUrl, /AssignmentStatus=pending&AssignmentStatus=completed/);
  assert.equal((await p0.nextPage()).instances.length, 2);
  const byPrio = await ws.tasks.list({ assignmentStatus: ['pending'], ordering: 'Priority:desc,DateCreated:asc' });
  assert.deepEqual(byPrio.map((t) => t.priority), [4, 3, 2, 1, 0]);
  assert.equal((await ws.tasks.list({ taskQueueSid: S.support })).length, 5);
  assert.equal((await ws.tasks.list({ taskQueueName: 'Sales' })).length, 1);
  assert.equal((await ws.tasks.list({ workflowSid: S.wf })).length, 6);
  assert.equal((await ws.tasks.list({ evaluateTaskAttributes: 'n >= 3' })).length, 2);
  await rejects(ws.tasks.list({ assignmentStatus: ['sleeping'] }), 400, 20001);
  await rejects(ws.tasks.list({ ordering: 'Age:up' }), 400, 20001, /'Ordering'/);
  await rejects(ws.tasks.create({ workflowSid: S.wf, priority: 'high' }), 400, 20001, /'Priority'/);
  await rejects(ws.tasks.create({ workflowSid: S.wf, attributes: '[1,2]' }), 400, 20001, /'Attributes'/);
  await rejects(ws.tasks.create({ workflowSid: 'WW' + '0'.repeat(32) }), 404, 20404);
  await rejects(ws.tasks.create({ workflowSid: S.wf, routingTarget: S.bob }), 400, 20001, /not supported/);
  await rejects(ws.tasks('WT' + '1'.repeat(32)).fetch(), 404, 20404);
  // a queue holding tasks cannot go
  const extra = await ws.taskQueues.create({ friendlyName: 'Scratch' });
  assert.equal(await ws.taskQueues(extra.sid).remove(), true);
  await rejects(ws.taskQueues(S.support).remove(), 409, 20409);
  const canceled = await ws.tasks(S.waiting[0]).update({ assignmentStatus: 'canceled', reason: 'hung up' });
  assert.equal(canceled.assignmentStatus, 'canceled');
  assert.equal(await ws.tasks(S.waiting[1]).remove(), true);
  await rejects(ws.tasks(S.waiting[1]).fetch(), 404, 20404);

  // alice (support) is offered the most urgent billing task; going offline with
  // RejectPendingReservations turns the offer down
  await ws.workers(S.alice).update({ activitySid: S.available });
  const offered = await ws.workers(S.alice).reservations.list({ reservationStatus: 'pending' });
  assert.equal(offered.length, 1);
  const urgent = await ws.tasks(offered[0].taskSid).fetch();
  assert.equal(urgent.priority, 4);
  const sup = await raw('POST', `/v1/Workspaces/${S.ws}/Workers/${S.alice}`,
    { auth: `Bearer ${ourToken('supervisor')}`, body: `ActivitySid=${S.offline}&RejectPendingReservations=true` });
  assert.equal(sup.status, 403, 'a supervisor may not answer offers');
  const away = await ws.workers(S.alice).update({ activitySid: S.offline, rejectPendingReservations: true });
  assert.equal(away.activityName, 'Offline');
  assert.equal((await ws.workers(S.alice).reservations(offered[0].sid).fetch()).reservationStatus, 'rejected');
  assert.equal((await ws.tasks(urgent.sid).fetch()).assignmentStatus, 'pending');
});

test('statistics: queues, workspace, workflow, workers, one worker', async () => {
  const ws = tr.workspaces(S.ws);
  const rt = await ws.taskQueues(S.support).realTimeStatistics().fetch();
  assert.equal(rt.taskQueueSid, S.support);
  assert.equal(rt.totalTasks, 3);
  assert.equal(rt.tasksByStatus.pending, 3);
  assert.equal(rt.tasksByPriority['4'], 1);
  assert.ok(rt.longestTaskWaitingSid.startsWith('WT'));
  assert.equal(rt.url, `${BASE}/v1/Workspaces/${S.ws}/TaskQueues/${S.support}/RealTimeStatistics`);
  const voiceOnly = await ws.taskQueues(S.support).realTimeStatistics().fetch({ taskChannel: 'voice' });
  assert.equal(voiceOnly.totalTasks, 0);

  const cum = await ws.taskQueues(S.sales).cumulativeStatistics().fetch({ minutes: 60 });
  assert.equal(cum.reservationsCreated, 2);
  assert.equal(cum.reservationsRejected, 1);
  assert.equal(cum.reservationsAccepted, 1);
  assert.equal(cum.tasksCompleted, 1);
  assert.equal(cum.tasksEntered, 1);
  assert.ok(cum.waitDurationUntilAccepted.max >= 0);
  assert.ok(cum.startTime instanceof Date && cum.endTime instanceof Date);
  const split = await ws.taskQueues(S.sales).cumulativeStatistics().fetch({ splitByWaitTime: '5,3600' });
  assert.equal(split.splitByWaitTime['3600'].below.reservations_accepted, 1);
  await rejects(ws.taskQueues(S.sales).cumulativeStatistics().fetch({ splitByWaitTime: 'soon' }), 400, 20001);
  await rejects(ws.taskQueues(S.sales).cumulativeStatistics().fetch({ minutes: 0 }), 400, 20001);
  const qs = await ws.taskQueues(S.sales).statistics().fetch();
  assert.equal(qs.cumulative.reservations_accepted, 1);
  assert.equal(qs.realtime.total_tasks, 0);
  const allQueues = await ws.taskQueues.statistics.list();
  assert.deepEqual(allQueues.map((q) => q.taskQueueSid).sort(), [S.sales, S.support].sort());
  assert.ok(allQueues.every((q) => q.cumulative && q.realtime));
  const pagedQueues = await ws.taskQueues.statistics.list({ pageSize: 1 });
  assert.equal(pagedQueues.length, 2);
  const bulk = await ws.taskQueues.bulkRealTimeStatistics.create([{ task_queue_sid: S.sales }, { task_queue_sid: S.support, task_channel: 'default' }]);
  assert.equal(bulk.taskQueueResponseCount, 2);
  assert.equal(bulk.taskQueueData[1].total_tasks, 3);
  await rejects(ws.taskQueues('WQ' + '2'.repeat(32)).realTimeStatistics().fetch(), 404, 20404);

  const wsStats = await ws.statistics().fetch({ minutes: 60 });
  assert.equal(wsStats.realtime.total_tasks, 3);
  assert.equal(wsStats.realtime.total_workers, 10);
  assert.equal(wsStats.cumulative.tasks_created, 6);
  assert.equal(wsStats.cumulative.tasks_canceled, 2, 'one canceled, one deleted while pending');
  assert.equal(wsStats.cumulative.tasks_deleted, 1);
  const wsRt = await ws.realTimeStatistics().fetch();
  assert.equal(wsRt.totalTasks, 3);
  assert.ok(Array.isArray(wsRt.activityStatistics));
  const wsCum = await ws.cumulativeStatistics().fetch({ startDate: new Date(Date.now() - 3600e3) });
  assert.equal(wsCum.reservationsAccepted, 1);
  assert.equal(wsCum.tasksCompleted, 1);

  const wfStats = await ws.workflows(S.wf).statistics().fetch();
  assert.equal(wfStats.workflowSid, S.wf);
  assert.equal(wfStats.realtime.total_tasks, 3);
  assert.equal(wfStats.cumulative.tasks_entered, 6);
  assert.equal((await ws.workflows(S.wf).realTimeStatistics().fetch()).totalTasks, 3);
  assert.equal((await ws.workflows(S.wf).cumulativeStatistics().fetch()).tasksCompleted, 1);

  const workers = await ws.workers.statistics().fetch();
  assert.equal(workers.realtime.total_workers, 10);
  const avail = workers.realtime.activity_statistics.find((a) => a.friendly_name === 'Available');
  assert.equal(avail.workers, 1, 'bob');
  const inSales = await ws.workers.statistics().fetch({ taskQueueSid: S.sales });
  assert.equal(inSales.realtime.total_workers, 2);
  assert.equal((await ws.workers.realTimeStatistics().fetch()).totalWorkers, 10);
  const wcum = await ws.workers.cumulativeStatistics().fetch();
  assert.equal(wcum.reservationsAccepted, 1);
  assert.ok(wcum.activityDurations.some((a) => a.friendly_name === 'Available' && a.max >= 0));
  const bobStats = await ws.workers(S.bob).statistics().fetch();
  assert.equal(bobStats.workerSid, S.bob);
  assert.equal(bobStats.cumulative.reservations_accepted, 1);
  assert.equal(bobStats.cumulative.tasks_assigned, 1);
  const aliceStats = await ws.workers(S.alice).statistics().fetch({ minutes: 30 });
  assert.equal(aliceStats.cumulative.reservations_rejected, 2);
});

test('events: list with filters, paging, fetch', async () => {
  const ws = tr.workspaces(S.ws);
  const forTask = await ws.events.list({ taskSid: S.task });
  const types = forTask.map((e) => e.eventType);
  for (const t of ['task.created', 'reservation.created', 'reservation.rejected', 'reservation.accepted', 'task.completed'])
    assert.ok(types.includes(t), `event ${t} for the task`);
  const ev = forTask[0];
  assert.match(ev.sid, /^EV/);
  assert.equal(ev.accountSid, ACCOUNT);
  assert.equal(ev.workspaceSid, S.ws);
  assert.ok(ev.eventDate instanceof Date);
  assert.equal(typeof ev.eventDateMs, 'number');
  assert.equal(typeof ev.eventData, 'object');
  assert.equal(ev.url, `${BASE}/v1/Workspaces/${S.ws}/Events/${ev.sid}`);
  const accepted = await ws.events.list({ eventType: 'reservation.accepted', minutes: 30 });
  assert.equal(accepted.length, 1);
  assert.equal(accepted[0].eventData.worker_sid, S.bob);
  assert.equal((await ws.events.list({ reservationSid: S.r2 })).every((e) => e.eventData.reservation_sid === S.r2), true);
  assert.equal((await ws.events.list({ workerSid: S.alice, eventType: 'reservation.rejected' })).length, 2);
  assert.ok((await ws.events.list({ taskQueueSid: S.support })).length >= 5);
  assert.ok((await ws.events.list({ workflowSid: S.wf, eventType: 'task.created' })).length === 6);
  assert.ok((await ws.events.list({ taskChannel: 'default', eventType: 'task.created' })).length === 6);
  const future = new Date(Date.now() + 3600e3);
  assert.equal((await ws.events.list({ startDate: future })).length, 0);
  const fetched = await ws.events(ev.sid).fetch();
  assert.equal(fetched.eventType, ev.eventType);
  const all = await ws.events.list();
  const paged = await ws.events.list({ pageSize: 7 });
  assert.deepEqual(paged.map((e) => e.sid), all.map((e) => e.sid));
  assert.ok(all.length > 20);
  assert.deepEqual((await ws.events.list({ sid: ev.sid })).map((e) => e.sid), [ev.sid]);
  await rejects(ws.events('EV' + '3'.repeat(32)).fetch(), 404, 20404);
  await rejects(ws.events.list({ minutes: 'lots' }), 400, 20001, /'Minutes'/);
  // events need a supervisor: a worker token is refused
  const r = await raw('GET', `/v1/Workspaces/${S.ws}/Events`, { auth: `Bearer ${ourToken(`worker:${S.bob}`)}` });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 20403);
  const sup = await raw('GET', `/v1/Workspaces/${S.ws}/Events?PageSize=1`, { auth: `Bearer ${ourToken('supervisor')}` });
  assert.equal(sup.status, 200);
  assert.equal(sup.json.events.length, 1);
  assert.match(sup.json.meta.next_page_url, /^http:\/\/.*PageSize=1&Page=1$/);
});

test('bearer tokens: expired, badly signed, other issuer, supervisor limits', async () => {
  const path = `/v1/Workspaces/${S.ws}/Workers`;
  const expired = await raw('GET', path, { auth: `Bearer ${ourToken('admin', { exp: Math.floor(Date.now() / 1000) - 60 })}` });
  assert.equal(expired.status, 401);
  assert.equal(expired.json.code, 20003);
  assert.match(expired.json.message, /expired/);
  const forged = await raw('GET', path, { auth: `Bearer ${ourToken('admin', { secret: Buffer.alloc(32, 7) })}` });
  assert.equal(forged.status, 401);
  assert.equal(forged.json.code, 20003);
  const garbage = await raw('GET', path, { auth: 'Bearer not.a.token' });
  assert.equal(garbage.status, 401);
  const admin = await raw('GET', path, { auth: `Bearer ${ourToken('admin')}` });
  assert.equal(admin.status, 200);
  assert.equal(admin.json.workers.length, 10);
  // a worker token lists only itself, and may not create
  const bob = await raw('GET', path, { auth: `Bearer ${ourToken(`worker:${S.bob}`)}` });
  assert.equal(bob.status, 200);
  assert.deepEqual(bob.json.workers.map((w) => w.sid), [S.bob]);
  const create = await raw('POST', path, { auth: `Bearer ${ourToken(`worker:${S.bob}`)}`, body: 'FriendlyName=mallory' });
  assert.equal(create.status, 403);
  assert.equal(create.json.code, 20403);
  // a supervisor may change activities but not create resources
  const sup = `Bearer ${ourToken('supervisor')}`;
  const move = await raw('POST', `${path}/${S.carol}`, { auth: sup, body: `ActivitySid=${S.available}` });
  assert.equal(move.status, 200, move.text);
  assert.equal(move.json.activity_name, 'Available');
  const mk = await raw('POST', `/v1/Workspaces/${S.ws}/Activities`, { auth: sup, body: 'FriendlyName=Nap' });
  assert.equal(mk.status, 403);
  // a Twilio Access Token is limited to its workspace
  const elsewhere = await raw('GET', '/v1/Workspaces', { auth: `Bearer ${accessToken(S.ws, S.bob, 'worker')}` });
  assert.equal(elsewhere.status, 403);
  const wsAdmin = await raw('GET', `/v1/Workspaces/${S.ws}/Activities`, { auth: `Bearer ${accessToken(S.ws, undefined, 'admin')}` });
  assert.equal(wsAdmin.status, 200);
});

test('protocol errors: wrong method, unknown route, malformed bodies, unknown parameters, CORS', async () => {
  const wsPath = `/v1/Workspaces/${S.ws}`;
  const put = await raw('PUT', `${wsPath}/Workers`, { body: 'FriendlyName=x' });
  assert.equal(put.status, 405);
  assert.equal(put.json.code, 20004);
  assert.equal(put.headers.get('allow'), 'GET, POST');
  const del = await raw('DELETE', `${wsPath}/Events`);
  assert.equal(del.status, 405);
  const nope = await raw('GET', `${wsPath}/Robots`);
  assert.equal(nope.status, 404);
  assert.equal(nope.json.code, 20404);
  assert.equal((await raw('GET', '/v1/Nothing/Here')).status, 404);
  assert.equal((await raw('GET', `/v1/Workspaces/WS${'9'.repeat(32)}/Workers`)).status, 404);

  const before = (await tr.workspaces(S.ws).activities.list()).length;
  for (const body of ['FriendlyName=%zz', 'FriendlyName=%4', 'FriendlyName=a%00b', '=x&FriendlyName=y', 'FriendlyName=%C3%28']) {
    const r = await raw('POST', `${wsPath}/Activities`, { body });
    assert.equal(r.status, 400, body);
    assert.equal(r.json.code, 20001);
    assert.equal(r.json.status, 400);
    assert.match(r.json.message, /malformed form body/);
  }
  const json = await raw('POST', `${wsPath}/Activities`, { body: '{"FriendlyName":"x"}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(json.status, 400);
  const bulkBad = await raw('POST', `${wsPath}/TaskQueues/RealTimeStatistics`, { body: '[{"task_queue_sid": ', headers: { 'Content-Type': 'application/json' } });
  assert.equal(bulkBad.status, 400);
  assert.match(bulkBad.json.message, /malformed JSON/);
  const unknown = await raw('POST', `${wsPath}/Activities`, { body: 'FriendlyName=Nap&Colour=blue' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.message, /Unknown parameter 'Colour'/);
  const twice = await raw('POST', `${wsPath}/Activities`, { body: 'FriendlyName=Nap&FriendlyName=Rest' });
  assert.equal(twice.status, 400);
  const badPage = await raw('GET', `${wsPath}/Workers?PageSize=5000`);
  assert.equal(badPage.status, 400);
  assert.match(badPage.json.message, /'PageSize'/);
  assert.equal((await tr.workspaces(S.ws).activities.list()).length, before, 'rejected requests changed nothing');
  // spaces as '+' and escapes decode
  const plus = await raw('POST', `${wsPath}/Activities`, { body: 'FriendlyName=Coffee+break%21&Available=false' });
  assert.equal(plus.status, 201);
  assert.equal(plus.json.friendly_name, 'Coffee break!');

  const pre = await raw('OPTIONS', `${wsPath}/Workers`, { auth: null, headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://example.test');
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
});

test('deletes: worker, workflow with tasks, workspace', async () => {
  const ws = tr.workspaces(S.ws);
  assert.equal(await ws.workers(S.carol).remove(), true);
  await rejects(ws.workers(S.carol).fetch(), 404, 20404);
  await rejects(ws.workflows(S.wf).remove(), 409, 20409, /tasks/);
  const defaultWs = (await tr.workspaces.list())[0];
  assert.notEqual(defaultWs.sid, S.ws, 'the default workspace is listed first');
  await rejects(tr.workspaces(defaultWs.sid).remove(), 409, 20409, /default/);
  assert.equal(await tr.workspaces(S.ws).remove(), true);
  await rejects(tr.workspaces(S.ws).fetch(), 404, 20404);
  await rejects(tr.workspaces(S.ws).workers.list(), 404, 20404);
});
