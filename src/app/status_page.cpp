// The status page at "/": one self-contained document (inline CSS and JS, no external assets,
// works offline and behind a path prefix: every URL is relative). It fetches /status every 2 s
// and rebuilds its tables with textContent only, so nothing from a server can become markup.
#include "app/status_page.hpp"

namespace lg::app {

const std::string& status_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lettagate status</title>
<style>
:root{--bg:#f5f6f8;--fg:#1c2230;--muted:#5c6576;--card:#fff;--line:#e1e4ea;--head:#f0f2f5;
--up:#17803a;--up-bg:#dcf6e3;--down:#c62828;--down-bg:#fde4e4;--warn:#8a5a00;--warn-bg:#fff1c9;
--unk:#59616d;--unk-bg:#eaedf1;--bar-ok:#2ea44f;--bar-fail:#d73a3a;--bar-empty:#e6e9ee;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f1318;--fg:#e4e9ef;--muted:#97a0ad;--card:#171c23;--line:#2c333d;
--head:#1d232b;--up:#4cc06a;--up-bg:#143520;--down:#ff6b63;--down-bg:#3d1619;--warn:#e0ac3a;--warn-bg:#3a2d0c;
--unk:#a0a8b3;--unk-bg:#252b33;--bar-ok:#3fb950;--bar-fail:#f85149;--bar-empty:#262c34}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
a{color:inherit}
.wrap{max-width:1280px;margin:0 auto;padding:16px 20px 28px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:10px 18px;padding-bottom:14px;border-bottom:1px solid var(--line)}
h1{font-size:22px;margin:0;letter-spacing:-.01em}
h2{font-size:16px;margin:22px 0 8px}
.ver{color:var(--muted);font-size:13px}
nav{margin-left:auto;display:flex;gap:14px;font-size:14px}
nav a{text-decoration:none;border-bottom:1px dotted var(--muted)}
nav a:hover{border-bottom-style:solid}
.gate{display:inline-flex;align-items:center;gap:8px;font-weight:700;font-size:17px;padding:5px 14px;border-radius:999px}
.chip{display:inline-block;font-size:13px;font-weight:600;padding:2px 10px;border-radius:999px}
.s-up,.g-ready{color:var(--up);background:var(--up-bg)}
.s-down,.g-not_ready{color:var(--down);background:var(--down-bg)}
.s-degraded,.g-draining,.warn{color:var(--warn);background:var(--warn-bg)}
.s-unknown,.g-unknown{color:var(--unk);background:var(--unk-bg)}
.summary{margin:12px 0 0;color:var(--muted)}
.banner{margin:12px 0 0;padding:8px 12px;border-radius:6px;color:var(--down);background:var(--down-bg);font-weight:600}
.tablewrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:9px 10px;border-bottom:1px solid var(--line)}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:var(--head);font-weight:600;white-space:nowrap}
tbody tr:last-child td{border-bottom:0}
#routes th{white-space:normal}
.name{font-weight:700}
.opt{font-weight:500;font-size:12px;color:var(--muted);margin-left:6px;border:1px solid var(--line);border-radius:4px;padding:0 5px}
.small{font-size:12px}
.muted{color:var(--muted)}
.target{font-size:12px;color:var(--muted);overflow-wrap:anywhere;margin-top:2px;min-width:11em}
.badge{display:inline-flex;align-items:center;gap:5px;font-weight:700;font-size:13px;padding:2px 9px;border-radius:999px;white-space:nowrap}
.sym{font-size:12px}
.reason{min-width:16em;overflow-wrap:anywhere}
.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.info{display:flex;flex-wrap:wrap;gap:4px;margin-top:5px}
.kv{font-size:12px;background:var(--head);border:1px solid var(--line);border-radius:4px;padding:0 6px;white-space:nowrap}
.kv b{font-weight:600;color:var(--muted);margin-right:4px}
.kv.stale{border-style:dashed;color:var(--muted)}.kv .seen{margin-left:4px;font-size:11px}
.hist{display:flex;flex-direction:column;gap:3px}
.strip{display:flex;align-items:flex-end;gap:1px;height:22px;width:240px}
.cell{display:block;flex:0 1 3px;min-width:1px;border-radius:1px;background:var(--bar-empty);height:100%}
.cell.ok{background:var(--bar-ok)}
.cell.fail{background:var(--bar-fail)}
.stale .tablewrap{opacity:.55}
dl.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:0 0 10px}
dl.stats div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 10px}
dl.stats dt{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
dl.stats dd{margin:0;font-weight:600;overflow-wrap:anywhere}
footer{margin-top:18px;font-size:12px;color:var(--muted);overflow-wrap:anywhere}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:760px){.wrap{padding:12px}nav{margin-left:0;width:100%}
#components thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
#components,#components tbody,#components tr,#components td{display:block;width:100%}
#components tr{border-bottom:1px solid var(--line);padding:6px 0}
#components td{border:0;padding:4px 12px;display:grid;grid-template-columns:6.5em minmax(0,1fr);gap:8px}
#components td::before{content:attr(data-label);font-size:12px;color:var(--muted);text-transform:uppercase}
.reason{min-width:0}.strip{width:100%}.kv{white-space:normal;overflow-wrap:anywhere}}
</style></head>
<body><div class="wrap" id="page">
<header>
  <div><h1>lettagate</h1><div class="ver" id="ver">readiness gate for the Letta stack</div></div>
  <div id="gate" class="gate g-unknown" role="status" aria-live="polite"><span aria-hidden="true" id="gate-sym">…</span><span id="gate-word">Loading</span></div>
  <span id="degraded" class="chip warn" hidden>degraded</span>
  <nav aria-label="Endpoints"><a href="metrics">/metrics</a><a href="status">/status</a><a href="readyz">/readyz</a></nav>
</header>
<p class="summary" id="summary">Fetching /status…</p>
<div class="banner" id="error" role="alert" hidden></div>
<section aria-labelledby="components-h">
<h2 id="components-h">Components</h2>
<div class="tablewrap"><table id="components">
<caption class="sr-only">State of each probed component, refreshed every 2 seconds</caption>
<thead><tr><th scope="col">Component</th><th scope="col">State</th><th scope="col">Reason and info</th><th scope="col">Latency</th><th scope="col">Checks</th><th scope="col">History (last 60)</th></tr></thead>
<tbody></tbody></table></div>
</section>
<section id="forward" aria-labelledby="forward-h" hidden>
<h2 id="forward-h">Forwarder</h2>
<dl class="stats" id="forward-kv"></dl>
<div class="tablewrap"><table id="routes"><caption class="sr-only">Forwarded TCP routes</caption><thead></thead><tbody></tbody></table></div>
</section>
<footer><div>Refreshes every 2 s · last update <span id="updated">never</span></div><div>config: <code id="config">–</code></div></footer>
</div>
<script>
'use strict';
const ORDER = ['letta', 'postgres', 'redis', 'nginx'];
const STATES = {up: '\u2713', down: '\u2715', degraded: '!', unknown: '?'};
const GATES = {ready: ['Ready', '\u2713'], not_ready: ['Not ready', '\u2715'], draining: ['Draining', '\u21e3']};
// Labels for the info a probe reports, by component and key (then by key alone).
const INFO_LABELS = {'letta.version': 'Letta', 'redis.version': 'Redis', letta_version: 'Letta',
  agents: 'agents', pgvector: 'pgvector', role: 'role', server_version: 'PostgreSQL',
  system_identifier: 'cluster id', database: 'database'};
// held counts every client waiting before its upstream; retrying, those among them retrying a connect.
const ROUTE_COLUMNS = ['route', 'listen', 'upstream', 'resolved', 'active', 'held', 'retrying', 'accepting',
  'upstream_ready', 'follows', 'follows_status', 'connect_failures'];
const $ = (id) => document.getElementById(id);
let lastOk = 0;

// Every piece of data goes in through textContent or setAttribute: never as markup.
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function dur(s) {
  s = Math.max(0, Number(s) || 0);
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
  const h = Math.floor(m / 60);
  if (h < 48) return h + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
}
function ms(v) {
  if (v === null || v === undefined || isNaN(v)) return '\u2014';
  if (v < 10) return v.toFixed(1) + ' ms';
  if (v < 1000) return Math.round(v) + ' ms';
  return (v / 1000).toFixed(2) + ' s';
}
function when(epoch) { return new Date(epoch * 1000).toLocaleString(); }
function plain(v) {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v === null || v === undefined) return '\u2014';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
function badge(status) {
  const known = Object.prototype.hasOwnProperty.call(STATES, status);
  const b = el('span', 'badge s-' + (known ? status : 'unknown'));
  const sym = el('span', 'sym', known ? STATES[status] : '?');
  sym.setAttribute('aria-hidden', 'true');
  b.append(sym, el('span', null, status));
  return b;
}
function cell(row, label, ...children) {
  const td = el('td');
  td.setAttribute('data-label', label);  // the row label on a phone, where the table becomes cards
  const box = el('div');
  box.append(...children);
  td.append(box);
  row.append(td);
  return td;
}
function historyStrip(hist) {
  const box = el('div', 'hist');
  const strip = el('div', 'strip');
  const max = Math.max(1, ...hist.map((h) => Number(h.latency_ms) || 0));
  let ok = 0;
  for (let i = hist.length; i < 60; i++) strip.append(el('span', 'cell'));
  for (const h of hist) {
    const c = el('span', 'cell ' + (h.ok ? 'ok' : 'fail'));
    // Successes are bars scaled by latency; failures stand full height.
    c.style.height = h.ok ? Math.round(30 + 70 * (Number(h.latency_ms) || 0) / max) + '%' : '100%';
    c.title = new Date(h.at * 1000).toLocaleTimeString() + ' \u00b7 ' + (h.ok ? 'ok' : 'failed') + ' \u00b7 ' + ms(h.latency_ms);
    if (h.ok) ok++;
    strip.append(c);
  }
  strip.setAttribute('role', 'img');
  strip.setAttribute('aria-label', ok + ' of ' + hist.length + ' recent checks succeeded');
  box.append(strip, el('span', 'small muted', hist.length ? ok + '/' + hist.length + ' ok' : 'no checks yet'));
  return box;
}
function componentRow(name, c, serverNow) {
  const tr = el('tr');
  tr.id = 'component-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
  tr.setAttribute('data-status', c.status);
  const who = el('div', 'name', name);
  if (c.required === false) who.append(el('span', 'opt', 'optional'));
  cell(tr, 'Component', who, el('div', 'target', c.target || ''));
  const since = el('div', 'small muted', 'for ' + dur(c.for_seconds));
  if (c.since) since.title = 'since ' + when(c.since);
  cell(tr, 'State', badge(c.status), since).className = 'num';
  const info = el('div', 'info');
  // A fact the latest check did not report (the agent count while Postgres is down) is from an
  // earlier one: say when, never show it as current.
  const lastSeen = c.info_last_seen || {};
  for (const [k, v] of Object.entries(c.info || {})) {
    const kv = el('span', 'kv');
    kv.append(el('b', null, INFO_LABELS[name + '.' + k] || INFO_LABELS[k] || k), document.createTextNode(plain(v)));
    if (typeof lastSeen[k] === 'number') {
      kv.classList.add('stale');
      kv.append(el('i', 'seen', 'last seen ' + when(lastSeen[k])));
    }
    info.append(kv);
  }
  cell(tr, 'Reason', el('div', 'reason-text', c.reason || ''), info.childElementCount ? info : '').className = 'reason';
  const checked = c.last_check ? el('div', 'small muted', 'checked ' + dur(serverNow - c.last_check) + ' ago') : '';
  cell(tr, 'Latency', el('div', null, c.last_check ? ms(c.last_latency_ms) : '\u2014'), checked).className = 'num';
  const streak = c.consecutive_failures > 0 ? c.consecutive_failures + ' failed in a row'
      : c.consecutive_successes > 0 ? c.consecutive_successes + ' ok in a row' : 'none yet';
  cell(tr, 'Checks', el('div', null, streak),
       el('div', 'small muted', (c.transitions || 0) + ' transition' + (c.transitions === 1 ? '' : 's'))).className = 'num';
  cell(tr, 'History', historyStrip(Array.isArray(c.history) ? c.history : []));
  return tr;
}
function renderForward(f) {
  const section = $('forward');
  if (!f || typeof f !== 'object') { section.hidden = true; return; }
  section.hidden = false;
  const kv = [];
  for (const [k, v] of Object.entries(f)) {
    if (k === 'routes') continue;
    const item = el('div');
    // "hold_timeout_ms": 10000 reads as "hold timeout 10 s".
    const isMs = /_ms$/.test(k) && typeof v === 'number';
    item.append(el('dt', null, k.replace(/_ms$/, '').replace(/_/g, ' ')),
                el('dd', null, isMs ? (v === 0 ? '0 (off)' : dur(v / 1000)) : plain(v)));
    kv.push(item);
  }
  $('forward-kv').replaceChildren(...kv);
  const routes = Array.isArray(f.routes) ? f.routes : [];
  const keys = [];
  for (const r of routes) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  // "route" and "port" repeat listen/upstream when those are there.
  const skip = keys.includes('listen') && keys.includes('upstream') ? ['route', 'port'] : [];
  const cols = ROUTE_COLUMNS.filter((k) => keys.includes(k) && !skip.includes(k))
      .concat(keys.filter((k) => !ROUTE_COLUMNS.includes(k) && !skip.includes(k)));
  const head = el('tr');
  for (const k of cols) { const th = el('th', null, k.replace(/_/g, ' ')); th.scope = 'col'; head.append(th); }
  $('routes').tHead.replaceChildren(head);
  $('routes').tBodies[0].replaceChildren(...routes.map((r) => {
    const tr = el('tr');
    for (const k of cols) cell(tr, k, el('span', null, plain(r[k])));
    return tr;
  }));
  $('routes').parentElement.hidden = !routes.length;
}
function render(j) {
  const names = Object.keys(j.components || {}).sort((a, b) => {
    const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const first = names.length ? j.components[names[0]] : null;
  const serverNow = first && first.since ? first.since + first.for_seconds : Date.now() / 1000;
  const [word, sym] = GATES[j.status] || [String(j.status), '?'];
  $('gate').className = 'gate g-' + (GATES[j.status] ? j.status : 'unknown');
  $('gate-word').textContent = word;
  $('gate-sym').textContent = sym;
  $('degraded').hidden = !j.degraded;
  $('ver').textContent = 'version ' + (j.version || '?') + ' (' + (j.revision || '?') + ') \u00b7 up ' + dur(j.uptime_seconds);
  const counts = {};
  for (const n of names) counts[j.components[n].status] = (counts[j.components[n].status] || 0) + 1;
  $('summary').textContent = names.length + ' component' + (names.length === 1 ? '' : 's') + ': ' +
      (Object.entries(counts).map(([s, n]) => n + ' ' + s).join(', ') || 'none configured');
  $('components').tBodies[0].replaceChildren(...names.map((n) => componentRow(n, j.components[n], serverNow)));
  renderForward(j.forward);
  $('config').textContent = j.config || '\u2013';
  document.title = word + ' \u00b7 lettagate';
}
async function refresh() {
  try {
    const r = await fetch('status', {cache: 'no-store'});
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json());
    lastOk = Date.now();
    $('updated').textContent = new Date(lastOk).toLocaleTimeString();
    $('error').hidden = true;
    $('page').classList.remove('stale');
  } catch (e) {
    $('error').textContent = 'Cannot reach /status (' + e.message + ')' +
        (lastOk ? '; showing data from ' + new Date(lastOk).toLocaleTimeString() : '');
    $('error').hidden = false;
    $('page').classList.add('stale');
  } finally {
    setTimeout(refresh, 2000);
  }
}
refresh();
</script>
</body></html>
)HTML";
  return page;
}

}  // namespace lg::app
