/*
 * eb_helpers.js - what the EventBridge tests share: the node under test (its
 * data directory, ports, restart), Twilio Access Tokens minted with twilio-node
 * from the node's own credentials, raw EventBridge POSTs, task creation (swbctl
 * when it is built, else the EventBridge with an admin token) and waiting for
 * SDK events with a deadline.
 *
 * Env (set by tests/eventbridge_test.sh): SWB_BUILD, SWB_SRC, SWB_DATA,
 * SWB_HTTP (127.0.0.1:PORT), SWB_NNG (tcp://127.0.0.1:PORT), SWB_NODE_PIDFILE,
 * SWB_NODE_LOG, SWB_NODE_ARGS (JSON array: how the node was started),
 * EB_NODE_MODULES (npm cache with twilio-taskrouter, twilio, playwright-core).
 */
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const mods = process.env.EB_NODE_MODULES;
const need = (name) => require(path.join(mods, name));

const env = {
  build: process.env.SWB_BUILD,
  data: process.env.SWB_DATA,
  http: process.env.SWB_HTTP,
  nng: process.env.SWB_NNG,
  pidfile: process.env.SWB_NODE_PIDFILE,
  log: process.env.SWB_NODE_LOG,
  args: JSON.parse(process.env.SWB_NODE_ARGS || '[]'),
};
const EB_URL = `http://${env.http}/v1/wschannels`;
const WS_URL = `ws://${env.http}/v1/wschannels`;

const creds = JSON.parse(fs.readFileSync(path.join(env.data, 'credentials.json'), 'utf8'));
const workspaceSid = fs.readFileSync(path.join(env.data, 'default'), 'utf8').trim();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* A Twilio Access Token as twilio-node makes it. */
function mint({ workerSid, role = 'worker', ttl = 3600, identity = 'test', ws = workspaceSid, secret } = {}) {
  const twilio = need('twilio');
  const { AccessToken } = twilio.jwt;
  const token = new AccessToken(creds.account_sid, creds.api_key_sid, secret || creds.api_key_secret,
    { identity, ttl });
  const grant = { workspaceSid: ws, role };
  if (workerSid) grant.workerSid = workerSid;
  token.addGrant(new AccessToken.TaskRouterGrant(grant));
  return token.toJwt();
}

/* An HS256 JWT with exactly these claims (for tokens twilio-node will not make, e.g. already expired). */
function rawJwt(claims, secret = creds.api_key_secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
  const body = b64(claims);
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/* One EventBridge POST; resolves {status, body}. body may be a string (sent as is) or an object. */
async function ebPost(body, headers = {}) {
  const res = await fetch(EB_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', apiVersion: 'v1', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* left null */ }
  return { status: res.status, body: json, text };
}

const adminToken = () => mint({ role: 'admin', identity: 'test-admin' });

/* A wrapped call with an admin token; asserts 200 and returns the payload. */
async function admin(method, url, params = {}) {
  const r = await ebPost({ url, method, params, token: adminToken() });
  assert.equal(r.status, 200, `${method} ${url}: ${r.text}`);
  return r.body.payload;
}

async function workerByName(name) {
  const page = await admin('GET', `Workspaces/${workspaceSid}/Workers`, { FriendlyName: name, PageSize: 1000 });
  assert.equal(page.contents.length, 1, `worker ${name}`);
  return page.contents[0];
}

async function activityByName(name) {
  const page = await admin('GET', `Workspaces/${workspaceSid}/Activities`, { PageSize: 1000 });
  const a = page.contents.find((x) => x.friendly_name === name);
  assert.ok(a, `activity ${name}`);
  return a;
}

let swbctlWorks = null;
/* Creates a task: with swbctl (the real nng client) when it is built and works, else through the EventBridge. */
async function createTask(attributes) {
  const swbctl = path.join(env.build, 'swbctl');
  if (swbctlWorks !== false && fs.existsSync(swbctl)) {
    try {
      const out = execFileSync(swbctl, ['--url', env.nng, '--data', env.data, '--json', 'tasks', 'create',
        '--attributes', JSON.stringify(attributes)], { encoding: 'utf8', timeout: 10000 });
      const task = JSON.parse(out);
      if (task.sid) {
        swbctlWorks = true;
        return task.sid;
      }
    } catch (e) {
      if (swbctlWorks) throw e;
      console.log(`# swbctl tasks create failed (${String(e.message).split('\n')[0]}); using the EventBridge`);
    }
    swbctlWorks = false;
  }
  const task = await admin('POST', `Workspaces/${workspaceSid}/Tasks`, { Attributes: attributes });
  return task.sid;
}

/* Resolves with the arguments of the next `event` from emitter, or rejects after ms. */
function next(emitter, event, ms = 10000, filter = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      reject(new Error(`no '${event}' within ${ms} ms`));
    }, ms);
    function on(...args) {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.removeListener(event, on);
      resolve(args.length > 1 ? args : args[0]);
    }
    emitter.on(event, on);
  });
}

async function until(what, fn, ms = 10000, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(step);
  }
}

/* ---- the node ---- */

function nodePid() {
  return Number(fs.readFileSync(env.pidfile, 'utf8'));
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return false; }
}

async function stopNode() {
  const pid = nodePid();
  process.kill(pid, 'SIGTERM');
  await until('the node to exit', () => !alive(pid), 10000);
}

async function startNode() {
  const out = fs.openSync(env.log, 'a');
  const child = spawn(path.join(env.build, 'swb-node'), env.args, { stdio: ['ignore', out, out], detached: true });
  child.unref();
  fs.writeFileSync(env.pidfile, String(child.pid));
  await until('the node to answer', async () => {
    try {
      const r = await ebPost('{}');
      return r.status === 400;
    } catch (e) {
      return false;
    }
  }, 10000);
}

module.exports = {
  env, creds, workspaceSid, EB_URL, WS_URL, need, sleep, mint, rawJwt, ebPost, admin, workerByName,
  activityByName, createTask, next, until, stopNode, startNode,
};
