// Heron load lab control page: plain JS, polls the JSON API once a second.
"use strict";

const state = { lastEventId: 0, scenarios: [], token: localStorage.getItem("heron-loadgen-token") || "" };
const MAX_EVENTS = 50;

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if (state.token) h["Authorization"] = "Bearer " + state.token;
  return h;
}

async function api(method, path, body) {
  // Every change goes as JSON (an empty object when there is nothing to say): the server refuses
  // changes in any other form, so no other site's page can make them.
  const change = method !== "GET";
  const payload = change ? JSON.stringify(body === undefined ? {} : body) : undefined;
  const res = await fetch(path, { method, headers: headers(change), body: payload });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = (data.details || []).map((d) => d.field + ": " + d.message).join("; ");
    throw new Error((data.message || res.statusText) + (detail ? " (" + detail + ")" : ""));
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}

function fmtAchieved(a) {
  return Object.entries(a).map(([k, v]) => k + "=" + (k.endsWith("bytes") ? fmtBytes(v) : (+v).toFixed(v % 1 ? 1 : 0))).join("  ");
}

async function startQuick(button) {
  const err = document.getElementById("quick-error");
  err.textContent = "";
  button.classList.remove("pulse"); void button.offsetWidth; button.classList.add("pulse");
  try {
    await api("POST", "/api/actions/" + button.dataset.kind, JSON.parse(button.dataset.params));
    refreshActions();
  } catch (e) { err.textContent = e.message; }
}

async function refreshHealth() {
  const badge = document.getElementById("health");
  try {
    const h = await api("GET", "/api/health");
    badge.textContent = "healthy · up " + Math.round(h.uptime_seconds) + " s";
    badge.className = "badge ok";
    document.getElementById("grafana-link").href = h.grafana_url;
    document.getElementById("token-box").hidden = !h.token_required;
  } catch (e) { badge.textContent = "unreachable"; badge.className = "badge bad"; }
}

async function refreshMetrics() {
  try {
    const m = await api("GET", "/api/metrics/current");
    document.getElementById("cpu-percent").textContent = m.cpu_percent.toFixed(1);
    document.getElementById("cpu-cores").textContent = m.cpu_per_core.map((c) => c.toFixed(0) + "%").join(" · ");
    document.getElementById("mem-percent").textContent = m.memory_percent.toFixed(1);
    document.getElementById("mem-used").textContent = fmtBytes(m.memory_used_bytes);
    document.getElementById("load").textContent = m.load_average.map((l) => l.toFixed(2)).join(" ");
  } catch (e) { /* shown by the health badge */ }
}

async function refreshActions() {
  const list = document.getElementById("active-actions");
  let data;
  try { data = await api("GET", "/api/actions/active"); } catch (e) { return; }
  list.replaceChildren();
  if (!data.actions.length) { list.append(el("li", { class: "empty" }, "No active actions")); return; }
  for (const a of data.actions) {
    const bar = el("progress", { max: "1", value: String(a.progress) });
    const stop = el("button", { class: "danger", onclick: () => api("DELETE", "/api/actions/" + a.id + "/stop").then(refreshActions) }, "Stop");
    list.append(el("li", { class: "action", "data-id": a.id, "data-type": a.type },
      el("div", { class: "head" }, el("strong", {}, a.type + (a.scenario_id ? " (" + a.scenario_id + ")" : "")), el("span", { class: "pct" }, Math.round(a.progress * 100) + "%"), stop),
      bar,
      el("div", { class: "achieved" }, fmtAchieved(a.achieved))));
  }
}

function timeline(s, run) {
  const line = el("div", { class: "timeline" });
  const phases = s.phases || [];
  phases.forEach((p, i) => {
    const end = i + 1 < phases.length ? phases[i + 1].at_seconds : s.duration_seconds;
    const width = Math.max(0, end - p.at_seconds) / s.duration_seconds * 100;
    if (width <= 0) return;
    const current = run && run.current_phase === p.name && run.status !== "completed";
    line.append(el("div", { class: "phase" + (current ? " current" : ""), style: "width:" + width + "%", title: p.name + ": " + p.description }, p.name));
  });
  if (run) line.append(el("div", { class: "marker", style: "left:" + (run.progress * 100) + "%" }));
  return line;
}

async function loadScenarios() {
  try {
    const list = await api("GET", "/api/scenarios");
    state.scenarios = await Promise.all(list.scenarios.map((s) => api("GET", "/api/scenarios/" + s.id)));
  } catch (e) { return; }
  renderScenarios([]);
}

function renderScenarios(runs) {
  const box = document.getElementById("scenario-list");
  box.replaceChildren();
  for (const s of state.scenarios) {
    const run = runs.find((r) => r.scenario_id === s.id);
    const act = (verb, method, path) => el("button", { onclick: () => api(method, "/api/scenarios/" + s.id + path).then(refreshScenarios).catch((e) => alert(e.message)) }, verb);
    const buttons = run
      ? [run.status === "paused" ? act("▶ Resume", "POST", "/resume") : act("⏸ Pause", "POST", "/pause"), act("⏹ Stop", "DELETE", "/stop")]
      : [act("▶ Start", "POST", "/start")];
    const alerts = (run ? run.alerts : s.expected_alerts.map((n) => ({ name: n, fired: null })))
      .map((a) => el("span", {}, (a.fired === true ? "✅ " : a.fired === false ? "⏳ " : "• ") + a.name));
    box.append(el("div", { class: "scenario", "data-id": s.id },
      el("h3", {}, s.name + " (" + Math.round(s.duration_seconds / 60) + " min)" + (run ? " — " + run.status + " " + Math.round(run.progress * 100) + "%" : "")),
      el("div", { class: "desc" }, s.description),
      timeline(s, run),
      el("div", { class: "alerts" }, "Expected alerts: ", ...alerts),
      el("div", {}, ...buttons)));
  }
}

async function refreshScenarios() {
  try { renderScenarios((await api("GET", "/api/scenarios/running")).scenarios); } catch (e) { /* keep last view */ }
}

async function refreshEvents() {
  let data;
  try { data = await api("GET", "/api/events?after=" + state.lastEventId); } catch (e) { return; }
  const log = document.getElementById("event-log");
  for (const ev of data.events) {
    state.lastEventId = Math.max(state.lastEventId, ev.id);
    log.prepend(el("li", { class: ev.severity }, el("time", {}, ev.timestamp.slice(11, 19)), ev.message));
  }
  while (log.children.length > MAX_EVENTS) log.lastChild.remove();
}

function tick() {
  refreshHealth(); refreshMetrics(); refreshActions(); refreshScenarios(); refreshEvents();
}

document.querySelectorAll("button.quick").forEach((b) => b.addEventListener("click", () => startQuick(b)));
document.getElementById("stop-all").addEventListener("click", () => api("DELETE", "/api/actions/stop-all").then(refreshActions));
const tokenInput = document.getElementById("token");
tokenInput.value = state.token;
tokenInput.addEventListener("change", () => { state.token = tokenInput.value; localStorage.setItem("heron-loadgen-token", state.token); loadScenarios(); });
loadScenarios();
tick();
setInterval(tick, 1000);
