// The health dashboard: plain SVG charts drawn from /api/dashboard, no third-party code.
// Every mark carries its number in data-value (and a <title>), so what is drawn can be
// checked against the database. Text from the database is set as text, never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = { tracks: '#3b6fd8', users: '#2f9e6e', listen_history: '#d8843b', pass: '#2f9e6e', warn: '#e0a526', fail: '#c8372d', invalid: '#c8372d', retries: '#3b6fd8', duration: '#5b5bd6', genres: '#7a4fd0', users_new: '#2f9e6e' };
// Series without a colour of their own (model keys) take one of these, by name.
const PALETTE = ['#3b6fd8', '#d8843b', '#2f9e6e', '#c8372d', '#7a4fd0', '#1a9bb0', '#a15c00', '#5b5bd6'];
const W = 520;
const H = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 34 };

function colorOf(name) {
  if (COLORS[name]) return COLORS[name];
  let h = 0;
  for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function el(name, attrs = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(n));

function empty(container, text) {
  container.replaceChildren(html('p', { class: 'empty' }, text));
}

function frame(container, max, labels) {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const top = max > 0 ? max : 1;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    el('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: '#e4e6eb' }, svg);
    el('text', { x: PAD.left - 4, y: y + 3, 'text-anchor': 'end' }, svg).textContent = fmt((top * i) / 4);
  }
  const step = plotW / Math.max(labels.length, 1);
  const every = Math.ceil(labels.length / 8);
  labels.forEach((label, i) => {
    if (i % every === 0) el('text', { x: PAD.left + step * (i + 0.5), y: H - PAD.bottom + 14, 'text-anchor': 'middle' }, svg).textContent = label;
  });
  container.replaceChildren(svg);
  return { svg, x: (i) => PAD.left + step * (i + 0.5), y: (v) => PAD.top + plotH - (plotH * v) / top, step, bottom: PAD.top + plotH };
}

function legend(container, names) {
  const div = html('div', { class: 'legend' });
  for (const name of names) {
    const span = html('span', {}, `■ ${name}`);
    span.style.color = colorOf(name);
    div.appendChild(span);
  }
  container.appendChild(div);
}

/** Lines, one per series; a point per label. */
function lineChart(container, labels, series, emptyText = 'No runs yet.') {
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  if (labels.length === 0 || values.length === 0) return empty(container, emptyText);
  const f = frame(container, Math.max(...values) * 1.1, labels);
  for (const s of series) {
    const points = s.values.map((v, i) => (v === null ? null : [f.x(i), f.y(v)])).filter(Boolean);
    el('polyline', { points: points.map((p) => p.join(',')).join(' '), fill: 'none', stroke: colorOf(s.name), 'stroke-width': 2 }, f.svg);
    s.values.forEach((v, i) => {
      if (v === null) return;
      const dot = el('circle', { cx: f.x(i), cy: f.y(v), r: 3.5, fill: colorOf(s.name), 'data-series': s.name, 'data-label': labels[i], 'data-value': v }, f.svg);
      el('title', {}, dot).textContent = `${s.name} ${labels[i]}: ${fmt(v)}`;
    });
  }
  legend(container, series.map((s) => s.name));
}

/** Bars, stacked when there are several series. */
function barChart(container, labels, series, { valueLabels = true } = {}) {
  const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  if (labels.length === 0) return empty(container, 'Nothing to show yet.');
  const f = frame(container, Math.max(...totals, 0) * 1.15, labels);
  labels.forEach((label, i) => {
    let base = 0;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      const y0 = f.y(base);
      const y1 = f.y(base + v);
      const bar = el('rect', { x: f.x(i) - f.step * 0.35, y: y1, width: f.step * 0.7, height: Math.max(0, y0 - y1), fill: COLORS[s.name] ?? '#445', 'data-series': s.name, 'data-label': label, 'data-value': v }, f.svg);
      el('title', {}, bar).textContent = `${s.name} ${label}: ${fmt(v)}`;
      base += v;
    }
    if (valueLabels && labels.length <= 16) el('text', { x: f.x(i), y: f.y(totals[i]) - 3, 'text-anchor': 'middle', 'data-total': totals[i] }, f.svg).textContent = fmt(totals[i]);
  });
  if (series.length > 1) legend(container, series.map((s) => s.name));
}

function tiles(container, kpis) {
  container.replaceChildren();
  if (!kpis) return container.appendChild(html('p', { class: 'empty' }, 'No KPIs yet: they are computed at the end of each run.'));
  const k = kpis.values;
  const items = [
    ['liveUsers', 'live users', k.liveUsers],
    ['liveTracks', 'live tracks', k.liveTracks],
    ['usersWithListens', 'users with listens', k.usersWithListens],
    ['newUsersOnDate', `new users on ${kpis.date}`, k.newUsersOnDate],
    ['meanHistoryLength', 'mean history length', k.historyLength ? k.historyLength.mean : null],
    ['durationSeconds', 'last run (s)', Math.round(k.durationMs / 100) / 10],
  ];
  for (const [key, label, value] of items) {
    const tile = html('div', { class: 'tile', 'data-kpi': key, 'data-value': value ?? '' });
    tile.appendChild(html('div', { class: 'value' }, value === null || value === undefined ? '–' : fmt(value)));
    tile.appendChild(html('div', { class: 'label' }, label));
    container.appendChild(tile);
  }
}

function alertsTable(table, alerts) {
  const body = table.querySelector('tbody');
  body.replaceChildren();
  if (alerts.length === 0) {
    const row = html('tr');
    row.appendChild(html('td', { colspan: 6, class: 'empty' }, 'No alerts.'));
    return body.appendChild(row);
  }
  for (const a of alerts) {
    const row = html('tr', { 'data-alert': a.key, 'data-status': a.status });
    row.appendChild(html('td', { class: a.severity }, a.severity));
    row.appendChild(html('td', {}, a.status));
    row.appendChild(html('td', {}, a.key));
    row.appendChild(html('td', {}, a.date));
    row.appendChild(html('td', {}, a.occurrences));
    row.appendChild(html('td', {}, a.message));
    body.appendChild(row);
  }
}

const percent = (rate) => (rate === null ? '–' : `${fmt(Math.round(rate * 1e4) / 100)} %`);

/** One row per model version: its counts and rates, each cell's number in data-value. */
function feedbackTable(table, feedback) {
  const body = table.querySelector('tbody');
  body.replaceChildren();
  if (feedback.models.length === 0) {
    const row = html('tr');
    row.appendChild(html('td', { colspan: 7, class: 'empty' }, 'No feedback yet: clients send impressions, plays and likes to POST /feedback.'));
    return body.appendChild(row);
  }
  for (const m of feedback.models) {
    const row = html('tr', { 'data-model': m.model });
    row.appendChild(html('td', {}, m.model));
    for (const [key, text] of [['impressions', fmt(m.impressions)], ['plays', fmt(m.plays)], ['likes', fmt(m.likes)], ['ctr', percent(m.ctr)], ['likeRate', percent(m.likeRate)]]) {
      row.appendChild(html('td', { class: 'num', 'data-field': key, 'data-value': m[key] ?? '' }, text));
    }
    row.appendChild(html('td', {}, m.firstDay === m.lastDay ? m.firstDay : `${m.firstDay} – ${m.lastDay}`));
    body.appendChild(row);
  }
}

function ctrChart(container, feedback) {
  const days = [...new Set(feedback.models.flatMap((m) => m.days.map((d) => d.day)))].sort();
  const series = feedback.models.map((m) => {
    const byDay = new Map(m.days.map((d) => [d.day, d.ctr]));
    return { name: m.model, values: days.map((d) => (byDay.has(d) && byDay.get(d) !== null ? Math.round(byDay.get(d) * 1e4) / 100 : null)) };
  });
  lineChart(container, days.map((d) => d.slice(5)), series, `No feedback in the last ${feedback.window.days} days.`);
}

function render(data) {
  const labels = data.runs.map((r) => r.date);
  const sources = [...new Set(data.runs.flatMap((r) => Object.keys(r.records)))];
  tiles(document.getElementById('kpi-tiles'), data.kpis);
  lineChart(document.getElementById('chart-records'), labels, sources.map((name) => ({ name, values: data.runs.map((r) => (name in r.records ? r.records[name] : null)) })));
  barChart(document.getElementById('chart-duration'), labels, [{ name: 'duration', values: data.runs.map((r) => (r.durationMs === null ? 0 : r.durationMs / 1000)) }]);
  lineChart(document.getElementById('chart-rates'), labels, [
    { name: 'invalid', values: data.runs.map((r) => Math.round(r.invalidRate * 1e4) / 100) },
    { name: 'retries', values: data.runs.map((r) => Math.round(r.retryRate * 1e4) / 100) },
  ]);
  const checked = data.runs.filter((r) => r.checks);
  if (checked.length === 0) empty(document.getElementById('chart-checks'), 'No checked runs yet.');
  else barChart(document.getElementById('chart-checks'), checked.map((r) => r.date), ['pass', 'warn', 'fail'].map((name) => ({ name, values: checked.map((r) => r.checks[name]) })), { valueLabels: false });
  const k = data.kpis ? data.kpis.values : null;
  if (k && k.topGenres.length > 0) barChart(document.getElementById('chart-genres'), k.topGenres.map((g) => g.genre), [{ name: 'genres', values: k.topGenres.map((g) => g.listens) }]);
  else empty(document.getElementById('chart-genres'), 'No listens yet.');
  if (k) {
    const days = Object.keys(k.newUsersPerDay);
    barChart(document.getElementById('chart-new-users'), days.map((d) => d.slice(5)), [{ name: 'users_new', values: days.map((d) => k.newUsersPerDay[d]) }], { valueLabels: false });
  } else empty(document.getElementById('chart-new-users'), 'No KPIs yet.');
  alertsTable(document.getElementById('alerts'), data.alerts);
  if (data.models.length === 0) empty(document.getElementById('chart-models'), 'No models yet: metrics appear here once the retraining step registers one.');
  else lineChart(document.getElementById('chart-models'), data.models.map((m) => `${m.name} v${m.version}`), ['ndcg@10', 'recall@10'].map((name) => ({ name, values: data.models.map((m) => (name in m.metrics ? m.metrics[name] : null)) })));
  feedbackTable(document.getElementById('feedback'), data.feedback);
  ctrChart(document.getElementById('chart-ctr'), data.feedback);
  const last = data.runs[data.runs.length - 1];
  document.getElementById('status').textContent = last
    ? `Latest run ${last.id}: ${last.status}${last.health ? `, checks ${last.health}` : ''}. ${data.runs.length} runs shown; updated ${data.generatedAt}.`
    : 'No runs yet. Start one with: moovitamix run --wait';
  document.body.dataset.ready = 'true';
}

async function load() {
  try {
    const response = await fetch('/api/dashboard');
    if (!response.ok) throw new Error(`the API answered ${response.status}`);
    render(await response.json());
  } catch (err) {
    document.getElementById('status').textContent = `Could not load the dashboard data: ${err.message}`;
    document.body.dataset.ready = 'error';
  }
}

load();
setInterval(load, 60_000);
