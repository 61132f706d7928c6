// Rover Logout Gateway admin console. Plain JavaScript, no build step, no library: it talks only to the admin JSON
// API of the port that served it. Every value from the API becomes DOM text (textContent / text nodes), never
// markup: an environment named <img src=x onerror=alert(1)> shows as those characters. The token lives in this
// tab's sessionStorage, never in a cookie or a URL.

const TOKEN_KEY = 'rlg.token';
const DRAFT_KEY = 'rlg.draft.add';
const PKCE_KEY = 'rlg.pkce';
const ROLES = ['viewer', 'operator', 'admin'];
const STATUS_LABEL = { PENDING: 'Pending', READY: 'Ready', PAUSED: 'Paused', DISABLED: 'Disabled' };
const STEP_LABEL = { dns: 'DNS', tls: 'TLS', http: 'HTTP', token: 'Token' };

const S = { config: null, token: null, me: null, tenant: '', tenants: [], timers: [], seq: 0 };

// ---------------------------------------------------------------- DOM helpers (text only)

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (selector, root = document) => root.querySelector(selector);
const enc = encodeURIComponent;

function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function badge(status) {
  return el('span', { class: 'badge s-' + String(status).toLowerCase() }, STATUS_LABEL[status] || String(status));
}

function notice(text) {
  const n = $('#notice');
  n.textContent = text || '';
  n.hidden = !text;
}

function can(role) {
  return S.me && ROLES.indexOf(S.me.role) >= ROLES.indexOf(role);
}

function every(ms, fn) {
  const seq = S.seq;
  const id = setInterval(() => { if (seq === S.seq) fn().catch(() => {}); }, ms);
  S.timers.push(id);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem || {};
  }
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + S.token, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (r.status === 401 && S.token) {
    expired();
    throw new ApiError(401, data);
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/** Downloads an API answer as a file (the Authorization header cannot ride on a plain link). */
async function download(path, filename) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + S.token }, cache: 'no-store' });
  if (!r.ok) throw new ApiError(r.status, null);
  const url = URL.createObjectURL(await r.blob());
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const t = el('textarea', {}, text);
    document.body.append(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  const before = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = before; }, 1500);
}

// ---------------------------------------------------------------- sign-in

function expired() {
  sessionStorage.removeItem(TOKEN_KEY);
  S.token = null;
  S.me = null;
  document.querySelectorAll('dialog').forEach(d => { d.close(); d.remove(); }); // the draft is in sessionStorage
  loginView('Your session has ended. Sign in again; what you typed in the Add dialog is kept.');
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function discovery() {
  const r = await fetch(S.config.oidc.issuer.replace(/\/+$/, '') + '/.well-known/openid-configuration');
  if (!r.ok) throw new Error('The identity provider cannot be reached (' + r.status + ').');
  return r.json();
}

function redirectUri() {
  return location.origin + '/console/';
}

async function oidcStart() {
  const d = await discovery();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: S.config.oidc.clientId, redirect_uri: redirectUri(),
    scope: 'openid profile email', state, code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(d.authorization_endpoint + '?' + q.toString());
}

async function oidcFinish(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, '', '/console/' + ((saved && saved.hash) || '')); // the code leaves the URL at once
  if (params.get('error')) throw new Error('The identity provider refused the sign-in: ' + params.get('error'));
  if (!saved || params.get('state') !== saved.state) throw new Error('The sign-in answer did not match this tab; sign in again.');
  const d = await discovery();
  const r = await fetch(d.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(),
      client_id: S.config.oidc.clientId, code_verifier: saved.verifier,
    }),
  });
  if (!r.ok) throw new Error('The identity provider refused the sign-in (' + r.status + ').');
  const t = await r.json();
  if (!t.access_token) throw new Error('The identity provider sent no access token.');
  return t.access_token;
}

function loginView(message) {
  $('#who').hidden = true;
  $('#nav').hidden = true;
  notice('');
  const view = $('#view');
  view.replaceChildren();
  const box = el('section', { class: 'card login', 'aria-labelledby': 'login-title' },
    el('h1', { id: 'login-title' }, 'Sign in'),
    message ? el('p', { class: 'errors', role: 'alert', id: 'login-message' }, message) : null);
  if (S.config && S.config.oidc) {
    box.append(el('p', {}, 'Sign in with your organisation\'s account.'),
      el('button', { id: 'oidc-sign-in', type: 'button', onclick: () => oidcStart().catch(e => loginView(e.message)) },
        'Sign in with your organisation'));
  } else {
    const form = el('form', { class: 'fields', id: 'token-form' },
      el('label', { for: 'token-input' }, 'Admin token'),
      el('div', {}, el('input', { id: 'token-input', type: 'password', autocomplete: 'off', required: true }),
        el('div', { class: 'hint' }, 'The admin token from the gateway\'s tokens.properties or RLG_AUTH_ADMINTOKEN.')),
      el('div', { class: 'full actions' }, el('button', { type: 'submit', id: 'token-submit' }, 'Sign in')));
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      S.token = $('#token-input').value.trim();
      try {
        await start();
      } catch (e) {
        S.token = null;
        loginView('That token was not accepted.');
      }
    });
    box.append(form);
  }
  view.append(box);
  const first = $('#token-input') || $('#oidc-sign-in');
  if (first) first.focus();
}

async function start() {
  S.me = await api('GET', '/admin/me');
  sessionStorage.setItem(TOKEN_KEY, S.token);
  $('#person').textContent = S.me.name + ' · ' + S.me.role + ' · ' + (S.me.tenants.includes('*') ? 'all tenants' : S.me.tenants.join(', '));
  await tenantSwitch();
  $('#who').hidden = false;
  $('#nav').hidden = false;
  await route();
}

async function tenantSwitch() {
  const select = $('#tenant-switch');
  select.replaceChildren();
  if (S.me.tenants.includes('*')) {
    const all = await api('GET', '/admin/tenants');
    S.tenants = all.tenants.map(t => ({ id: t.id, name: t.displayName }));
    select.append(el('option', { value: '' }, 'All tenants'));
  } else {
    S.tenants = S.me.tenants.map(id => ({ id, name: id }));
  }
  S.tenants.forEach(t => select.append(el('option', { value: t.id }, t.name === t.id ? t.id : t.name + ' (' + t.id + ')')));
  if (!S.me.tenants.includes('*') && S.tenants.length === 1) S.tenant = S.tenants[0].id;
  select.value = S.tenant;
  const single = S.tenants.length <= 1 && !S.me.tenants.includes('*');
  select.disabled = single;
  select.onchange = () => { S.tenant = select.value; route(); };
}

// ---------------------------------------------------------------- routing

async function route() {
  S.timers.forEach(clearInterval);
  S.timers = [];
  S.seq++;
  notice('');
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = hash.split('/');
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('current', a.dataset.route === (page === 'env' ? '' : page)));
  const view = $('#view');
  view.replaceChildren();
  try {
    if (page === 'env' && rest.length) await environmentPage(view, decodeURIComponent(rest.join('/')));
    else if (page === 'devices') await devicePage(view);
    else if (page === 'audit') await auditPage(view);
    else await epicLogoutPage(view);
  } catch (e) {
    if (e.status !== 401) view.append(el('p', { class: 'errors', role: 'alert' }, e.message));
  }
}

// ---------------------------------------------------------------- Epic Logout: the environments

async function epicLogoutPage(view) {
  document.title = 'Epic Logout — Rover Logout Gateway';
  view.append(el('div', { class: 'page-head' },
    el('div', {}, el('h1', {}, 'Epic Logout'),
      el('p', { class: 'muted' }, 'Each Epic environment this gateway logs devices out of: when a device is checked back in, Epic forgets it.')),
    can('admin') ? el('button', { id: 'add-environment', type: 'button', onclick: () => openAddDialog() }, 'Add Epic Environment') : null));
  const body = el('tbody', { id: 'env-rows' });
  view.append(el('table', { class: 'grid', id: 'env-table' },
    el('caption', {}, 'Epic environments', S.tenant ? ' of ' + S.tenant : ''),
    el('thead', {}, el('tr', {}, ['Display name', 'Interconnect URL', 'Instance', 'Status', 'Queue depth',
      'Calls (5 min)', 'Last error', 'Circuit'].map(h => el('th', { scope: 'col' }, h)))),
    body), el('p', { class: 'muted', id: 'refreshed' }));
  const refresh = async () => {
    const q = S.tenant ? '?tenantId=' + enc(S.tenant) : '';
    const [envs, queue, dead] = await Promise.all([api('GET', '/admin/environments' + q), api('GET', '/admin/queue'),
      api('GET', '/admin/dead-letters?limit=200')]);
    const byEnv = new Map(queue.environments.map(q2 => [q2.environmentId, q2]));
    const lastError = new Map();
    dead.deadLetters.forEach(d => { if (!lastError.has(d.environmentId)) lastError.set(d.environmentId, d); });
    const rows = envs.environments.map(e => {
      const q2 = byEnv.get(e.id) || {};
      const five = q2.last5Minutes || {};
      const calls = (five.done || 0) + (five.notAssociated || 0) + (five.failed || 0) + (five.expired || 0);
      const err = lastError.get(e.id);
      return el('tr', { 'data-id': e.id },
        el('td', {}, el('a', { href: '#/env/' + enc(e.id) }, e.displayName)),
        el('td', { class: 'wrap mono' }, e.interconnectUrl),
        el('td', {}, e.instance || '—'),
        el('td', { class: 'status' }, badge(e.status)),
        el('td', { class: 'num' }, q2.queued ?? 0),
        el('td', { class: 'num' }, calls),
        el('td', { class: 'wrap' }, q2.diagnosis ? el('p', { class: 'diagnosis', role: 'note' }, q2.diagnosis.message) : null,
          err ? (err.lastStatus ? 'HTTP ' + err.lastStatus + ': ' : '') + (err.lastError || 'failed') : q2.diagnosis ? null : '—'),
        el('td', {}, q2.circuit || '—'));
    });
    body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 8, class: 'empty' },
      'No Epic environments yet.', can('admin') ? ' Add one with "Add Epic Environment".' : ''))]));
    $('#refreshed').textContent = 'Updated ' + new Date().toLocaleTimeString() + '; refreshes every 5 seconds.';
  };
  await refresh();
  every(5000, refresh);
}

// ---------------------------------------------------------------- Add Epic Environment

const ADD_FIELDS = [
  { name: 'displayName', label: 'Display name', type: 'text', required: true, hint: 'How your team calls it, e.g. "St Mary\'s PRD".' },
  { name: 'interconnectUrl', label: 'Epic Interconnect server URL', type: 'url', required: true, hint: 'e.g. https://interconnect.example.org' },
  { name: 'instance', label: 'Instance', type: 'text', required: true, hint: 'The Interconnect instance, e.g. Interconnect-PRD.' },
];
const ADVANCED_FIELDS = [
  { name: 'id', label: 'Environment ID', type: 'text', hint: 'Lower-case letters, digits and -; lockers send it with each check-in.' },
  { name: 'clientId', label: 'Client ID', type: 'text', hint: 'The client ID of the Rover Logout connector in Epic.' },
  { name: 'rateLimitPerSecond', label: 'Rate limit (calls per second)', type: 'number', value: '20' },
  { name: 'burst', label: 'Burst', type: 'number' },
  { name: 'maxConcurrency', label: 'Concurrency', type: 'number' },
  { name: 'signingAlgorithm', label: 'Signing algorithm', type: 'select', options: ['ES384', 'RS384'] },
  { name: 'allowInsecure', label: 'Allow plain http (simulator and tests only)', type: 'checkbox' },
];

function slug(text) {
  return String(text).toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

function fieldRow(f, prefix) {
  const id = prefix + f.name;
  let input;
  if (f.type === 'select') {
    input = el('select', { id, name: f.name }, f.options.map(o => el('option', { value: o }, o)));
  } else if (f.type === 'checkbox') {
    input = el('input', { id, name: f.name, type: 'checkbox' });
  } else {
    input = el('input', { id, name: f.name, type: f.type, value: f.value, required: f.required, autocomplete: 'off',
      'aria-describedby': id + '-error' + (f.hint ? ' ' + id + '-hint' : ''), step: f.type === 'number' ? 'any' : null });
  }
  return [el('label', { for: id }, f.label),
    el('div', {}, input, f.hint ? el('div', { class: 'hint', id: id + '-hint' }, f.hint) : null,
      el('div', { class: 'field-error', id: id + '-error', 'aria-live': 'polite' }))];
}

function formValues(form, fields) {
  const out = {};
  for (const f of fields) {
    const input = form.elements[f.name];
    if (!input) continue;
    if (f.type === 'checkbox') { if (input.checked) out[f.name] = true; continue; }
    const v = input.value.trim();
    if (v === '') continue;
    out[f.name] = f.type === 'number' ? Number(v) : v;
  }
  return out;
}

/** Shows a problem's field errors next to the fields (and the detail on top); true when any field was named. */
function showErrors(form, prefix, problem, summary) {
  form.querySelectorAll('.field-error').forEach(e => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
  let named = false;
  for (const err of (problem && problem.errors) || []) {
    const box = $('#' + prefix + err.field + '-error', form);
    if (box) {
      box.textContent = (box.textContent ? box.textContent + ' ' : '') + err.message;
      const input = $('#' + prefix + err.field, form);
      if (input) input.setAttribute('aria-invalid', 'true');
      const details = box.closest('details');
      if (details) details.open = true;
      named = true;
    }
  }
  summary.textContent = problem ? (problem.detail || problem.title || '') : '';
  return named;
}

/** The steps of a connection test: name, pass / fail / skipped (text and colour), and the gateway's message. */
function stepItems(steps) {
  return steps.map(s => el('li', { 'data-step': s.step, 'data-status': s.status },
    el('span', { class: 'step-name' }, STEP_LABEL[s.step] || s.step),
    el('span', { class: 'state ' + (s.status === 'ok' ? 'pass' : s.status === 'failed' ? 'fail' : 'skip') },
      s.status === 'ok' ? '✓ Pass' : s.status === 'failed' ? '✕ Fail' : '– Skipped'),
    el('span', { class: 'message' }, s.message || '')));
}

function openAddDialog() {
  document.querySelectorAll('#add-dialog').forEach(d => d.remove());
  const prefix = 'add-';
  const dialog = el('dialog', { id: 'add-dialog', 'aria-labelledby': 'add-title' });
  const summary = el('p', { class: 'errors', role: 'alert', id: 'add-summary' });
  const steps = el('ol', { class: 'steps', id: 'test-steps', 'aria-live': 'polite' });
  const tenantRow = S.tenants.length > 1 || (S.me.tenants.includes('*') && S.tenants.length)
    ? [el('label', { for: prefix + 'tenantId' }, 'Tenant'), el('div', {}, el('select', { id: prefix + 'tenantId', name: 'tenantId' },
      S.tenants.map(t => el('option', { value: t.id }, t.name))), el('div', { class: 'field-error', id: prefix + 'tenantId-error' }))]
    : [];
  const form = el('form', { class: 'fields', id: 'add-form', novalidate: true },
    ...ADD_FIELDS.flatMap(f => fieldRow(f, prefix)),
    ...tenantRow,
    el('details', { class: 'advanced', id: 'add-advanced' }, el('summary', {}, 'Advanced'),
      el('div', {}, ...ADVANCED_FIELDS.flatMap(f => fieldRow(f, prefix)))),
    el('div', { class: 'full' }, summary, steps),
    el('div', { class: 'full actions' },
      el('button', { type: 'submit', id: 'test-connection' }, 'Test connection'),
      el('button', { type: 'button', id: 'add-next', class: 'secondary', disabled: true }, 'Next'),
      el('button', { type: 'button', id: 'add-cancel', class: 'quiet' }, 'Cancel')));
  dialog.append(el('h2', { id: 'add-title' }, 'Add Epic Environment'),
    el('p', { class: 'muted' }, 'Step 1 of 2: where Epic is. The gateway creates the environment and its key pair, then tests the connection.'),
    form);
  document.body.append(dialog);
  if (form.elements.tenantId && S.tenant) form.elements.tenantId.value = S.tenant; // the tenant being looked at
  const all = [...ADD_FIELDS, ...ADVANCED_FIELDS, { name: 'tenantId', type: 'select' }];
  let created = null;
  let idTouched = false;
  let sent = {};

  // a draft survives an expired session: restored when the dialog opens again
  const draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null');
  if (draft) {
    for (const [k, v] of Object.entries(draft.values || {})) {
      const input = form.elements[k];
      if (!input) continue;
      if (input.type === 'checkbox') input.checked = !!v; else input.value = v;
    }
    created = draft.created || null;
    idTouched = !!draft.idTouched;
    if (created) { $('#add-next', form).disabled = false; sent = draft.sent || {}; }
  }
  const saveDraft = () => sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ values: formValues(form, all), created, idTouched, sent }));
  form.addEventListener('input', ev => {
    if (ev.target.name === 'id') idTouched = true;
    if (ev.target.name === 'displayName' && !idTouched && !created) form.elements.id.value = slug(ev.target.value);
    saveDraft();
  });
  const close = () => { sessionStorage.removeItem(DRAFT_KEY); dialog.close(); dialog.remove(); route(); };
  $('#add-cancel', form).addEventListener('click', close);
  dialog.addEventListener('cancel', ev => { ev.preventDefault(); close(); });

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const button = $('#test-connection', form);
    button.disabled = true;
    steps.replaceChildren(el('li', { class: 'muted' }, 'Testing…'));
    try {
      const values = formValues(form, all);
      if (!created) {
        const env = await api('POST', '/admin/environments', values);
        created = env.id;
        sent = values;
        form.elements.id.readOnly = true;
        if (form.elements.tenantId) form.elements.tenantId.disabled = true;
      } else {
        const changed = {};
        for (const [k, v] of Object.entries(values)) if (k !== 'id' && k !== 'tenantId' && sent[k] !== v) changed[k] = v;
        if (Object.keys(changed).length) {
          await api('PATCH', '/admin/environments/' + enc(created), changed);
          sent = values;
        }
      }
      saveDraft();
      showErrors(form, prefix, null, summary);
      $('#add-next', form).disabled = false;
      const result = await api('POST', '/admin/environments/' + enc(created) + '/test-connection');
      steps.replaceChildren(...stepItems(result.steps));
      summary.textContent = result.ok ? 'All steps passed. Go on with Next.'
        : 'A step failed: fix the field and test again, or go on with Next and fix it later.';
    } catch (e) {
      steps.replaceChildren();
      if (e.status !== 401) {
        const named = showErrors(form, prefix, e.problem, summary);
        if (!named) summary.textContent = e.message;
        const bad = form.querySelector('[aria-invalid]');
        if (bad) bad.focus();
      }
    } finally {
      button.disabled = false;
    }
  });

  $('#add-next', form).addEventListener('click', async () => {
    const env = await api('GET', '/admin/environments/' + enc(created));
    const jwks = el('input', { id: 'handoff-jwks', type: 'text', readonly: true, value: env.jwksUrl, 'aria-label': 'JWKS URL' });
    const copyButton = el('button', { type: 'button', id: 'copy-jwks', class: 'secondary' }, 'Copy');
    copyButton.addEventListener('click', () => copy(env.jwksUrl, copyButton));
    dialog.replaceChildren(el('h2', { id: 'add-title' }, 'Hand these to Epic'),
      el('p', { class: 'muted' }, 'Step 2 of 2: the gateway made a key pair for "', env.displayName, '". Epic must trust its public key.'),
      el('dl', { class: 'handoff' },
        el('dt', {}, 'JWKS URL'), el('dd', { class: 'row' }, jwks, copyButton),
        el('dt', {}, 'Public key certificate'), el('dd', {}, el('button', { type: 'button', id: 'download-pem', class: 'secondary',
          onclick: () => download('/admin/environments/' + enc(env.id) + '/public-key.pem', env.id + '.pem') }, 'Download PEM')),
        el('dt', {}, 'Client ID'), el('dd', { class: 'mono', id: 'handoff-client' }, env.clientId)),
      el('p', {}, 'Request the Rover Logout connector for this client ID in Epic Showroom and give Epic the JWKS URL ',
        '(or upload the certificate). Epic syncs the key within up to 12 hours. Until then the environment shows ',
        badge('PENDING'), '; it turns ', badge('READY'), ' by itself as soon as Epic accepts the key.'),
      el('div', { class: 'actions' }, el('button', { type: 'button', id: 'add-done', onclick: close }, 'Done')));
    $('#add-done', dialog).focus();
  });

  dialog.showModal();
  form.elements.displayName.focus();
}

// ---------------------------------------------------------------- one environment

function keyStage(k) {
  const now = Date.now();
  const from = new Date(k.signingFrom).getTime();
  if (k.current) return 'In use since ' + when(k.signingFrom);
  if (k.published && from > now) return 'Published; in use from ' + when(k.signingFrom);
  if (k.published) return 'Retiring: still published, no longer signing';
  return 'Retired';
}

async function environmentPage(view, id) {
  const e = await api('GET', '/admin/environments/' + enc(id));
  document.title = e.displayName + ' — Epic Logout';
  const accepted = (e.statusHistory || []).find(h => h.to === 'READY' && h.actor === 'readiness-prober');
  const head = el('div', { class: 'page-head' },
    el('div', {}, el('p', { class: 'muted' }, el('a', { href: '#/' }, '‹ Epic Logout')),
      el('h1', {}, e.displayName, ' ', el('span', { id: 'env-status' }, badge(e.status))),
      el('p', { class: 'muted', id: 'env-accepted' }, accepted ? 'Epic accepted our key at ' + when(accepted.at) + '.'
        : e.status === 'PENDING' ? 'Pending: waiting for Epic to trust our key (JWKS URL ' + e.jwksUrl + ').' : '')),
    el('div', { class: 'row', id: 'env-actions' }));
  view.append(head);
  if (e.diagnosis) {
    view.append(el('p', { class: 'diagnosis', id: 'env-diagnosis', role: 'note' }, el('strong', {}, 'Check the MDM set-up: '),
      e.diagnosis.message));
  }
  const actions = $('#env-actions', head);
  const move = (label, path, question, cls) => el('button', { type: 'button', class: cls || 'secondary', id: 'action-' + path,
    onclick: async () => {
      if (!confirm(question)) return;
      try { await api('POST', '/admin/environments/' + enc(id) + '/' + path); await route(); } catch (err) { if (err.status !== 401) notice(err.message); }
    } }, label);
  if (can('operator') && e.status === 'READY') actions.append(move('Pause', 'pause', 'Pause calls to Epic for "' + e.displayName + '"? Check-ins are still taken and wait.'));
  if (can('operator') && e.status === 'PAUSED') actions.append(move('Resume', 'resume', 'Resume calls to Epic for "' + e.displayName + '"?'));
  if (can('admin') && (e.status === 'PENDING' || e.status === 'DISABLED')) actions.append(move('Activate now', 'activate', 'Mark "' + e.displayName + '" ready now, without waiting for the readiness probe?'));
  if (can('admin') && e.status !== 'DISABLED') actions.append(move('Disable', 'disable', 'Disable "' + e.displayName + '"? Queued check-ins are cancelled and new ones are not taken.', 'danger'));
  const testSteps = el('ol', { class: 'steps', id: 'env-test-steps', 'aria-live': 'polite' });
  if (can('operator')) {
    actions.prepend(el('button', { type: 'button', class: 'secondary', id: 'env-test-connection', onclick: async ev => {
      ev.target.disabled = true;
      testSteps.replaceChildren(el('li', { class: 'muted' }, 'Testing…'));
      try {
        const result = await api('POST', '/admin/environments/' + enc(id) + '/test-connection');
        testSteps.replaceChildren(...stepItems(result.steps));
      } catch (err) {
        if (err.status !== 401) testSteps.replaceChildren(el('li', { class: 'fail' }, err.message));
      } finally {
        ev.target.disabled = false;
      }
    } }, 'Test connection'));
  }
  view.append(testSteps);

  // settings
  const prefix = 'set-';
  const editable = ['displayName', 'interconnectUrl', 'instance', 'clientId', 'rateLimitPerSecond', 'burst', 'maxConcurrency'];
  const fields = [...ADD_FIELDS, ...ADVANCED_FIELDS].filter(f => editable.includes(f.name));
  const summary = el('p', { class: 'errors', role: 'alert' });
  const settings = el('form', { class: 'fields', id: 'settings-form', novalidate: true }, ...fields.flatMap(f => fieldRow(f, prefix)),
    el('div', { class: 'full' }, summary),
    can('admin') ? el('div', { class: 'full actions' }, el('button', { type: 'submit', id: 'settings-save' }, 'Save settings')) : null);
  for (const f of fields) {
    const input = settings.elements[f.name];
    input.value = e[f.name] ?? '';
    if (!can('admin')) input.readOnly = true;
  }
  settings.addEventListener('submit', async ev => {
    ev.preventDefault();
    const values = formValues(settings, fields);
    const changed = {};
    for (const [k, v] of Object.entries(values)) if (e[k] !== v) changed[k] = v;
    try {
      if (Object.keys(changed).length) await api('PATCH', '/admin/environments/' + enc(id), changed);
      showErrors(settings, prefix, null, summary);
      await route();
      notice('Settings saved.');
    } catch (err) {
      if (err.status !== 401 && !showErrors(settings, prefix, err.problem, summary)) summary.textContent = err.message;
    }
  });
  view.append(el('h2', {}, 'Settings'), el('div', { class: 'card' }, settings));

  // activity chart
  view.append(el('h2', {}, 'The last hour'), el('div', { class: 'legend' }, el('span', { class: 'key-depth' }, 'queue depth'),
    el('span', { class: 'key-calls' }, 'calls to Epic per minute')), el('div', { id: 'activity' }));
  const drawActivity = async () => $('#activity').replaceChildren(chart(await api('GET', '/admin/environments/' + enc(id) + '/activity')));
  await drawActivity();
  every(15000, drawActivity);

  // keys
  const keys = el('tbody', {}, (e.keys || []).map(k => el('tr', {}, el('td', { class: 'mono' }, k.kid), el('td', {}, k.algorithm),
    el('td', {}, when(k.signingFrom)), el('td', {}, keyStage(k)))));
  view.append(el('h2', {}, 'Signing keys'),
    el('p', { class: 'muted' }, 'Rotation: a new key is published in the JWKS first, signs from its start date on, and the old one stays published until it is retired.'),
    el('table', { class: 'grid', id: 'keys-table' }, el('thead', {}, el('tr', {}, ['Key ID', 'Algorithm', 'Signs from', 'Stage'].map(h => el('th', { scope: 'col' }, h)))), keys),
    can('admin') ? el('div', { class: 'actions' }, el('button', { type: 'button', id: 'rotate-key', class: 'secondary', onclick: async () => {
      if (!confirm('Rotate the signing key of "' + e.displayName + '"? The new key is published now and signs after the grace period.')) return;
      try { await api('POST', '/admin/environments/' + enc(id) + '/keys/rotate'); await route(); } catch (err) { if (err.status !== 401) notice(err.message); }
    } }, 'Rotate key')) : null);

  await deadLetters(view, id);
  await credentials(view, e.tenantId);
}

function chart(activity) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const W = 900; const H = 220; const L = 48; const B = 24; const T = 10;
  const minutes = activity.minutes || [];
  const maxDepth = Math.max(1, ...minutes.map(m => m.queueDepth || 0));
  const maxCalls = Math.max(1, ...minutes.map(m => m.calls || 0));
  const top = Math.max(maxDepth, maxCalls);
  const x = i => L + (i * (W - L - 8)) / Math.max(1, minutes.length);
  const y = v => H - B - ((H - B - T) * v) / top;
  const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img',
    'aria-label': 'Queue depth and calls per minute over the last hour' });
  root.append(svg('line', { x1: L, y1: H - B, x2: W - 8, y2: H - B, class: 'axis' }), svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }),
    svg('text', { x: 4, y: T + 10 }, String(top)), svg('text', { x: 4, y: H - B }, '0'),
    svg('text', { x: L, y: H - 6 }, '60 min ago'), svg('text', { x: W - 40, y: H - 6 }, 'now'));
  const barW = Math.max(2, (W - L - 8) / Math.max(1, minutes.length) - 2);
  minutes.forEach((m, i) => {
    if (m.calls) root.append(svg('rect', { x: x(i), y: y(m.calls), width: barW, height: H - B - y(m.calls), class: 'calls' }, undefined));
  });
  const points = minutes.map((m, i) => m.queueDepth === null || m.queueDepth === undefined ? null : x(i) + barW / 2 + ',' + y(m.queueDepth)).filter(Boolean);
  if (points.length) root.append(svg('polyline', { points: points.join(' '), class: 'depth' }));
  return root;
}

async function deadLetters(view, id) {
  const data = await api('GET', '/admin/dead-letters?environmentId=' + enc(id) + '&limit=100');
  const result = el('p', { id: 'replay-result', role: 'status' });
  const replay = async body => {
    try {
      const r = await api('POST', '/admin/dead-letters/replay', body);
      await route();
      notice('Replayed ' + r.replayed.length + (r.skipped.length ? '; skipped ' + r.skipped.map(s => '#' + s.id + ' (' + s.reason + ')').join(', ') : '') + '.');
    } catch (err) { if (err.status !== 401) result.textContent = err.message; }
  };
  const operator = can('operator');
  const rows = data.deadLetters.map(d => el('tr', { 'data-job': d.id },
    operator ? el('td', {}, el('input', { type: 'checkbox', class: 'pick', value: d.id, 'aria-label': 'Select dead letter ' + d.id })) : null,
    el('td', { class: 'num' }, d.id), el('td', { class: 'mono wrap' }, d.deviceId), el('td', {}, when(d.failedAt)),
    el('td', { class: 'wrap' }, (d.lastStatus ? 'HTTP ' + d.lastStatus + ': ' : '') + (d.lastError || '')),
    el('td', { class: 'mono' }, d.requestId || '—'),
    operator ? el('td', {}, el('button', { type: 'button', class: 'secondary replay-one', onclick: () => replay({ ids: [d.id] }) }, 'Replay')) : null));
  view.append(el('h2', {}, 'Dead letters'),
    el('p', { class: 'muted' }, 'Check-ins whose call to Epic failed for good. A replay sends them again unless the device was checked out meanwhile.'),
    el('table', { class: 'grid', id: 'dead-letters' }, el('thead', {}, el('tr', {},
      (operator ? ['', 'Job', 'Install ID', 'Failed at', 'Epic\'s answer', 'Request ID', ''] : ['Job', 'Install ID', 'Failed at', 'Epic\'s answer', 'Request ID'])
        .map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No dead letters.')))),
    operator && rows.length ? el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'replay-selected', class: 'secondary', onclick: () => {
        const ids = [...document.querySelectorAll('#dead-letters .pick:checked')].map(c => Number(c.value));
        if (ids.length) replay({ ids });
      } }, 'Replay selected'),
      el('button', { type: 'button', id: 'replay-all', class: 'secondary', onclick: () => {
        if (confirm('Replay all dead letters of this environment?')) replay({ environmentId: id });
      } }, 'Replay all')) : null, result);
}

async function credentials(view, tenantId) {
  const data = await api('GET', '/admin/tenants/' + enc(tenantId) + '/credentials');
  const secretBox = el('div', { id: 'new-secret' });
  const rows = data.credentials.map(c => el('tr', { 'data-credential': c.id }, el('td', {}, c.name), el('td', { class: 'mono' }, c.prefix + '…'),
    el('td', {}, c.environments ? c.environments.join(', ') : 'all of the tenant\'s'), el('td', {}, when(c.createdAt)),
    el('td', {}, when(c.lastUsedAt)), el('td', {}, c.revokedAt ? 'revoked ' + when(c.revokedAt) : 'active'),
    can('admin') && !c.revokedAt ? el('td', {}, el('button', { type: 'button', class: 'danger revoke', onclick: async () => {
      if (!confirm('Revoke "' + c.name + '"? Lockers using it are refused within seconds.')) return;
      try { await api('DELETE', '/admin/tenants/' + enc(tenantId) + '/credentials/' + enc(c.id)); await route(); } catch (err) { if (err.status !== 401) notice(err.message); }
    } }, 'Revoke')) : el('td', {})));
  view.append(el('h2', {}, 'Ingest credentials of tenant ', tenantId),
    el('p', { class: 'muted' }, 'Lockers post check-ins with one of these. The secret is shown once, when it is created.'),
    el('table', { class: 'grid', id: 'credentials' }, el('thead', {}, el('tr', {},
      ['Name', 'Prefix', 'Environments', 'Created', 'Last used', 'State', ''].map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No credentials yet.')))), secretBox);
  if (can('admin')) {
    const summary = el('p', { class: 'errors', role: 'alert' });
    const form = el('form', { class: 'fields', id: 'credential-form', novalidate: true },
      el('label', { for: 'cred-name' }, 'New credential name'),
      el('div', {}, el('input', { id: 'cred-name', name: 'name', type: 'text', required: true, 'aria-describedby': 'cred-name-error' }),
        el('div', { class: 'field-error', id: 'cred-name-error' })),
      el('div', { class: 'full' }, summary),
      el('div', { class: 'full actions' }, el('button', { type: 'submit', id: 'credential-create' }, 'Create credential')));
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      try {
        const c = await api('POST', '/admin/tenants/' + enc(tenantId) + '/credentials', { name: form.elements.name.value.trim() });
        const copyButton = el('button', { type: 'button', class: 'secondary', id: 'copy-secret' }, 'Copy');
        copyButton.addEventListener('click', () => copy(c.secret, copyButton));
        secretBox.replaceChildren(el('div', { class: 'card' }, el('p', {}, el('strong', {}, 'Secret of "', c.name, '" — shown this once. '),
          'Put it in the lockers\' configuration now.'), el('div', { class: 'row' }, el('span', { class: 'secret', id: 'secret-value' }, c.secret), copyButton)));
        form.reset();
      } catch (err) {
        if (err.status !== 401 && !showErrors(form, 'cred-', err.problem, summary)) summary.textContent = err.message;
      }
    });
    view.append(el('div', { class: 'card' }, form));
  }
}

// ---------------------------------------------------------------- device lookup

async function devicePage(view) {
  document.title = 'Device lookup — Epic Logout';
  const q = S.tenant ? '?tenantId=' + enc(S.tenant) : '';
  const envs = (await api('GET', '/admin/environments' + q)).environments;
  const out = el('div', { id: 'device-result' });
  const form = el('form', { class: 'fields', id: 'device-form' },
    el('label', { for: 'device-id' }, 'Install ID'),
    el('div', {}, el('input', { id: 'device-id', name: 'deviceId', type: 'text', required: true, autocomplete: 'off' }),
      el('div', { class: 'hint' }, 'The Rover app\'s install ID of the device, as the locker sends it.')),
    el('label', { for: 'device-env' }, 'Environment'),
    el('div', {}, el('select', { id: 'device-env', name: 'environmentId' }, el('option', { value: '' }, 'All environments'),
      envs.map(e => el('option', { value: e.id }, e.displayName)))),
    el('div', { class: 'full actions' }, el('button', { type: 'submit', id: 'device-lookup' }, 'Look up')));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const id = form.elements.deviceId.value.trim();
    const env = form.elements.environmentId.value;
    if (!id) return;
    try {
      const h = await api('GET', '/admin/devices/' + enc(id) + '/history' + (env ? '?environmentId=' + enc(env) : ''));
      out.replaceChildren(timeline(h));
    } catch (err) {
      if (err.status !== 401) out.replaceChildren(el('p', { class: err.status === 404 ? 'muted' : 'errors', role: 'status' },
        err.status === 404 ? 'No check-in or check-out of this device' + (env ? ' in this environment' : '') + '.' : err.message));
    }
  });
  view.append(el('h1', {}, 'Device lookup'),
    el('p', { class: 'muted' }, 'Why was a nurse not logged out? Every check-in and check-out of a device, the job it made, each call to Epic and Epic\'s answer, with request ids.'),
    el('div', { class: 'card' }, form), out);
  form.elements.deviceId.focus();
}

function timeline(h) {
  const items = [];
  for (const e of h.events) {
    items.push({ at: e.occurredAt, kind: 'event', what: (e.type === 'CHECK_OUT' ? 'Check-out' : 'Check-in') + ' · ' + e.environmentId,
      detail: [e.lockerId ? 'locker ' + e.lockerId : null, e.userId ? 'user ' + e.userId : null, 'received ' + when(e.receivedAt),
        'outcome ' + e.outcome, e.jobId ? 'job #' + e.jobId : null, 'request ' + e.requestId].filter(Boolean).join(' · ') });
  }
  for (const j of h.jobs) {
    items.push({ at: j.finishedAt || j.receivedAt, kind: 'job', what: 'Job #' + j.id + ': ' + j.state,
      detail: [j.attempts + ' attempt(s)', j.lastStatus ? 'last HTTP ' + j.lastStatus : null, j.lastError ? 'last error: ' + j.lastError : null,
        j.checkedOutDuringCallAt ? 'checked out during the call at ' + when(j.checkedOutDuringCallAt) : null,
        j.cancelledByCheckOutAt ? 'cancelled by a check-out at ' + when(j.cancelledByCheckOutAt) + ' before any call' : null]
        .filter(Boolean).join(' · ') });
  }
  for (const a of h.attempts) {
    items.push({ at: a.startedAt, kind: 'attempt', what: 'Call to Epic (job #' + a.jobId + ', attempt ' + a.attempt + '): ' + a.outcome,
      detail: [a.httpStatus ? 'HTTP ' + a.httpStatus : 'no answer', a.error ? 'Epic said: ' + a.error : null, 'replica ' + a.replica,
        'request ' + a.requestId].filter(Boolean).join(' · ') });
  }
  items.sort((a, b) => String(b.at).localeCompare(String(a.at)));
  return el('section', { class: 'card', 'aria-labelledby': 'timeline-title' }, el('h2', { id: 'timeline-title' }, 'Device ', h.deviceId),
    el('ol', { class: 'timeline', id: 'timeline' }, items.map(i => el('li', { class: 'kind-' + i.kind },
      el('div', { class: 'when' }, when(i.at)), el('div', { class: 'what' }, i.what), el('div', { class: 'muted' }, i.detail)))));
}

// ---------------------------------------------------------------- audit

async function auditPage(view) {
  document.title = 'Audit — Epic Logout';
  const body = el('tbody', { id: 'audit-rows' });
  const more = el('button', { type: 'button', id: 'audit-more', class: 'secondary', hidden: true }, 'Older entries');
  const form = el('form', { class: 'row', id: 'audit-filter' },
    el('label', { for: 'audit-action' }, 'Action'), el('input', { id: 'audit-action', name: 'action', type: 'text', placeholder: 'e.g. environment.pause', list: 'audit-actions' }),
    el('datalist', { id: 'audit-actions' }, ['environment.create', 'environment.update', 'environment.delete', 'environment.activate',
      'environment.pause', 'environment.resume', 'environment.disable', 'environment.rotate-key', 'environment.test-connection',
      'tenant.create', 'tenant.update', 'tenant.delete', 'credential.create', 'credential.revoke', 'dead-letters.replay',
      'retention.run', 'request.refused'].map(a => el('option', { value: a }))),
    el('label', { for: 'audit-since' }, 'Since'), el('input', { id: 'audit-since', name: 'since', type: 'datetime-local' }),
    el('button', { type: 'submit', id: 'audit-apply' }, 'Filter'));
  let cursor = null;
  const load = async append => {
    const p = new URLSearchParams({ limit: '50' });
    if (S.tenant) p.set('tenantId', S.tenant);
    if (form.elements.action.value.trim()) p.set('action', form.elements.action.value.trim());
    if (form.elements.since.value) p.set('since', new Date(form.elements.since.value).toISOString());
    if (append && cursor) p.set('cursor', cursor);
    const page = await api('GET', '/admin/audit?' + p.toString());
    const rows = page.items.map(i => el('tr', { 'data-audit': i.id }, el('td', {}, when(i.at)),
      el('td', {}, i.actorName && i.actorName !== i.actor ? i.actorName + ' (' + i.actor + ')' : i.actor, i.via === 'static-admin-token' ? ' · break-glass' : ''),
      el('td', {}, i.tenantId || '—'), el('td', { class: 'mono' }, i.action), el('td', { class: 'mono wrap' }, i.target),
      el('td', {}, i.outcome + ' ' + i.status), el('td', { class: 'mono' }, i.requestId),
      el('td', { class: 'wrap' }, el('code', {}, JSON.stringify(i.changes)))));
    if (append) body.append(...rows); else body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No entries.'))]));
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  form.addEventListener('submit', ev => { ev.preventDefault(); load(false).catch(err => { if (err.status !== 401) notice(err.message); }); });
  more.addEventListener('click', () => load(true).catch(err => { if (err.status !== 401) notice(err.message); }));
  view.append(el('h1', {}, 'Audit'), el('p', { class: 'muted' }, 'Every change made through the admin API, and every refused attempt, newest first.'),
    el('div', { class: 'card' }, form),
    el('table', { class: 'grid', id: 'audit-table' }, el('thead', {}, el('tr', {},
      ['When', 'Who', 'Tenant', 'Action', 'Target', 'Outcome', 'Request ID', 'Changes'].map(h => el('th', { scope: 'col' }, h)))), body),
    el('div', { class: 'actions' }, more));
  await load(false);
}

// ---------------------------------------------------------------- boot

async function boot() {
  S.config = await (await fetch('/console/config.json', { cache: 'no-store' })).json();
  $('#sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(DRAFT_KEY); // signing out on purpose ends the half-filled form too
    document.querySelectorAll('dialog').forEach(d => { d.close(); d.remove(); });
    S.token = null;
    S.me = null;
    loginView('Signed out.');
  });
  window.addEventListener('hashchange', () => { if (S.me) route(); });
  const params = new URLSearchParams(location.search);
  try {
    if (S.config.oidc && (params.has('code') || params.has('error'))) {
      S.token = await oidcFinish(params);
    } else {
      S.token = sessionStorage.getItem(TOKEN_KEY);
    }
    if (!S.token) { loginView(); return; }
    await start();
  } catch (e) {
    S.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    loginView(e.status === 403 ? 'Your account has no role for this console (' + e.message + ').' : e.message);
  }
}

boot();
