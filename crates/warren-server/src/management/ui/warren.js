// Warren management UI: a small single-page app over the RabbitMQ-compatible /api.
// No external libraries; everything this page needs ships inside the broker binary.
"use strict";

const state = { auth: null, user: null, timer: null };

// ---- helpers ---------------------------------------------------------------------------------

function esc(v) {
  return String(v === undefined || v === null ? "" : v)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
function enc(s) { return encodeURIComponent(s); }
function num(v) { return v === undefined || v === null ? "" : Number(v).toLocaleString("en"); }
function rate(o) { return o && typeof o.rate === "number" ? o.rate.toFixed(1) + "/s" : ""; }
function $(sel) { return document.querySelector(sel); }

function toast(text, bad) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "bad" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

async function api(method, path, body) {
  const headers = { "Authorization": "Basic " + state.auth, "X-Requested-With": "XMLHttpRequest" };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch("api" + path, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (resp.status === 401 && path === "/whoami") { throw new Error((data && data.reason) || "Login failed"); }
  if (!resp.ok) {
    const reason = data && (data.reason || data.error) ? (data.reason || data.error) : resp.statusText;
    throw new Error(resp.status + ": " + reason);
  }
  return data;
}

function table(columns, rows, empty) {
  if (!rows.length) { return `<p class="muted">${esc(empty || "Nothing to show.")}</p>`; }
  const head = columns.map(c => `<th class="${c.num ? "num" : ""}">${esc(c.title)}</th>`).join("");
  const body = rows.map(r => "<tr>" + columns.map(c => {
    const v = c.html ? c.html(r) : esc(c.get(r));
    return `<td class="${c.num ? "num" : ""}">${v}</td>`;
  }).join("") + "</tr>").join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function form(id, fields, button, cls) {
  const inputs = fields.map(f => {
    if (f.options) {
      const opts = f.options.map(o => `<option value="${esc(o)}"${o === f.value ? " selected" : ""}>${esc(o)}</option>`).join("");
      return `<label>${esc(f.label)} <select name="${f.name}">${opts}</select></label>`;
    }
    if (f.textarea) {
      return `<label>${esc(f.label)} <textarea name="${f.name}" rows="4">${esc(f.value || "")}</textarea></label>`;
    }
    return `<label>${esc(f.label)} <input name="${f.name}" type="${f.type || "text"}" value="${esc(f.value || "")}"></label>`;
  }).join("");
  return `<form id="${id}" class="${cls || "inline"}">${inputs}<button type="submit">${esc(button)}</button></form>`;
}

function onSubmit(id, handler) {
  const f = document.getElementById(id);
  if (!f) { return; }
  f.addEventListener("submit", async ev => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(f).entries());
    try { await handler(values); } catch (e) { toast(e.message, true); }
  });
}

function setView(html) { $("#view").innerHTML = html; }

// ---- login -----------------------------------------------------------------------------------

async function login(user, pass) {
  state.auth = btoa(unescape(encodeURIComponent(user + ":" + pass)));
  const me = await api("GET", "/whoami");
  state.user = me;
  sessionStorage.setItem("warren-auth", state.auth);
  $("#whoami").textContent = me.name;
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#userbox").hidden = false;
  $("#view").hidden = false;
  if (!location.hash || location.hash === "#/login") { location.hash = "#/overview"; } else { route(); }
}

function showLogin(message) {
  state.auth = null;
  sessionStorage.removeItem("warren-auth");
  $("#login").hidden = false;
  $("#nav").hidden = true;
  $("#userbox").hidden = true;
  $("#view").hidden = true;
  const err = $("#login-error");
  err.hidden = !message;
  err.textContent = message || "";
}

// ---- pages -----------------------------------------------------------------------------------

function chart(samples) {
  const w = 800, h = 200, pad = 30;
  if (!samples.length) { return `<p class="muted">Collecting samples…</p>`; }
  const series = [["publish", "#b5651d", "Publish"], ["deliver_get", "#3c6e8d", "Deliver / get"], ["ack", "#3c8d40", "Ack"]];
  const max = Math.max(1, ...samples.flatMap(s => series.map(([k]) => s[k] || 0)));
  const t0 = samples[0].timestamp, t1 = samples[samples.length - 1].timestamp;
  const x = t => pad + (t1 === t0 ? (w - 2 * pad) : (t - t0) / (t1 - t0) * (w - 2 * pad));
  const y = v => h - pad + 10 - (v / max) * (h - 2 * pad);
  const lines = series.map(([k, color]) => {
    const pts = samples.map(s => `${x(s.timestamp).toFixed(1)},${y(s[k] || 0).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`;
  }).join("");
  const grid = [0, 0.5, 1].map(f => `<line x1="${pad}" x2="${w - pad}" y1="${y(max * f)}" y2="${y(max * f)}" stroke="#eee"/>` +
    `<text x="2" y="${y(max * f) + 4}" font-size="10" fill="#888">${(max * f).toFixed(1)}</text>`).join("");
  const legend = series.map(([k, color, name]) => `<span><i class="swatch" style="background:${color}"></i>${name} ${(samples[samples.length - 1][k] || 0).toFixed(1)}/s</span>`).join("");
  return `<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="Message rates">${grid}${lines}</svg><div class="legend">${legend}</div>`;
}

async function overviewPage() {
  const [o, samples] = await Promise.all([api("GET", "/overview"), api("GET", "/warren/rates").catch(() => [])]);
  const q = o.queue_totals || {}, t = o.object_totals || {}, m = o.message_stats || {};
  const total = (k, v) => `<div class="total"><div class="v" data-total="${k}">${num(v)}</div><div class="k">${esc(k)}</div></div>`;
  setView(`<h1>Overview</h1>
    <p class="muted">Node <code>${esc(o.node)}</code> · ${esc(o.product_name)} ${esc(o.product_version)} · RabbitMQ API ${esc(o.rabbitmq_version)}</p>
    <h2>Queued messages</h2>
    <div class="totals" id="queue-totals">${total("Ready", q.messages_ready)}${total("Unacked", q.messages_unacknowledged)}${total("Total", q.messages)}</div>
    <h2>Message rates</h2>
    <div id="chart">${chart(samples)}</div>
    <p class="muted">Publish ${rate(m.publish_details)} · Deliver/get ${rate(m.deliver_get_details)} · Ack ${rate(m.ack_details)}</p>
    <h2>Global counts</h2>
    <div class="totals" id="object-totals">${total("Connections", t.connections)}${total("Channels", t.channels)}${total("Exchanges", t.exchanges)}${total("Queues", t.queues)}${total("Consumers", t.consumers)}</div>
    <h2>Listeners</h2>
    ${table([{ title: "Protocol", get: l => l.protocol }, { title: "Address", get: l => l.ip_address }, { title: "Port", get: l => l.port, num: true }], o.listeners || [])}`);
}

async function connectionsPage() {
  const list = await api("GET", "/connections");
  setView(`<h1>Connections</h1>` + table([
    { title: "Name", get: c => c.name }, { title: "User", get: c => c.user }, { title: "Vhost", get: c => c.vhost },
    { title: "Protocol", get: c => c.protocol }, { title: "Client", get: c => c.user_provided_name },
    { title: "Channels", get: c => c.channels, num: true }, { title: "State", get: c => c.state },
  ], list, "No connections."));
}

async function channelsPage() {
  const list = await api("GET", "/channels");
  setView(`<h1>Channels</h1>` + table([
    { title: "Channel", get: c => c.name }, { title: "User", get: c => c.user }, { title: "Vhost", get: c => c.vhost },
    { title: "Prefetch", get: c => c.prefetch_count, num: true }, { title: "Consumers", get: c => c.consumer_count, num: true },
    { title: "Unacked", get: c => c.messages_unacknowledged, num: true }, { title: "State", get: c => c.state },
  ], list, "No channels."));
}

function exchangeLink(vhost, name) {
  return `<a class="exchange-link" href="#/exchanges/${enc(vhost)}/${enc(name || "amq.default")}">${esc(name || "(AMQP default)")}</a>`;
}
function queueLink(vhost, name) {
  return `<a class="queue-link" href="#/queues/${enc(vhost)}/${enc(name)}">${esc(name)}</a>`;
}

async function exchangesPage() {
  const list = await api("GET", "/exchanges");
  setView(`<h1>Exchanges</h1>` + table([
    { title: "Vhost", get: e => e.vhost }, { title: "Name", html: e => exchangeLink(e.vhost, e.name) },
    { title: "Type", get: e => e.type }, { title: "Features", get: e => [e.durable ? "D" : "", e.auto_delete ? "AD" : "", e.internal ? "I" : ""].filter(Boolean).join(" ") },
  ], list) + `<h2>Add a new exchange</h2>` + form("add-exchange", [
    { name: "vhost", label: "Virtual host", value: "/" }, { name: "name", label: "Name" },
    { name: "type", label: "Type", options: ["direct", "fanout", "topic", "headers"] },
    { name: "durable", label: "Durability", options: ["true", "false"] },
  ], "Add exchange"));
  onSubmit("add-exchange", async v => {
    await api("PUT", `/exchanges/${enc(v.vhost)}/${enc(v.name)}`, { type: v.type, durable: v.durable === "true" });
    toast("Exchange declared");
    route();
  });
}

function bindingsTable(list, side) {
  return table([
    { title: side === "from" ? "From" : "To", html: b => side === "from" ? exchangeLink(b.vhost, b.source) :
      (b.destination_type === "queue" ? queueLink(b.vhost, b.destination) : exchangeLink(b.vhost, b.destination)) },
    { title: "Routing key", get: b => b.routing_key }, { title: "Arguments", get: b => JSON.stringify(b.arguments) },
    { title: "", html: b => b.source === "" ? `<span class="muted">(default)</span>` :
      `<button class="plain unbind" type="button" data-path="/bindings/${enc(b.vhost)}/e/${enc(b.source)}/${b.destination_type === "queue" ? "q" : "e"}/${enc(b.destination)}/${enc(b.properties_key)}">Unbind</button>` },
  ], list, "No bindings.");
}

function wireUnbind() {
  document.querySelectorAll("button.unbind").forEach(btn => btn.addEventListener("click", async () => {
    try { await api("DELETE", btn.dataset.path); toast("Binding removed"); route(); } catch (e) { toast(e.message, true); }
  }));
}

function publishForm(id) {
  return form(id, [
    { name: "routing_key", label: "Routing key" },
    { name: "delivery_mode", label: "Delivery mode", options: ["1 - Non-persistent", "2 - Persistent"] },
    { name: "headers", label: "Headers (JSON)", value: "{}" },
    { name: "payload", label: "Payload", textarea: true },
  ], "Publish message", "stack");
}

async function publish(vhost, exchange, v) {
  let headers = {};
  try { headers = JSON.parse(v.headers || "{}"); } catch (e) { throw new Error("Headers must be a JSON object"); }
  const props = { delivery_mode: Number(v.delivery_mode[0]) };
  if (Object.keys(headers).length) { props.headers = headers; }
  const r = await api("POST", `/exchanges/${enc(vhost)}/${enc(exchange || "amq.default")}/publish`,
    { properties: props, routing_key: v.routing_key, payload: v.payload, payload_encoding: "string" });
  toast(r.routed ? "Message published." : "Message published, but not routed.", !r.routed);
}

async function exchangePage(vhost, name) {
  const e = await api("GET", `/exchanges/${enc(vhost)}/${enc(name)}`);
  const bindings = e.name === "" ? [] : await api("GET", `/exchanges/${enc(vhost)}/${enc(name)}/bindings/source`);
  setView(`<h1>Exchange: ${esc(e.name || "(AMQP default)")}</h1>
    <div class="card">Type <b>${esc(e.type)}</b> · vhost <code>${esc(e.vhost)}</code> · durable ${esc(e.durable)} · auto-delete ${esc(e.auto_delete)} · internal ${esc(e.internal)} · arguments <code>${esc(JSON.stringify(e.arguments))}</code></div>
    <h2>Bindings</h2>${bindingsTable(bindings, "to")}
    ${e.name === "" ? "" : `<h3>Add binding from this exchange</h3>` + form("bind-from-exchange", [
      { name: "type", label: "To", options: ["queue", "exchange"] }, { name: "destination", label: "Name" }, { name: "routing_key", label: "Routing key" }], "Bind")}
    <h2>Publish message</h2>${publishForm("publish-exchange")}
    ${e.name.startsWith("amq.") || e.name === "" ? "" : `<h2>Delete this exchange</h2><button id="delete-exchange" class="danger" type="button">Delete</button>`}`);
  wireUnbind();
  onSubmit("bind-from-exchange", async v => {
    await api("POST", `/bindings/${enc(vhost)}/e/${enc(name)}/${v.type === "queue" ? "q" : "e"}/${enc(v.destination)}`, { routing_key: v.routing_key, arguments: {} });
    toast("Bound"); route();
  });
  onSubmit("publish-exchange", v => publish(vhost, name, v));
  const del = $("#delete-exchange");
  if (del) {
    del.addEventListener("click", async () => {
      if (!confirm("Delete exchange " + name + "?")) { return; }
      try { await api("DELETE", `/exchanges/${enc(vhost)}/${enc(name)}`); location.hash = "#/exchanges"; } catch (e2) { toast(e2.message, true); }
    });
  }
}

async function queuesPage() {
  const list = await api("GET", "/queues");
  setView(`<h1>Queues</h1>` + table([
    { title: "Vhost", get: q => q.vhost }, { title: "Name", html: q => queueLink(q.vhost, q.name) },
    { title: "Features", get: q => [q.durable ? "D" : "", q.auto_delete ? "AD" : "", q.exclusive ? "Excl" : ""].filter(Boolean).join(" ") },
    { title: "State", get: q => q.state },
    { title: "Ready", get: q => num(q.messages_ready), num: true }, { title: "Unacked", get: q => num(q.messages_unacknowledged), num: true },
    { title: "Total", get: q => num(q.messages), num: true },
    { title: "Incoming", get: q => rate(q.message_stats && q.message_stats.publish_details), num: true },
    { title: "Deliver / get", get: q => rate(q.message_stats && q.message_stats.deliver_get_details), num: true },
    { title: "Consumers", get: q => q.consumers, num: true },
  ], list, "No queues.") + `<h2>Add a new queue</h2>` + form("add-queue", [
    { name: "vhost", label: "Virtual host", value: "/" }, { name: "name", label: "Name" },
    { name: "durable", label: "Durability", options: ["true", "false"] },
    { name: "arguments", label: "Arguments (JSON)", value: "{}" },
  ], "Add queue"));
  onSubmit("add-queue", async v => {
    let args = {};
    try { args = JSON.parse(v.arguments || "{}"); } catch (e) { throw new Error("Arguments must be a JSON object"); }
    await api("PUT", `/queues/${enc(v.vhost)}/${enc(v.name)}`, { durable: v.durable === "true", arguments: args });
    toast("Queue declared"); route();
  });
}

function renderMessages(msgs) {
  if (!msgs.length) { return `<p class="muted" id="get-empty">Queue is empty.</p>`; }
  return msgs.map((m, i) => `<div class="message" data-index="${i}">
    <div><b>Message ${i + 1}</b> · exchange <code>${esc(m.exchange || "(AMQP default)")}</code> · routing key <code>${esc(m.routing_key)}</code> · redelivered ${esc(m.redelivered)} · ${esc(m.message_count)} left</div>
    <div>Properties <code>${esc(JSON.stringify(m.properties))}</code></div>
    <div>Payload · ${esc(m.payload_bytes)} bytes · encoding ${esc(m.payload_encoding)}</div>
    <pre class="payload">${esc(m.payload)}</pre></div>`).join("");
}

async function queuePage(vhost, name) {
  const base = `/queues/${enc(vhost)}/${enc(name)}`;
  const [q, bindings] = await Promise.all([api("GET", base), api("GET", base + "/bindings")]);
  const consumers = q.consumer_details || [];
  setView(`<h1>Queue: <span id="queue-name">${esc(q.name)}</span></h1>
    <div class="totals" id="queue-counts">
      <div class="total"><div class="v" id="q-ready">${num(q.messages_ready)}</div><div class="k">Ready</div></div>
      <div class="total"><div class="v" id="q-unacked">${num(q.messages_unacknowledged)}</div><div class="k">Unacked</div></div>
      <div class="total"><div class="v" id="q-total">${num(q.messages)}</div><div class="k">Total</div></div>
      <div class="total"><div class="v">${num(q.consumers)}</div><div class="k">Consumers</div></div>
    </div>
    <div class="card">vhost <code>${esc(q.vhost)}</code> · durable ${esc(q.durable)} · auto-delete ${esc(q.auto_delete)} · exclusive ${esc(q.exclusive)} · arguments <code>${esc(JSON.stringify(q.arguments))}</code>
      · incoming ${rate(q.message_stats && q.message_stats.publish_details)} · deliver/get ${rate(q.message_stats && q.message_stats.deliver_get_details)}</div>
    <h2>Consumers</h2>${table([{ title: "Channel", get: c => c.channel_details && c.channel_details.name }, { title: "Tag", get: c => c.consumer_tag },
      { title: "Ack required", get: c => c.ack_required }, { title: "Prefetch", get: c => c.prefetch_count, num: true }], consumers, "No consumers.")}
    <h2>Bindings</h2>${bindingsTable(bindings, "from")}
    <h3>Add binding to this queue</h3>${form("bind-queue", [{ name: "source", label: "From exchange" }, { name: "routing_key", label: "Routing key" }], "Bind")}
    <h2>Publish message</h2>${publishForm("publish-queue")}
    <h2>Get messages</h2>
    <p class="muted">Getting messages is a destructive action unless the ack mode requeues them.</p>
    ${form("get-form", [
      { name: "ackmode", label: "Ack mode", options: ["ack_requeue_true", "reject_requeue_true", "ack_requeue_false", "reject_requeue_false"], value: "ack_requeue_true" },
      { name: "encoding", label: "Encoding", options: ["auto", "base64"] },
      { name: "count", label: "Messages", value: "1", type: "number" },
    ], "Get Message(s)")}
    <div id="messages"></div>
    <h2>Purge</h2><button id="purge" class="danger" type="button">Purge Messages</button>
    <h2>Delete</h2><button id="delete-queue" class="danger" type="button">Delete Queue</button>`);
  $("#get-form button").id = "get-messages";
  wireUnbind();
  onSubmit("bind-queue", async v => {
    await api("POST", `/bindings/${enc(vhost)}/e/${enc(v.source)}/q/${enc(name)}`, { routing_key: v.routing_key, arguments: {} });
    toast("Bound"); route();
  });
  onSubmit("publish-queue", v => publish(vhost, "", Object.assign({}, v, { routing_key: v.routing_key || name })));
  onSubmit("get-form", async v => {
    const msgs = await api("POST", base + "/get", { count: Number(v.count) || 1, ackmode: v.ackmode, encoding: v.encoding, truncate: 50000 });
    $("#messages").innerHTML = renderMessages(msgs);
  });
  $("#purge").addEventListener("click", async () => {
    if (!confirm("Purge all messages of " + name + "?")) { return; }
    try { await api("DELETE", base + "/contents"); toast("Queue purged"); route(); } catch (e) { toast(e.message, true); }
  });
  $("#delete-queue").addEventListener("click", async () => {
    if (!confirm("Delete queue " + name + "?")) { return; }
    try { await api("DELETE", base); location.hash = "#/queues"; } catch (e) { toast(e.message, true); }
  });
}

async function adminPage() {
  const [users, vhosts, perms] = await Promise.all([api("GET", "/users"), api("GET", "/vhosts"), api("GET", "/permissions")]);
  setView(`<h1>Admin</h1>
    <h2>Users</h2>${table([{ title: "Name", get: u => u.name }, { title: "Tags", get: u => (u.tags || []).join(", ") },
      { title: "", html: u => `<button class="plain del-user" data-name="${esc(u.name)}" type="button">Delete</button>` }], users)}
    <h3>Add a user</h3>${form("add-user", [{ name: "name", label: "Username" }, { name: "password", label: "Password", type: "password" },
      { name: "tags", label: "Tags", value: "management" }], "Add user")}
    <h2>Permissions</h2>${table([{ title: "User", get: p => p.user }, { title: "Vhost", get: p => p.vhost }, { title: "Configure", get: p => p.configure },
      { title: "Write", get: p => p.write }, { title: "Read", get: p => p.read }], perms)}
    <h3>Set permission</h3>${form("set-permission", [{ name: "user", label: "User" }, { name: "vhost", label: "Vhost", value: "/" },
      { name: "configure", label: "Configure regexp", value: ".*" }, { name: "write", label: "Write regexp", value: ".*" }, { name: "read", label: "Read regexp", value: ".*" }], "Set permission")}
    <h2>Virtual hosts</h2>${table([{ title: "Name", get: v => v.name }, { title: "Ready", get: v => num(v.messages_ready), num: true },
      { title: "Unacked", get: v => num(v.messages_unacknowledged), num: true }, { title: "Total", get: v => num(v.messages), num: true },
      { title: "", html: v => `<button class="plain del-vhost" data-name="${esc(v.name)}" type="button">Delete</button>` }], vhosts)}
    <h3>Add a virtual host</h3>${form("add-vhost", [{ name: "name", label: "Name" }, { name: "description", label: "Description" }], "Add virtual host")}`);
  onSubmit("add-user", async v => { await api("PUT", `/users/${enc(v.name)}`, { password: v.password, tags: v.tags }); toast("User added"); route(); });
  onSubmit("set-permission", async v => {
    await api("PUT", `/permissions/${enc(v.vhost)}/${enc(v.user)}`, { configure: v.configure, write: v.write, read: v.read });
    toast("Permission set"); route();
  });
  onSubmit("add-vhost", async v => { await api("PUT", `/vhosts/${enc(v.name)}`, { description: v.description }); toast("Virtual host added"); route(); });
  document.querySelectorAll("button.del-user").forEach(b => b.addEventListener("click", async () => {
    if (!confirm("Delete user " + b.dataset.name + "?")) { return; }
    try { await api("DELETE", `/users/${enc(b.dataset.name)}`); route(); } catch (e) { toast(e.message, true); }
  }));
  document.querySelectorAll("button.del-vhost").forEach(b => b.addEventListener("click", async () => {
    if (!confirm("Delete virtual host " + b.dataset.name + " and everything in it?")) { return; }
    try { await api("DELETE", `/vhosts/${enc(b.dataset.name)}`); route(); } catch (e) { toast(e.message, true); }
  }));
}

// ---- routing ---------------------------------------------------------------------------------

const pages = {
  overview: { render: overviewPage, refresh: true },
  connections: { render: connectionsPage, refresh: true },
  channels: { render: channelsPage, refresh: true },
  exchanges: { render: exchangesPage, refresh: false },
  queues: { render: queuesPage, refresh: false },
  admin: { render: adminPage, refresh: false },
};

async function route() {
  if (!state.auth) { return; }
  clearInterval(state.timer);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const tab = parts[0] || "overview";
  document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("active", a.dataset.tab === tab));
  try {
    if (tab === "queues" && parts.length >= 3) {
      await queuePage(parts[1], parts.slice(2).join("/"));
    } else if (tab === "exchanges" && parts.length >= 3) {
      await exchangePage(parts[1], parts.slice(2).join("/"));
    } else {
      const page = pages[tab] || pages.overview;
      await page.render();
      if (page.refresh) { state.timer = setInterval(() => page.render().catch(() => {}), 5000); }
    }
  } catch (e) {
    setView(`<p class="error">${esc(e.message)}</p>`);
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    try { await login($("#login-username").value, $("#login-password").value); } catch (e) { showLogin(e.message); }
  });
  $("#logout").addEventListener("click", () => { showLogin(""); location.hash = "#/login"; });
  const saved = sessionStorage.getItem("warren-auth");
  if (saved) {
    state.auth = saved;
    api("GET", "/whoami").then(me => {
      state.user = me;
      $("#whoami").textContent = me.name;
      $("#login").hidden = true; $("#nav").hidden = false; $("#userbox").hidden = false; $("#view").hidden = false;
      route();
    }).catch(() => showLogin(""));
  } else {
    showLogin("");
  }
});
