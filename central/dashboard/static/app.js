// budare dashboard: renders /api/* JSON into the page. Every value from the
// object store goes through textContent (via el()), never innerHTML, so a
// machine name or reason can never become markup.
'use strict';

const LEVELS = ['stop', 'service', 'inspect', 'unknown', 'none'];
const METRICS = [
  ['roc_auc', 'ROC-AUC'], ['pr_auc', 'PR-AUC'], ['f1', 'F1'],
  ['precision', 'Precision'], ['recall', 'Recall'], ['brier', 'Brier'],
];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function num(x, digits) {
  return (typeof x === 'number' && isFinite(x)) ? x.toFixed(digits === undefined ? 3 : digits) : '–';
}

// stamp shows an RFC 3339 time to the second (the trainer writes nanoseconds).
function stamp(t) {
  return t ? String(t).replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '') : '–';
}

function levelClass(level) {
  return LEVELS.includes(level) ? 'level-' + level : 'level-unknown';
}

function pill(level) {
  return el('span', { class: 'pill ' + levelClass(level), 'data-level': level, text: level });
}

function kitchenHref(k, date) {
  return '/kitchen/' + encodeURIComponent(k) + (date ? '?date=' + encodeURIComponent(date) : '');
}

function machineHref(k, m) {
  return '/kitchen/' + encodeURIComponent(k) + '/machine/' + encodeURIComponent(m);
}

async function api(path) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 30000);
  let resp;
  try {
    resp = await fetch(path, { signal: ctrl.signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new Error('the dashboard server did not answer (' + e.message + ')');
  } finally {
    clearTimeout(timer);
  }
  let body;
  try {
    body = await resp.json();
  } catch (e) {
    throw new Error('HTTP ' + resp.status + ': the answer is not JSON');
  }
  if (!resp.ok) throw new Error((body && body.error) || ('HTTP ' + resp.status));
  return body;
}

function showError(msg) {
  const box = document.getElementById('error');
  box.textContent = msg;
  box.hidden = false;
  document.body.dataset.state = 'error';
}

function showNotices(list) {
  const ul = document.getElementById('notices');
  ul.replaceChildren(...(list || []).map((n) => el('li', { text: n })));
  ul.hidden = !list || list.length === 0;
}

function setView(...nodes) {
  document.getElementById('view').replaceChildren(...nodes);
}

function counts(c) {
  return el('div', { class: 'chips' }, ...LEVELS.map((l) =>
    el('span', { class: 'chip ' + levelClass(l), 'data-count': l },
      el('b', { text: String((c && c[l]) || 0) }), ' ' + l)));
}

function riskCell(risk) {
  if (typeof risk !== 'number') return el('td', { class: 'num muted', text: '–' });
  const bar = el('span', { class: 'bar' });
  bar.style.width = Math.round(Math.max(0, Math.min(1, risk)) * 100) + '%';
  return el('td', { class: 'num' }, el('span', { class: 'risk' }, el('span', { class: 'track' }, bar), num(risk, 2)));
}

// ---- overview ----

async function overview() {
  document.title = 'Kitchens · budare';
  const ov = await api('/api/overview');
  showNotices(ov.notices);
  badge(ov.current_release);
  const head = el('div', { class: 'title' }, el('h1', { text: 'Kitchens' }),
    el('span', { class: 'muted', text: 'maintenance actions of each kitchen\'s latest day' }));
  if (!ov.kitchens || ov.kitchens.length === 0) {
    setView(head, el('div', { class: 'empty', id: 'empty' },
      el('h2', { text: 'No data yet' }),
      el('p', { text: 'No kitchen has uploaded actions and inventory/kitchens.csv is missing. ' +
        'Actions appear here after the agents decide their first day (actions/<kitchen>/<day>.json).' })));
    return 'empty';
  }
  const rows = ov.kitchens.map((k) => {
    const latest = k.date
      ? el('td', { class: k.stale ? 'stale' : null, title: k.stale ? k.age_days + ' days old' : null },
        k.date, k.stale ? el('span', { class: 'tag', text: 'stale' }) : null)
      : el('td', { class: 'muted', text: 'no actions yet' });
    const alarms = k.alarms || [];
    const spark = el('img', { class: 'spark', width: 70, height: 20, src: '/spark.svg?a=' + alarms.join(','),
      alt: 'machines at inspect or worse, last ' + alarms.length + ' days: ' + alarms.map((n) => (n < 0 ? '–' : n)).join(' ') });
    return el('tr', { 'data-kitchen': k.kitchen },
      el('td', {}, el('a', { href: kitchenHref(k.kitchen), text: k.kitchen })),
      el('td', { class: 'spark' }, alarms.length ? spark : null),
      el('td', { text: k.phase || '' }),
      latest,
      el('td', { class: 'num', text: String(k.machines) }),
      ...LEVELS.map((l) => {
        const n = (k.counts && k.counts[l]) || 0;
        return el('td', { class: 'num count ' + (n > 0 ? levelClass(l) : 'zero'), 'data-level': l, text: String(n) });
      }),
      el('td', { class: 'num', text: k.model_release ? String(k.model_release) : '–' }),
      el('td', { class: 'err', text: k.error || '' }));
  });
  const table = el('table', { id: 'kitchens' },
    el('thead', {}, el('tr', {}, ...['Kitchen', 'Alarms, 7 days', 'Phase', 'Latest day', 'Machines', ...LEVELS, 'Release', '']
      .map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows));
  setView(head, counts(ov.totals), table);
  return 'ready';
}

// ---- kitchen ----

async function kitchen(name) {
  document.title = name + ' · budare';
  const date = new URLSearchParams(location.search).get('date');
  const v = await api('/api/kitchen/' + encodeURIComponent(name) + (date ? '?date=' + encodeURIComponent(date) : ''));
  showNotices(v.notices);
  badge(v.current_release);
  const head = el('div', { class: 'title' }, el('h1', {}, 'Kitchen ', el('span', { id: 'kitchen-name', text: v.kitchen })));
  if (!v.date) {
    setView(head, el('div', { class: 'empty', id: 'empty' }, el('h2', { text: 'No actions yet' }),
      el('p', { text: 'Kitchen ' + v.kitchen + ' has not uploaded any day\'s actions.' })));
    return 'empty';
  }
  const sel = el('select', { id: 'day', 'aria-label': 'day' },
    ...v.days.map((d) => el('option', { value: d, selected: d === v.date ? 'selected' : null, text: d })));
  sel.addEventListener('change', () => { location.href = kitchenHref(v.kitchen, sel.value); });
  head.append(el('label', { class: 'muted' }, 'day ', sel));
  const decided = v.actions.map((a) => a.decided_at).filter((t) => t && !t.startsWith('0001-')).sort().pop();
  if (decided) head.append(el('span', { class: 'muted', id: 'decided-at', text: 'decided at ' + stamp(decided) }));
  const old = v.actions.filter((a) => v.current_release && a.model_release && a.model_release < v.current_release).length;
  if (old) head.append(el('span', { class: 'tag', text: old + ' decided with an older model release' }));

  const hdays = v.history_days || [];
  const rows = v.actions.map((a) => {
    const by = Object.entries(a.by_arepa || {}).sort((x, y) => y[1] - x[1])
      .map(([t, r]) => el('li', {}, el('span', { class: 'arepa', text: t }), ' ' + num(r, 2)));
    const hist = ((v.history && v.history[a.machine]) || []).map((c, i) => c
      ? el('span', { class: 'sq ' + levelClass(c.level), title: hdays[i] + ': ' + c.level + (typeof c.risk === 'number' ? ' ' + num(c.risk, 2) : '') })
      : el('span', { class: 'sq missing', title: hdays[i] + ': no action' }));
    return el('tr', { class: 'row ' + levelClass(a.level), 'data-machine': a.machine, 'data-level': a.level },
      el('td', { class: 'machine' }, el('a', { href: machineHref(v.kitchen, a.machine), text: a.machine })),
      el('td', {}, pill(a.level)),
      riskCell(a.level === 'unknown' ? null : a.risk), // the agent writes 0 for unknown: no figure
      el('td', {}, el('ul', { class: 'reasons' }, ...(a.reasons || []).map((r) => el('li', { text: r })))),
      el('td', {}, el('ul', { class: 'byarepa' }, ...by)),
      el('td', {}, el('span', { class: 'history' }, ...hist)),
      el('td', { class: 'num', text: String(a.data_days || 0) }),
      el('td', { class: 'num', text: a.model_release ? String(a.model_release) : '–' }));
  });
  const table = el('table', { id: 'machines' },
    el('thead', {}, el('tr', {}, ...['Machine', 'Level', 'Risk', 'Reasons', 'Risk by arepa',
      'Last ' + hdays.length + ' days', 'Data days', 'Release'].map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows));
  setView(head, counts(v.counts), table);
  return 'ready';
}

// ---- models ----

function metricCells(m, best) {
  return METRICS.map(([k]) => {
    const x = m ? m[k] : null;
    const isBest = best && typeof x === 'number' && x === best[k];
    return el('td', { class: 'num' + (isBest ? ' best' : ''), 'data-metric': k, text: num(x) });
  });
}

function bestOf(cands) {
  const best = {};
  for (const [k] of METRICS) {
    const xs = cands.map((c) => c.metrics && c.metrics[k]).filter((x) => typeof x === 'number');
    // A tie across every candidate tells nothing: mark nothing then.
    if (xs.length > 1 && Math.min(...xs) !== Math.max(...xs)) best[k] = k === 'brier' ? Math.min(...xs) : Math.max(...xs);
  }
  return best;
}

async function models() {
  document.title = 'Models · budare';
  const want = new URLSearchParams(location.search).get('release');
  const v = await api('/api/models' + (want ? '?release=' + encodeURIComponent(want) : ''));
  showNotices(v.notices);
  badge(v.current);
  if (!v.release) {
    setView(el('div', { class: 'title' }, el('h1', { text: 'Models' })),
      el('div', { class: 'empty', id: 'empty' }, el('h2', { text: 'No model release yet' }),
        el('p', { text: 'Run budare-central train to publish the first release.' })));
    return 'empty';
  }
  const sel = el('select', { id: 'release', 'aria-label': 'release' },
    ...v.releases.map((n) => el('option', { value: n, selected: n === v.release ? 'selected' : null,
      text: n + (n === v.current ? ' (current)' : '') })));
  sel.addEventListener('change', () => { location.href = '/models?release=' + encodeURIComponent(sel.value); });
  const head = el('div', { class: 'title' },
    el('h1', {}, 'Model release ', el('span', { id: 'release-number', text: String(v.release) })),
    v.release === v.current ? el('span', { class: 'tag ok', text: 'current' }) : el('span', { class: 'tag', text: 'not current' }),
    el('label', { class: 'muted' }, 'release ', sel));
  const facts = el('dl', { class: 'facts' },
    el('dt', { text: 'created' }), el('dd', { text: stamp(v.created) }),
    el('dt', { text: 'expires' }), el('dd', { class: v.expired ? 'stale' : null, text: stamp(v.expires) + (v.expired ? ' (expired)' : '') }),
    v.phase ? el('dt', { text: 'phase' }) : null, v.phase ? el('dd', { text: String(v.phase) }) : null,
    v.note ? el('dt', { text: 'note' }) : null, v.note ? el('dd', { text: v.note }) : null);

  const rows = v.arepas.map((a) => el('tr', { 'data-arepa': a.arepa },
    el('td', {}, el('a', { href: '#cand-' + encodeURIComponent(a.arepa), text: a.arepa })),
    el('td', { class: 'technique', text: a.technique }),
    el('td', { class: 'num', text: a.trained ? String(a.trained) : '–' }),
    ...metricCells(a.holdout, null),
    el('td', { class: 'num', text: num(a.threshold) })));
  const table = el('table', { id: 'arepas' },
    el('thead', {}, el('tr', {}, ...['Arepa type', 'Technique', 'Trained in', ...METRICS.map((m) => m[1]), 'Threshold']
      .map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows));

  const cards = v.arepas.map((a) => {
    const sec = el('section', { class: 'card', id: 'cand-' + a.arepa, 'data-arepa': a.arepa },
      el('h2', {}, 'Candidates for ', el('span', { class: 'arepa', text: a.arepa })));
    if (a.card_error) sec.append(el('p', { class: 'err', text: a.card_error }));
    if (!a.card) return sec;
    if (a.card.decision) sec.append(el('p', { class: 'decision' }, el('b', { text: 'Decision: ' }), a.card.decision));
    const details = a.card.facts.length ? el('details', {}, el('summary', { text: 'Training data and settings' }),
      el('dl', { class: 'facts' }, ...a.card.facts.flatMap((f) => [el('dt', { text: f.name }), el('dd', { text: f.value })]))) : null;
    if (a.card.candidates.length === 0) {
      sec.append(el('p', { class: 'muted', text: 'The card lists no candidates.' }), details);
      return sec;
    }
    const best = bestOf(a.card.candidates);
    sec.append(el('table', { class: 'candidates' },
      el('thead', {}, el('tr', {}, ...['Technique', 'Role', ...METRICS.map((m) => m[1]), 'Threshold', ''].map((h) => el('th', { text: h })))),
      el('tbody', {}, ...a.card.candidates.map((c) => el('tr', {
        class: c.published ? 'chosen' : null, 'data-technique': c.technique, 'data-role': c.champion ? 'champion' : 'challenger' },
      el('td', { class: 'technique', text: c.technique }),
      el('td', { text: c.role || '' }),
      ...(c.error
        ? [el('td', { class: 'err', colspan: METRICS.length + 1, text: c.error })]
        : [...metricCells(c.metrics, best), el('td', { class: 'num', text: num(c.metrics && c.metrics.threshold) })]),
      el('td', { text: c.published ? '✓ in this release' : (c.chosen ? 'best challenger' : '') }))))));
    if (details) sec.append(details);
    return sec;
  });
  setView(head, facts, table, ...cards);
  return 'ready';
}

function badge(n) {
  const b = document.getElementById('release-badge');
  b.textContent = n ? 'model release ' + n : 'no model release';
}

async function main() {
  const p = location.pathname;
  let view;
  let k;
  if (p === '/' || p === '') {
    view = overview;
    document.getElementById('nav-overview').classList.add('active');
  } else if (p === '/models') {
    view = models;
    document.getElementById('nav-models').classList.add('active');
  } else if ((k = p.match(/^\/kitchen\/([^/]+)$/))) {
    const name = decodeURIComponent(k[1]);
    view = () => kitchen(name);
    document.getElementById('nav-overview').classList.add('active');
  } else {
    setView();
    showError('page not found: ' + p);
    return;
  }
  try {
    const state = await view();
    document.body.dataset.state = state;
  } catch (e) {
    setView();
    showError(e.message || String(e));
  }
}

main();
