// Network page: VLANs and their isolation, change requests with their exact commands and diffs,
// approval by an Ed25519 signature made in this browser (WebCrypto; the key lives in IndexedDB
// and is not extractable), and for officers: apply and drift.
"use strict";
i18n.ready.then(function () {
  const page = document.getElementById("page");
  const role = page.dataset.role;
  const customer = page.dataset.customer;
  const siteSel = document.getElementById("site");
  let selected = null;
  let vlanCache = [];

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  async function call(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: {} };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = document.querySelector('meta[name="csrf-token"]').content;
      opts.body = JSON.stringify(body || {});
    }
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail
      : Array.isArray(data.detail) ? data.detail.map((e) => e.msg).join("; ") : (path + ": " + r.status));
    return data;
  }

  // --- the approval key, kept in IndexedDB -------------------------------------------------

  function keyStore(mode, fn) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open("siteguard-keys", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("keys");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("keys", mode);
        const req = fn(tx.objectStore("keys"));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      };
    });
  }
  const loadKey = () => keyStore("readonly", (s) => s.get(customer));
  const saveKey = (rec) => keyStore("readwrite", (s) => s.put(rec, customer));

  function b64(bytes) { return btoa(String.fromCharCode(...new Uint8Array(bytes))); }
  function fromHex(hex) { return new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16))); }
  function b64url(s) { return Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)); }

  async function showKey() {
    const state = document.getElementById("key-state");
    if (!state) return;
    const rec = await loadKey().catch(() => null);
    state.textContent = rec ? _("public key {key}", { key: rec.publicKey }) : _("no key in this browser");
    state.dataset.ready = rec ? "yes" : "no";
  }

  async function importPem(text) {
    const body = text.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    // Import once extractable to learn the public half, then keep only a non-extractable copy.
    const tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", tmp);
    const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    await saveKey({ privateKey, publicKey: b64(b64url(jwk.x)) });
  }

  async function generateKey() {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    await saveKey({ privateKey: pair.privateKey, publicKey: b64(raw) });
  }

  async function signDigest(hex) {
    const rec = await loadKey();
    if (!rec) throw new Error(_("no approval key in this browser: import or generate one first"));
    return b64(await crypto.subtle.sign({ name: "Ed25519" }, rec.privateKey, fromHex(hex)));
  }

  // --- VLANs, switches, changes ------------------------------------------------------------

  function allowText(a) {
    return a.proto + " " + a.dst.replace(/\/32$/, "") + (a.port ? " " + a.port : "") + (a.note ? " " + a.note : "");
  }

  async function drawOverview(site) {
    const data = await call("GET", "/api/sites/" + site + "/network");
    vlanCache = data.vlans;
    const body = document.querySelector("#vlans tbody");
    body.replaceChildren();
    for (const v of data.vlans) {
      const tr = el("tr");
      tr.dataset.vlan = v.vlan;
      const reach = v.isolated ? v.allows.map(allowText).join(", ") || _("nothing") : _("not isolated");
      tr.dataset.isolated = String(v.isolated);
      const ver = v.verified;
      const check = !ver ? _("not checked yet") : ver.in_sync ? _("switches match, checked {time}", { time: i18n.dateTime(ver.at) })
        : ver.in_sync === false ? _("a switch differs from the approved rules") : _("a switch could not be checked");
      const where = el("td", v.routed_by.join(", "));
      where.append(el("div", check, "small verified " + (ver && ver.in_sync ? "ok" : ver ? "denied" : "muted")));
      tr.append(el("td", String(v.vlan)), el("td", v.customer), el("td", v.subnet, "mono"),
                el("td", reach, v.isolated ? "mono" : "denied"), where);
      body.appendChild(tr);
    }
    drawReach(data.reach);
    const sel = document.getElementById("req-vlan");
    if (sel && sel.options.length !== data.vlans.length) {
      sel.replaceChildren(...data.vlans.map((v) => { const o = el("option", v.vlan + " · " + v.customer); o.value = v.vlan; return o; }));
      fillAllows();
    }
    const sw = document.getElementById("switches");
    if (sw && data.switches) {
      sw.replaceChildren();
      for (const s of data.switches) {
        const row = el("div", undefined, "gate-row");
        row.dataset.switch = s.id;
        const d = s.drift;
        const state = !d ? "not_checked" : d.in_sync ? "in_sync" : d.in_sync === false ? "drift" : "unreachable";
        const names = { not_checked: _("not checked"), in_sync: _("in sync"), drift: _("drift"), unreachable: _("unreachable") };
        const badge = el("span", names[state], "badge state-" + (state === "in_sync" ? "online" : state === "drift" || state === "unreachable" ? "offline" : ""));
        badge.dataset.state = state;
        row.append(el("strong", s.id), el("span", s.vendor, "muted small"), badge);
        sw.appendChild(row);
        if (d && d.in_sync === false) {
          const diff = el("pre", undefined, "mono small diff");
          diff.dataset.switch = s.id;
          for (const line of d.diff || []) diff.append(el("span", line + "\n", line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""));
          sw.append(diff, el("pre", _("to repair:") + "\n" + d.repair.join("\n"), "mono small"));
        }
      }
    }
  }

  function drawReach(reach) {
    const table = el("table", undefined, "reach");
    const head = el("tr");
    head.append(el("th", _("from \\ to")), ...reach.columns.map((c) => el("th", c, "small")));
    table.append(head);
    for (const row of reach.rows) {
      const tr = el("tr");
      tr.dataset.vlan = row;
      tr.append(el("th", _("VLAN {vlan}", { vlan: row })));
      for (const col of reach.columns) {
        const v = (reach.cells[row] || {})[col] || "none";
        const td = el("td", v === "all" ? "✓" : v === "some" ? "◐" : "✗", "reach-" + v);
        const level = { all: _("everything"), some: _("some ports"), none: _("nothing") };
        td.title = _("VLAN {vlan} → {to}: {level}", { vlan: row, to: col, level: level[v] || v });
        td.dataset.to = col;
        tr.append(td);
      }
      table.append(tr);
    }
    document.getElementById("reach").replaceChildren(table);
  }

  function fillAllows() {
    const sel = document.getElementById("req-vlan");
    const box = document.getElementById("req-allows");
    if (!sel || !box) return;
    const v = vlanCache.find((x) => String(x.vlan) === sel.value);
    if (v) box.value = (v.isolated ? v.allows : v.default_allows).map(allowText).join("\n");
  }

  async function drawChanges(site) {
    const rows = await call("GET", "/api/sites/" + site + "/network/changes");
    const body = document.querySelector("#changes tbody");
    body.replaceChildren();
    for (const c of rows) {
      const tr = el("tr");
      tr.dataset.change = c.id;
      const link = el("a", c.id, "mono");
      link.href = "#" + c.id;
      link.addEventListener("click", (ev) => { ev.preventDefault(); selected = c.id; drawDetail(); });
      const td = el("td"); td.appendChild(link);
      const st = el("td", changeStatus(c.status), "status");
      st.dataset.status = c.status;
      tr.append(td, el("td", c.title), el("td", c.customers.join(", ")), st,
                el("td", _("{time} by {user}", { time: i18n.dateTime(c.created_at), user: c.created_by })));
      body.appendChild(tr);
    }
  }

  function changeStatus(status) {
    const names = {
      pending: _("pending"), approved: _("approved"), rejected: _("rejected"), expired: _("expired"),
      applying: _("applying"), applied: _("applied"), failed: _("failed"), rolled_back: _("rolled back"),
      refused: _("refused"), verified: _("verified"), saved: _("saved"), rollback_failed: _("rollback failed"),
      not_started: _("not started"),
    };
    return names[status] || status;
  }

  // What a VPN peer change or a remote-rules change does, in a sentence.
  function specText(c) {
    const s = c.spec || {};
    const kinds = (m) => (m || []).join(_(", ")) || _("none");
    const yesNo = (b) => (b ? _("yes") : _("no"));
    if (c.kind === "vpn" && s.peer) {
      const values = { address: s.peer.address, person: s.person || "–", customer: s.peer.customer, key: s.peer.public_key };
      if (s.action === "rotate") {
        return _("Replaces the key of the VPN device {address} of {person} ({customer}): {old} → {key}; the old key stops working.",
          { ...values, old: s.replaces || "–" });
      }
      return s.action === "remove" ? _("Removes the VPN device {address} of {person} ({customer}), key {key}.", values)
        : _("Adds the VPN device {address} for {person} ({customer}), key {key}.", values);
    }
    if (c.kind === "remote" && s.after) {
      const b = s.before || {}, a = s.after;
      return _("Remote-work rules of {customer}: allowed {before_allowed} → {allowed}; kinds of data {before_kinds} → {kinds}; watermark {before_watermark} → {watermark}.", {
        customer: s.customer, before_allowed: yesNo(b.allowed), allowed: yesNo(a.allowed),
        before_kinds: kinds(b.modalities), kinds: kinds(a.modalities),
        before_watermark: yesNo(b.watermark), watermark: yesNo(a.watermark) });
    }
    return c.title;
  }

  function flowList(title, flows, cls) {
    const box = el("div");
    box.append(el("h3", _("{title} ({n})", { title: title, n: flows.length })));
    const ul = el("ul", undefined, "mono small " + cls);
    for (const f of flows) ul.appendChild(el("li", f));
    box.append(ul);
    return box;
  }

  async function drawDetail() {
    if (!selected) return;
    const c = await call("GET", "/api/network/changes/" + selected);
    const box = document.getElementById("detail");
    box.hidden = false;
    box.dataset.change = c.id;
    box.dataset.status = c.status;
    document.getElementById("detail-title").textContent = c.id + " · " + c.title;
    const decisions = { approve: _("approved"), reject: _("rejected") };
    const approvals = c.approvals.map((a) => _("{customer} {decision}", { customer: a.customer, decision: decisions[a.decision] || a.decision }))
      .join(_(", ")) || _("none yet");
    document.getElementById("detail-meta").textContent =
      _("status {status} · needs {customers} · approvals: {approvals} · approvals expire {expires}",
        { status: changeStatus(c.status), customers: c.customers.join(_(", ")), approvals: approvals, expires: i18n.dateTime(c.expires) });
    const an = document.getElementById("detail-analysis");
    // A customer is asked about every change that alters what its VLANs reach, whoever asked for it.
    const scope = role === "customer"
      ? el("p", _("Requested by {user}. Shown: the flows and VLAN configuration that concern {customer}; the lines per switch are whole, since your signature covers every one of them.",
                  { user: c.created_by, customer: customer }), "small")
      : el("p", _("Requested by {user}.", { user: c.created_by }), "small");
    if (c.kind && c.kind !== "acl") {
      // A VPN peer or remote-rules change: no flows or configs, its lines are the whole of it.
      an.replaceChildren(scope, el("p", specText(c), "spec"));
    } else {
      const a = c.analysis || {};
      an.replaceChildren(scope, flowList(_("Newly permitted"), a.newly_permitted || [], "ok"),
                         flowList(_("Newly denied"), a.newly_denied || [], "denied"));
      if ((a.cross_customer || []).length) an.append(flowList(_("Between customers after the change"), a.cross_customer, "denied"));
    }
    const devs = document.getElementById("detail-devices");
    devs.replaceChildren();
    for (const [device, plan] of Object.entries(c.device_plans)) {
      const card = el("div");
      card.dataset.device = device;
      card.append(el("h3", _("{device} ({vendor}): exact lines", { device: device, vendor: plan.vendor })), el("pre", plan.commands.join("\n"), "mono commands"));
      if (plan.diff) {
        const diff = el("pre", undefined, "mono diff");
        for (const line of plan.diff) diff.append(el("span", line + "\n", line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""));
        card.append(el("h3", _("configuration before → after")), diff);
      }
      devs.append(card);
    }
    const actions = document.getElementById("detail-actions");
    actions.replaceChildren();
    const mine = c.signing.find((s) => s.customer === customer);
    if (page.dataset.mayApprove === "true" && mine && c.status === "pending" && !c.approvals.some((a) => a.customer === customer)) {
      actions.append(el("p", _("You sign SHA-256 {digest} of the exact lines above for {customer}.", { digest: mine.digest, customer: customer }), "mono small"));
      const ok = el("button", _("Approve and sign")); ok.id = "approve";
      ok.addEventListener("click", async () => {
        try {
          await call("POST", "/api/network/changes/" + c.id + "/approve", { signature: await signDigest(mine.digest) });
        } catch (e) { actions.append(el("p", _("approval failed: {error}", { error: e.message }), "error")); return; }
        refresh();
      });
      const no = el("button", _("Reject")); no.id = "reject";
      no.addEventListener("click", async () => {
        await call("POST", "/api/network/changes/" + c.id + "/reject", { comment: prompt(_("Why?")) || "" });
        refresh();
      });
      actions.append(ok, document.createTextNode(" "), no);
    }
    if (page.dataset.mayApply === "true" && c.status === "approved") {
      const label = c.kind === "vpn" ? _("Start on the VPN gateway") : c.kind === "remote" ? _("Start the new rules") : _("Apply on the switches");
      const run = el("button", label); run.id = "apply";
      run.addEventListener("click", async () => {
        try { await call("POST", "/api/network/changes/" + c.id + "/apply"); }
        catch (e) { actions.append(el("p", e.message, "error")); }
        refresh();
      });
      actions.append(run);
    }
    const res = document.getElementById("detail-result");
    res.replaceChildren();
    if (c.result && c.result.devices) {
      for (const d of c.result.devices) {
        const values = { device: d.device, status: changeStatus(d.status), error: d.error };
        res.append(el("p", d.error ? _("{device}: {status} ({error})", values) : _("{device}: {status}", values), "small"));
      }
    } else if (c.result && (c.result.reason || c.result.error)) {
      res.append(el("p", _("refused: {error}", { error: c.result.detail || c.result.error }), "error"));
    }
  }

  async function refresh() {
    const site = siteSel.value;
    try {
      await Promise.all([drawOverview(site), drawChanges(site), drawDetail(), showKey()]);
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying… ({error})", { error: e.message });
    }
  }

  const form = document.getElementById("request");
  if (form) {
    document.getElementById("req-vlan").addEventListener("change", fillAllows);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const fd = new FormData(form);
      const allows = String(fd.get("allows")).split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        const [proto, dst, port, ...note] = l.split(/\s+/);
        return { proto, dst, port: port && /^\d+$/.test(port) ? Number(port) : null, note: note.join(" ") };
      });
      const out = document.getElementById("req-result");
      try {
        const c = await call("POST", "/api/sites/" + siteSel.value + "/network/changes",
                             { title: fd.get("title"), vlans: { [fd.get("vlan")]: allows } });
        out.textContent = _("requested {change}", { change: c.id });
        out.dataset.change = c.id;
        selected = c.id;
      } catch (e) { out.textContent = _("refused: {error}", { error: e.message }); }
      refresh();
    });
  }
  const keyFile = document.getElementById("key-file");
  if (keyFile) keyFile.addEventListener("change", async () => {
    try { await importPem(await keyFile.files[0].text()); } catch (e) { alert(_("cannot import the key: {error}", { error: e.message })); }
    showKey();
  });
  const gen = document.getElementById("key-generate");
  if (gen) gen.addEventListener("click", async () => { await generateKey(); showKey(); });
  const drift = document.getElementById("drift-check");
  if (drift) drift.addEventListener("click", async () => { await call("POST", "/api/sites/" + siteSel.value + "/network/drift-check"); setTimeout(refresh, 1500); });
  siteSel.addEventListener("change", refresh);
  if (location.hash.length > 1) selected = location.hash.slice(1);
  refresh();
  setInterval(refresh, 4000);
});
