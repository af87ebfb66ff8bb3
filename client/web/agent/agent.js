/*
 * agent.js - the agent page's logic: one twilio-taskrouter Worker connected to
 * the node that served the page (EventBridge at /v1/wschannels), showing the
 * worker's activity and reservations and letting the agent change activity,
 * accept, reject, wrap up and complete. Everything shown comes from the SDK's
 * own objects and events; every change goes through the SDK's own calls.
 *
 * Text from tasks (attributes) is put into the page with textContent only.
 * The page's state is mirrored on <body data-state> (starting, ready,
 * disconnected, error, expired) for people and for the headless browser test.
 */
'use strict';

(function () {
  const LOG_MAX = 50; /* events kept on screen */

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function setState(state, text) {
    document.body.dataset.state = state;
    $('conn').textContent = text || state;
    $('conn').className = 'badge ' + state;
  }

  function log(text) {
    const ol = $('log');
    ol.prepend(el('li', {}, new Date().toLocaleTimeString() + '  ' + text));
    while (ol.children.length > LOG_MAX) ol.lastChild.remove();
  }

  const token = new URLSearchParams(location.search).get('token');
  if (!token) {
    $('no-token').hidden = false;
    setState('error', 'no token');
    return;
  }
  if (typeof TaskRouter === 'undefined' || !TaskRouter.Worker) {
    $('no-sdk').hidden = false;
    setState('error', 'no SDK');
    return;
  }

  const server = location.origin + '/v1/wschannels';
  const worker = new TaskRouter.Worker(token, {
    ebServer: server,
    wsServer: server.replace(/^http/, 'ws'),
    logLevel: 'warn',
  });
  window.swbAgent = { worker }; /* for the console and the browser test */

  /* Runs an SDK call from a button, showing failures instead of swallowing them. */
  function act(what, fn) {
    return (ev) => {
      ev.target.disabled = true;
      Promise.resolve()
        .then(fn)
        .then(() => log(what + ': ok'))
        .catch((err) => log(what + ' failed: ' + (err && err.message ? err.message : err)))
        .finally(() => { ev.target.disabled = false; render(); });
    };
  }

  function renderActivities() {
    const current = worker.activity;
    $('activity').textContent = current ? current.name : '?';
    const box = $('activities');
    box.replaceChildren();
    for (const a of worker.activities.values()) {
      const isCurrent = current && current.sid === a.sid;
      box.append(el('button', {
        class: isCurrent ? 'current' : '',
        dataset: { activity: a.name, sid: a.sid },
        onclick: act('activity ' + a.name, () => a.setAsCurrent()),
      }, a.name + (a.available ? '' : ' ·')));
    }
  }

  function reservationCard(r) {
    const t = r.task;
    const buttons = el('div', { class: 'buttons' });
    if (r.status === 'pending') {
      buttons.append(
        el('button', { class: 'accept', onclick: act('accept ' + r.sid, () => r.accept()) }, 'Accept'),
        el('button', { class: 'reject', onclick: act('reject ' + r.sid, () => r.reject()) }, 'Reject'));
    } else if (r.status === 'accepted') {
      buttons.append(
        el('button', { class: 'wrap', onclick: act('wrap up ' + t.sid, () => t.wrapUp()) }, 'Wrap up'),
        el('button', { class: 'complete', onclick: act('complete ' + t.sid, () => t.complete('done')) }, 'Complete'));
    } else if (r.status === 'wrapping') {
      buttons.append(
        el('button', { class: 'complete', onclick: act('complete ' + t.sid, () => t.complete('done')) }, 'Complete'));
    }
    return el('li', { id: 'res-' + r.sid, class: 'reservation ' + r.status, dataset: { sid: r.sid, task: t.sid } },
      el('div', { class: 'head' },
        el('strong', {}, t.queueName || 'task'),
        el('span', { class: 'status' }, r.status),
        el('span', { class: 'muted' }, ' task ' + t.status)),
      el('pre', { class: 'attrs' }, JSON.stringify(t.attributes, null, 2)),
      el('div', { class: 'muted' }, r.sid + ' · ' + t.sid + ' · ' + t.taskChannelUniqueName),
      buttons);
  }

  function renderReservations() {
    const list = $('reservations');
    list.replaceChildren();
    const live = [...worker.reservations.values()]
      .filter((r) => ['pending', 'accepted', 'wrapping'].includes(r.status));
    for (const r of live) list.append(reservationCard(r));
    $('no-reservations').hidden = live.length > 0;
  }

  function render() {
    if (document.body.dataset.state === 'starting') return;
    renderActivities();
    renderReservations();
  }

  /* Every reservation the worker holds re-renders the page on each change of its life. */
  function watch(r) {
    for (const ev of ['accepted', 'rejected', 'timeout', 'canceled', 'rescinded', 'wrapup', 'completed']) {
      r.on(ev, () => { log('reservation ' + ev + ': ' + r.sid); render(); });
    }
    for (const ev of ['updated', 'wrapup', 'completed', 'canceled']) {
      r.task.on(ev, () => { log('task ' + ev + ': ' + r.task.sid); render(); });
    }
  }

  worker.on('ready', () => {
    $('app').hidden = false;
    $('worker-name').textContent = worker.name + ' (' + worker.sid + ')';
    setState('ready');
    for (const r of worker.reservations.values()) watch(r);
    log('ready: ' + worker.activity.name);
    render();
  });
  worker.on('activityUpdated', () => { log('activity: ' + worker.activity.name); render(); });
  worker.on('attributesUpdated', () => { log('attributes updated'); render(); });
  worker.on('reservationCreated', (r) => {
    log('reservation created: ' + r.sid + ' (' + (r.task.queueName || 'task') + ')');
    watch(r);
    render();
  });
  worker.on('reservationFailed', () => log('reservation failed'));
  worker.on('disconnected', (e) => {
    setState('disconnected');
    log('disconnected: ' + (e && e.message ? e.message : ''));
  });
  worker.on('tokenExpired', () => {
    setState('expired', 'token expired');
    log('token expired: open the page with a new token');
  });
  worker.on('error', (err) => {
    log('error: ' + (err && err.message ? err.message : err));
    if (document.body.dataset.state === 'starting') setState('error');
  });
})();
