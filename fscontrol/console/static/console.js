// The attendant console: /api/v1 with the pasted token (sessionStorage, never a URL), the live
// event stream read with fetch() (EventSource cannot send Authorization), resumed with
// Last-Event-ID after a drop. No polling: a 1 s timer only redraws the ages shown.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "fscontrol.token";
const ACT_KEY = "fscontrol.actFor";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,                 // {user, name, admin}
  calls: new Map(),         // call id -> call (the snapshot, then every event)
  board: null,              // {ranges, parked, groups, users}
  lastId: null,             // the newest event id seen: Last-Event-ID on reconnect
  abort: null,              // the AbortController of the open stream
  retry: 2000,
  connects: 0,              // streams opened (the tests read it from data-connects)
  eventsSeen: 0,
};

const $ = (id) => document.getElementById(id);

// -- DOM helpers: text goes in as text, never as HTML ------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace a container's children, keeping the focus on the element with the same id. */
function replaceChildren(container, children) {
  const focused = document.activeElement && container.contains(document.activeElement)
    ? document.activeElement.id : null;
  const typed = {};
  container.querySelectorAll("input[id]").forEach((i) => { typed[i.id] = i.value; });
  container.replaceChildren(...children);
  container.querySelectorAll("input[id]").forEach((i) => {
    if (typed[i.id] !== undefined) i.value = typed[i.id];
  });
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus();
  }
}

function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function until(iso) {
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return `${s} s`;
}

function userName(ext) {
  if (!ext) return "";
  const u = state.board && state.board.users.find((x) => x.extension === ext);
  return u && u.name !== ext ? `${u.name} (${ext})` : ext;
}

function peerText(call) {
  const p = call.peer || {};
  if (p.name && p.number && p.name !== p.number) return `${p.name} (${p.number})`;
  return p.name || p.number || "unknown";
}

// -- outcome and errors: every action says how it went ------------------------------------------
function say(text) {
  $("error").textContent = "";
  $("outcome").textContent = text;
}

function fail(text) {
  $("outcome").textContent = "";
  $("error").textContent = text;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.field = body && body.field;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { message: `the controller did not answer (${e.message})` });
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    if (response.status === 401) signOut(data && data.message);
    throw new ApiError(response.status, data);
  }
  return data;
}

/** Run an action from a button: the outcome or the API's message, never nothing. */
async function act(label, fn) {
  say(`${label}…`);
  try {
    const text = await fn();
    say(text);
  } catch (e) {
    fail(`${label}: ${e.message}`);
  }
}

/** The user an action rings: the token's, or (admin) the one chosen in "Act for user". */
function actingFor() {
  if (!state.me.admin) return {};
  const user = $("act-for").value;
  if (!user) throw new ApiError(0, { message: "choose the user to act for first" });
  return { user };
}

// -- actions ------------------------------------------------------------------------------------
function placeCall(destination) {
  return act(`Call ${destination}`, async () => {
    const p = await api("POST", "/calls", { destination, ...actingFor() });
    return `Calling ${p.destination}: ${p.user === state.me.user ? "your" : userName(p.user) + "'s"} phone rings first`;
  });
}

function parkCall(call) {
  return act(`Park ${peerText(call)}`, async () => {
    const r = await api("POST", `/calls/${encodeURIComponent(call.id)}/park`);
    return `${peerText(call)} parked at orbit ${r.orbit}`;
  });
}

function transferCall(call, target) {
  return act(`Transfer ${peerText(call)} to ${target || "?"}`, async () => {
    if (!target) throw new ApiError(0, { message: "type the number to transfer to" });
    await api("POST", `/calls/${encodeURIComponent(call.id)}/transfer`, { target });
    return `${peerText(call)} transferred to ${userName(target)}`;
  });
}

function holdCall(call, resume) {
  return act(`${resume ? "Resume" : "Hold"} ${peerText(call)}`, async () => {
    await api("POST", `/calls/${encodeURIComponent(call.id)}/${resume ? "resume" : "hold"}`);
    return `${peerText(call)} ${resume ? "resumed" : "on hold"}`;
  });
}

function hangUp(call) {
  return act(`Hang up ${peerText(call)}`, async () => {
    const r = await api("DELETE", `/calls/${encodeURIComponent(call.id)}`);
    return r.done === "cancelled" ? `Call to ${peerText(call)} cancelled` : `Hung up ${peerText(call)}`;
  });
}

function retrieve(orbit) {
  return act(`Retrieve orbit ${orbit}`, async () => {
    const r = await api("POST", `/parked/${encodeURIComponent(orbit)}/retrieve`, actingFor());
    return `Orbit ${r.orbit}: ${r.user === state.me.user ? "your" : userName(r.user) + "'s"} phone rings, answer to take the call`;
  });
}

function pickUp(what) {
  const label = what.group ? `Pick up group ${what.group}` : `Pick up ${userName(what.member)}'s call`;
  return act(label, async () => {
    const r = await api("POST", "/pickup", { ...what, ...actingFor() });
    return `${r.user === state.me.user ? "Your" : userName(r.user) + "'s"} phone rings, answer to take the call`;
  });
}

// -- rendering ----------------------------------------------------------------------------------
function currentCalls() {
  return [...state.calls.values()].filter((c) => c.state !== "ended")
    .sort((a, b) => (a.started_at || "").localeCompare(b.started_at || ""));
}

function renderCalls() {
  const calls = currentCalls();
  $("no-calls").hidden = calls.length > 0;
  replaceChildren($("call-list"), calls.map((call) => {
    const key = call.id;
    const up = call.state === "talking" || call.state === "held";
    const tid = `transfer-to-${key}`;
    return h("li", { class: call.state, dataset: { call: key }, "aria-label": `${call.state} call with ${peerText(call)}` },
      h("div", { class: "who" }, peerText(call)),
      h("div", { class: "meta" },
        `${call.state}${call.orbit ? " at orbit " + call.orbit : ""} · ${call.direction === "inbound" ? "incoming" : "outgoing"}`,
        state.me.admin && call.user ? ` · ${userName(call.user)}` : "",
        " · ", h("span", { class: "age", dataset: { since: call.answered_at || call.started_at } }, age(call.answered_at || call.started_at))),
      h("div", { class: "actions" },
        up ? h("button", { type: "button", id: `park-${key}`, onclick: () => parkCall(call) }, "Park") : null,
        up ? h("button", { type: "button", class: "secondary", id: `hold-${key}`, onclick: () => holdCall(call, call.state === "held") },
          call.state === "held" ? "Resume" : "Hold") : null,
        up ? h("label", { for: tid, class: "sr-only" }, `Transfer ${peerText(call)} to`) : null,
        up ? h("input", { id: tid, inputmode: "tel", placeholder: "transfer to", autocomplete: "off" }) : null,
        up ? h("button", { type: "button", class: "secondary", id: `transfer-${key}`,
          onclick: () => transferCall(call, document.getElementById(tid).value.trim()) }, "Transfer") : null,
        h("button", { type: "button", class: "danger", id: `hangup-${key}`, onclick: () => hangUp(call) },
          call.state === "ringing" ? "Cancel" : "Hang up")));
  }));
}

function renderBoard() {
  const b = state.board;
  if (!b) return;
  const parked = new Map(b.parked.map((p) => [p.orbit, p]));
  replaceChildren($("ranges"), b.ranges.length ? b.ranges.map((r) => {
    const numbers = r.orbits || b.parked.filter((p) => p.range === r.name).map((p) => p.orbit);
    const busy = numbers.filter((n) => parked.has(n)).length;
    return h("div", { class: "range" },
      h("h3", {}, `${r.name}: ${r.start}–${r.end}, ${busy} of ${r.size} occupied`),
      h("ul", { class: "orbits", "aria-label": `orbits ${r.start} to ${r.end}` }, numbers.map((n) => {
        const p = parked.get(n);
        if (!p) return h("li", { class: "orbit free", dataset: { orbit: n } }, h("span", { class: "num" }, n), h("span", { class: "sr-only" }, " free"));
        return h("li", { class: `orbit occupied ${p.state}`, dataset: { orbit: n } },
          h("span", { class: "num" }, n), " ",
          h("span", { class: "who" }, p.caller_name && p.caller_name !== p.caller_number ? `${p.caller_name} (${p.caller_number})` : p.caller_number),
          h("dl", {},
            h("dt", {}, "parked"), h("dd", { class: "age", dataset: { since: p.parked_at } }, age(p.parked_at)),
            h("dt", {}, "by"), h("dd", {}, userName(p.parker) || "—"),
            h("dt", {}, "attempts"), h("dd", {}, String(p.attempts)),
            h("dt", {}, p.state === "parked" ? "ring-back" : "state"),
            h("dd", { class: p.state === "parked" ? "due" : "", dataset: { due: p.deadline } },
              p.state === "parked" ? until(p.deadline) : "ringing back")),
          h("button", { type: "button", id: `retrieve-${n}`, onclick: () => retrieve(n),
            "aria-label": `Retrieve orbit ${n} to my phone` }, "Retrieve"));
      })));
  }) : [h("p", { class: "empty" }, "Call Park is not configured.")]);

  replaceChildren($("groups"), b.groups.length ? b.groups.map((g) =>
    h("div", { class: "group", dataset: { group: g.number } },
      h("div", {}, h("span", { class: "who" }, `Group ${g.number}`), " ",
        h("span", { class: "meta" }, g.members.map(userName).join(", "))),
      g.ringing.length ? h("ul", {}, g.ringing.map((r) => h("li", { dataset: { ringing: r.call_id } },
        `${r.caller_name && r.caller_name !== r.caller_number ? r.caller_name + " (" + r.caller_number + ")" : r.caller_number} → ${userName(r.member)} `,
        h("span", { class: "meta" }, "ringing ",
          h("span", { dataset: { since: r.since } }, age(r.since))), " ",
        h("button", { type: "button", class: "secondary", id: `pickup-member-${g.number}-${r.member}`,
          onclick: () => pickUp({ member: r.member }), "aria-label": `Pick up the call ringing for ${userName(r.member)}` }, "Pick up"))))
        : h("p", { class: "empty" }, "Nothing ringing."),
      h("div", { class: "actions" },
        h("button", { type: "button", id: `pickup-group-${g.number}`, onclick: () => pickUp({ group: g.number }),
          "aria-label": `Pick up group ${g.number}'s longest-ringing call` }, "Pick up group"))))
    : [h("p", { class: "empty" }, "No pickup group of yours.")]);

  const mine = currentCalls().find((c) => c.state === "talking" || c.state === "held");
  replaceChildren($("user-list"), b.users.map((u) =>
    h("li", { class: u.state, dataset: { user: u.extension, state: u.state } },
      h("span", { class: "lamp", "aria-hidden": "true" }),
      h("span", { class: "who" }, `${u.name} ${u.extension}`),
      h("span", { class: "meta" }, u.state),
      u.extension !== state.me.user ? h("button", { type: "button", class: "secondary", id: `call-${u.extension}`,
        onclick: () => placeCall(u.extension), "aria-label": `Call ${u.name}` }, "Call") : null,
      u.state === "ringing" && u.extension !== state.me.user ? h("button", { type: "button", id: `pickup-user-${u.extension}`,
        onclick: () => pickUp({ member: u.extension }), "aria-label": `Pick up ${u.name}'s ringing call` }, "Pick up") : null,
      mine && u.extension !== state.me.user ? h("button", { type: "button", class: "secondary", id: `transfer-user-${u.extension}`,
        onclick: () => transferCall(mine, u.extension), "aria-label": `Transfer my call to ${u.name}` }, "Transfer here") : null)));

  const act = $("act-for");
  if (state.me.admin && act.options.length <= 1) {
    const chosen = sessionStorage.getItem(ACT_KEY) || "";
    act.replaceChildren(h("option", { value: "" }, "(choose)"),
      ...b.users.map((u) => h("option", { value: u.extension, selected: u.extension === chosen }, `${u.name} ${u.extension}`)));
  }
}

function tick() {
  document.querySelectorAll("[data-since]").forEach((el) => { el.textContent = age(el.dataset.since); });
  document.querySelectorAll(".due[data-due]").forEach((el) => { el.textContent = until(el.dataset.due); });
}

// -- the event stream ---------------------------------------------------------------------------
function connection(text, live) {
  const el = $("connection");
  el.textContent = text;
  el.className = `connection ${live ? "live" : "down"}`;
  document.body.dataset.connects = String(state.connects);
  document.body.dataset.live = live ? "yes" : "no";
}

function handle(kind, id, data) {
  state.eventsSeen += 1;
  if (id !== null) state.lastId = id;
  if (kind === "snapshot") {
    state.calls = new Map(data.calls.map((c) => [c.id, c]));
    renderCalls();
    renderBoard();
  } else if (kind === "board") {
    const at = Date.now();                    // when each call started ringing, by this clock
    data.groups.forEach((g) => g.ringing.forEach((r) => {
      r.since = new Date(at - r.ringing_for * 1000).toISOString();
    }));
    state.board = data;
    renderBoard();
  } else if (kind.startsWith("call_")) {
    // a pickup or park event may be about another user's leg (the caller's, the parked
    // party's): it tells about my call, it is not one
    const mine = state.me.admin || data.user === state.me.user || state.calls.has(data.id);
    if (!mine) return;
    if (data.state === "ended") state.calls.delete(data.id);
    else state.calls.set(data.id, { ...(state.calls.get(data.id) || {}), ...data });
    renderCalls();
    renderBoard();
  }
  document.body.dataset.events = String(state.eventsSeen);
}

async function readStream(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, cut);
      buffer = buffer.slice(cut + (buffer.startsWith("\r\n", cut) ? 2 : 1));
      if (line === "") {                       // the end of one event
        if (event.data.length) {
          let data = null;
          try { data = JSON.parse(event.data.join("\n")); } catch (e) { data = null; }
          if (data !== null) handle(event.event || "message", event.id ?? null, data);
        }
        event = { data: [] };
      } else if (!line.startsWith(":")) {      // ":..." is a comment (keep-alive)
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (name === "data") event.data.push(val);
        else if (name === "event") event.event = val;
        else if (name === "id") event.id = /^\d+$/.test(val) ? val : null;
        else if (name === "retry" && /^\d+$/.test(val)) state.retry = Number(val);
      }
    }
  }
}

async function follow() {
  while (state.token) {
    const abort = new AbortController();
    state.abort = abort;
    const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
    if (state.lastId !== null) headers["Last-Event-ID"] = state.lastId;
    try {
      const response = await fetch(`${API}/events?board=true`, { headers, signal: abort.signal, cache: "no-store" });
      if (!response.ok) {
        let body = null;
        try { body = await response.json(); } catch (e) { body = null; }
        if (response.status === 401) { signOut(body && body.message); return; }
        throw new ApiError(response.status, body);
      }
      state.connects += 1;
      connection("Live", true);
      await readStream(response);
      if (!state.token) return;
      connection("Connection lost, reconnecting…", false);
    } catch (e) {
      if (!state.token || abort.signal.aborted && state.abort !== abort) return;
      connection(`Connection lost (${e.message}), reconnecting…`, false);
    }
    await new Promise((r) => setTimeout(r, state.retry));
  }
}

// -- sign in and out ----------------------------------------------------------------------------
async function signIn(token) {
  state.token = token;
  try {
    state.me = await api("GET", "/me");
  } catch (e) {
    if (state.token) signOut(e.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = false;
  $("acting").hidden = !state.me.admin;
  $("whoami").textContent = state.me.admin ? "Admin" : `${state.me.name} (${state.me.user})`;
  $("calls-title").textContent = state.me.admin ? "Calls" : "My calls";
  connection("Connecting…", false);
  $("destination").focus();
  follow();
}

function signOut(why) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.abort) state.abort.abort();
  state.calls = new Map();
  state.board = null;
  state.lastId = null;
  $("main").hidden = true;
  $("login").hidden = false;
  $("logout").hidden = true;
  $("acting").hidden = true;
  $("whoami").textContent = "";
  $("act-for").replaceChildren();
  connection(why ? `Signed out: ${why}` : "Not signed in", false);
  $("token").value = "";
  $("token").focus();
}

// -- keyboard -----------------------------------------------------------------------------------
function firstUp() {
  return currentCalls().find((c) => c.state === "talking" || c.state === "held");
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || !state.token) return;
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
    if (e.key === "Escape") t.blur();        // Esc leaves a field, so the keys work again
    return;
  }
  const call = firstUp() || currentCalls()[0];
  const k = e.key.toLowerCase();
  if (k === "c") { e.preventDefault(); $("destination").focus(); }
  else if (k === "p") { e.preventDefault(); call ? parkCall(call) : fail("Park: you have no call to park"); }
  else if (k === "h") { e.preventDefault(); call ? hangUp(call) : fail("Hang up: you have no call"); }
  else if (k === "t") {
    e.preventDefault();
    const input = call && document.getElementById(`transfer-to-${call.id}`);
    input ? input.focus() : fail("Transfer: you have no call to transfer");
  } else if (k === "r") {
    e.preventDefault();
    const p = state.board && [...state.board.parked].sort((a, b) => a.parked_at.localeCompare(b.parked_at))[0];
    p ? retrieve(p.orbit) : fail("Retrieve: no call is parked");
  } else if (k === "u") {
    e.preventDefault();
    const g = state.board && state.board.groups.find((x) => x.ringing.length);
    g ? pickUp({ member: g.ringing[0].member }) : fail("Pick up: nothing is ringing in your groups");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token").value.trim();
    if (token) signIn(token);
  });
  $("call-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const destination = $("destination").value.trim();
    if (!destination) { fail("Call: type a number or an extension"); return; }
    placeCall(destination);
  });
  $("logout").addEventListener("click", () => signOut());
  $("act-for").addEventListener("change", (e) => sessionStorage.setItem(ACT_KEY, e.target.value));
  document.addEventListener("keydown", onKey);
  setInterval(tick, 1000);
  if (state.token) signIn(state.token); else $("token").focus();
});
