// VPN page: the site's WireGuard gateway, each customer's remote-work rules, the devices (peers)
// with their tunnel's health from the gateway, and the requests that go to the customer's
// signature on the network page: add a device, remove one, rotate its key, change the rules. An
// officer revokes a device at once. Figures refresh every 10 s.
"use strict";
i18n.ready.then(function () {
  const { el, getJSON } = pageKit;
  const page = document.getElementById("page");
  const mayRequest = page.dataset.mayRequest === "true";
  const mayRevoke = page.dataset.mayRevoke === "true";
  const siteSel = document.getElementById("site");
  const LIVE = ["requested", "active", "removing", "revoking", "rotating"];
  let last = null;  // the latest overview, for the forms' customer lists

  function post(path, body) {
    return getJSON(path, { method: "POST", headers: {
      "Content-Type": "application/json",
      "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content,
    }, body: JSON.stringify(body || {}) });
  }

  function statusName(s) {
    const names = {
      requested: _("requested"), active: _("active"), removing: _("removing"), revoking: _("revoking"),
      revoked: _("revoked"), removed: _("removed"), rejected: _("rejected"), refused: _("refused"),
      rotating: _("key rotating"), rotated: _("key rotated"),
    };
    return names[s] || s;
  }

  function modalityName(m) {
    return { text: _("text"), audio: _("audio"), image: _("image") }[m] || m;
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return _("never");
    const s = Math.round(seconds);
    if (s < 60) return _("{n} s ago", { n: s });
    if (s < 3600) return _("{n} min ago", { n: Math.round(s / 60) });
    if (s < 86400) return _("{n} h ago", { n: Math.round(s / 3600) });
    return _("{n} d ago", { n: Math.round(s / 86400) });
  }

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    if (n < 1024) return _("{n} B", { n: n });
    if (n < 1024 * 1024) return _("{n} KiB", { n: (n / 1024).toFixed(1) });
    if (n < 1024 * 1024 * 1024) return _("{n} MiB", { n: (n / 1048576).toFixed(1) });
    return _("{n} GiB", { n: (n / 1073741824).toFixed(2) });
  }

  // Where a request's change is signed by its customer and started by an officer.
  function changeLink(text, change) {
    const p = el("span");
    p.append(el("span", text + " "));
    const a = el("a", _("sign or start {change} on the Network page", { change: change }), "mono");
    a.href = "/network#" + encodeURIComponent(change);
    a.dataset.change = change;
    p.append(a);
    return p;
  }

  function showResult(box, content, cls) {
    box.hidden = false;
    box.className = "small " + (cls || "");
    box.replaceChildren(content);
  }

  // --- gateway and rules ---------------------------------------------------------------------

  function drawGateway(d) {
    const gw = d.gateway;
    document.getElementById("gateway").textContent = gw
      ? _("interface {interface} · UDP port {port} · MTU {mtu}", { interface: gw.interface, port: gw.listen_port, mtu: gw.mtu })
      : _("This site has no VPN gateway (network.vpn in the site file).");
    const err = document.getElementById("edge-error");
    err.hidden = !d.edge_error;
    err.textContent = d.edge_error ? _("No figures from the gateway: {error}", { error: d.edge_error }) : "";
    document.getElementById("health-legend").textContent = gw
      ? _("A tunnel is up while its last handshake is under {s} s old (the devices send a keepalive every 25 s); older, or none, reads as down.", { s: gw.down_after_s })
      : "";
  }

  function drawRules(d) {
    const body = document.querySelector("#rules tbody");
    body.replaceChildren();
    for (const c of d.customers) {
      const tr = el("tr");
      tr.dataset.customer = c.customer;
      tr.dataset.allowed = String(c.allowed);
      tr.append(el("td", c.customer),
                el("td", c.allowed ? _("allowed") : _("denied"), c.allowed ? "ok-text" : "error"),
                el("td", c.range, "mono"),
                el("td", c.modalities.map(modalityName).join(_(", ")) || _("none")),
                el("td", c.watermark ? _("yes") : _("no")));
      body.append(tr);
    }
    if (!d.customers.length) {
      const tr = el("tr");
      const td = el("td", _("No customer has a remote range on this site."), "muted");
      td.colSpan = 5;
      tr.append(td);
      body.append(tr);
    }
    for (const sel of document.querySelectorAll("select.customer-select")) {
      const want = d.customers.map((c) => c.customer).join(",");
      if (sel.dataset.filled === want) continue;
      const keep = sel.value;
      sel.replaceChildren(...d.customers.map((c) => { const o = el("option", c.customer); o.value = c.customer; return o; }));
      if (keep) sel.value = keep;
      sel.dataset.filled = want;
      if (sel.closest("#rules-form")) fillRulesForm();
    }
  }

  function fillRulesForm() {
    const form = document.getElementById("rules-form");
    if (!form || !last) return;
    const c = last.customers.find((x) => x.customer === form.customer.value);
    if (!c) return;
    form.allowed.checked = c.allowed;
    form.watermark.checked = c.watermark;
    for (const box of form.querySelectorAll("input[name=modalities]")) box.checked = c.modalities.includes(box.value);
  }

  // --- peers ---------------------------------------------------------------------------------

  function healthCell(p, gw) {
    const td = el("td");
    const t = p.tunnel;
    if (!t) {
      td.append(el("span", p.status === "requested" ? _("not on the gateway yet") : _("no figures"), "muted small"));
      td.dataset.health = "unknown";
      return td;
    }
    const up = !t.down;
    const dot = el("span", undefined, "dot " + (up ? "up" : "down"));
    td.dataset.health = up ? "up" : "down";
    const limit = gw ? gw.down_after_s : 180;
    td.title = up ? _("up: handshake within the last {s} s", { s: limit }) : _("down: no handshake within {s} s", { s: limit });
    td.append(dot, el("span", up ? _("up") : _("down"), "small"));
    return td;
  }

  function handshakeText(p) {
    if (p.tunnel) return age(p.tunnel.handshake_age_s);
    return p.status === "requested" ? _("never") : _("unknown");
  }

  function button(text, cls, onClick) {
    const b = el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function peerRow(p) {
    const tr = el("tr");
    tr.dataset.peer = p.id;
    tr.dataset.customer = p.customer;
    tr.dataset.status = p.status;
    return tr;
  }

  function statusBadge(p) {
    const badge = el("span", statusName(p.status), "badge vpn-" + p.status);
    badge.dataset.status = p.status;
    return badge;
  }

  function drawPeers(d) {
    const live = d.peers.filter((p) => LIVE.includes(p.status));
    const ended = d.peers.filter((p) => !LIVE.includes(p.status));
    const body = document.querySelector("#peers tbody");
    body.replaceChildren();
    for (const p of live) {
      const tr = peerRow(p);
      const status = el("td");
      status.append(statusBadge(p));
      if (p.status === "revoking") status.append(el("div", _("the gateway has not confirmed"), "error small"));
      const change = ["removing", "rotating"].includes(p.status) ? p.remove_change : p.status === "requested" ? p.add_change : null;
      if (change) {
        const a = el("a", _("change {change}", { change: change }), "small mono");
        a.href = "/network#" + encodeURIComponent(change);
        status.append(el("br"), a);
      }
      const t = p.tunnel || {};
      const hs = el("td", handshakeText(p), "handshake");
      const actions = el("td", undefined, "actions");
      if (p.status === "requested" || p.status === "active") {
        actions.append(button(_("Client config"), "config", () => showConfig(p)));
      }
      if (mayRequest && p.status === "active") {
        actions.append(" ", button(_("Request removal"), "remove", () => requestRemoval(p)));
        actions.append(" ", button(_("Rotate key"), "rotate", () => requestRotation(p)));
      }
      if (mayRevoke && ["active", "removing", "revoking", "rotating"].includes(p.status)) {
        actions.append(" ", button(p.status === "revoking" ? _("Revoke again") : _("Revoke"), "revoke", () => revoke(p)));
      }
      tr.append(el("td", p.person), el("td", p.label), el("td", p.customer), el("td", p.address, "mono"), status,
                el("td", t.endpoint || "–", "mono small"), hs, healthCell(p, d.gateway),
                el("td", p.tunnel ? bytes(t.rx_bytes) + " / " + bytes(t.tx_bytes) : "–", "small"), actions);
      body.append(tr);
    }
    if (!live.length) {
      const tr = el("tr");
      const td = el("td", _("No device yet."), "muted");
      td.colSpan = 10;
      tr.append(td);
      body.append(tr);
    }
    document.getElementById("ended-summary").textContent = ngettext("{n} ended device", "{n} ended devices", ended.length);
    const endedBody = document.querySelector("#ended-peers tbody");
    endedBody.replaceChildren();
    for (const p of ended) {
      const tr = peerRow(p);
      const badge = statusBadge(p);
      const st = el("td");
      st.append(badge);
      tr.append(el("td", p.person), el("td", p.label), el("td", p.customer), el("td", p.address, "mono"), st,
                el("td", p.ended_at ? i18n.dateTime(p.ended_at) : "–"), el("td", p.ended_by || "–"),
                el("td", p.end_reason || "–", "reason"));
      endedBody.append(tr);
    }
  }

  async function revoke(p) {
    const reason = prompt(_("Revoke the device {address} of {person} now? Why (the customer reads this)?", { address: p.address, person: p.person }));
    if (reason === null) return;
    const box = document.getElementById("peer-result");
    if (!reason.trim()) { showResult(box, el("span", _("A revocation needs a reason.")), "error"); return; }
    try {
      const r = await post("/api/vpn/peers/" + p.id + "/revoke", { reason: reason });
      const edge = r.edge || {};
      box.dataset.peer = p.id;
      box.dataset.status = r.status;
      if (r.status === "revoked") {
        showResult(box, el("span", edge.note
          ? _("{address} revoked; the gateway held no such peer.", { address: r.address })
          : _("{address} revoked; the gateway cut the tunnel in {s} s.", { address: r.address, s: Number(edge.seconds || 0).toFixed(3) })), "ok-text");
      } else {
        showResult(box, el("span", _("{address}: the controller stopped serving this device; the gateway has not confirmed ({error}). Press Revoke again.",
          { address: r.address, error: edge.error || "–" })), "error");
      }
    } catch (e) {
      showResult(box, el("span", _("refused: {error}", { error: e.message })), "error");
    }
    refresh();
  }

  async function requestRemoval(p) {
    if (!confirm(_("Request the removal of {address} of {person}? Its customer signs the change, then an officer starts it.", { address: p.address, person: p.person }))) return;
    const box = document.getElementById("peer-result");
    try {
      const r = await post("/api/vpn/peers/" + p.id + "/remove");
      box.dataset.change = r.change;
      showResult(box, changeLink(_("Removal requested as change {change}.", { change: r.change }), r.change));
    } catch (e) {
      showResult(box, el("span", _("refused: {error}", { error: e.message })), "error");
    }
    refresh();
  }

  // A new key for the same device address (a replaced device, a key that may have leaked): the old
  // key keeps working until its customer signed the change and an officer started it.
  async function requestRotation(p) {
    const key = prompt(_("New public key for {address} of {person} (made on the device; its private key stays there):",
      { address: p.address, person: p.person }));
    if (key === null) return;
    const box = document.getElementById("peer-result");
    try {
      const r = await post("/api/vpn/peers/" + p.id + "/rotate", { public_key: key.trim() });
      box.dataset.change = r.change;
      showResult(box, changeLink(_("Key rotation requested as change {change}: the old key works until it is signed and started.",
        { change: r.change }), r.change), "ok-text");
    } catch (e) {
      delete box.dataset.change;
      showResult(box, el("span", _("refused: {error}", { error: e.message })), "error");
    }
    refresh();
  }

  async function showConfig(p) {
    const card = document.getElementById("config");
    try {
      const r = await getJSON("/api/vpn/peers/" + p.id + "/client-config");
      card.hidden = false;
      card.dataset.peer = p.id;
      document.getElementById("config-peer").textContent = p.person + " · " + p.address;
      document.getElementById("config-text").textContent = r.text;
      showConfigKey(r);
      document.getElementById("config-copied").textContent = "";
      card.scrollIntoView({ block: "nearest" });
    } catch (e) {
      showResult(document.getElementById("peer-result"), el("span", _("refused: {error}", { error: e.message })), "error");
    }
  }

  document.getElementById("config-copy").addEventListener("click", async () => {
    const text = document.getElementById("config-text").textContent;
    const out = document.getElementById("config-copied");
    try {
      await navigator.clipboard.writeText(text);
      out.textContent = _("copied");
    } catch (e) {  // no clipboard (not a secure context): select the text for a manual copy
      const range = document.createRange();
      range.selectNodeContents(document.getElementById("config-text"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      out.textContent = _("selected: press Ctrl+C to copy");
    }
  });

  // --- keys made in this browser: the config file and its QR code -----------------------------
  // The device's private key is made here (WebCrypto X25519) and lives only in this page's
  // memory: never sent, never put in any browser storage; closing or reloading the page discards
  // it. The controller gets the public key alone, as from a key made on the device.

  const browserKeys = new Map();  // public key -> private key (base64) of devices requested from this page
  let madeKey = null;             // { pub, priv } made and not yet requested

  function base64(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes)));
  }

  // A pair as WireGuard writes it: base64 of the raw 32 bytes; the private scalar is the last 32
  // bytes of the PKCS #8 form (WebCrypto exports no raw private key).
  async function makeKeyPair() {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) throw new Error(_("the page is not a secure context"));
    const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
    const pub = await crypto.subtle.exportKey("raw", pair.publicKey);
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
    return { pub: base64(pub), priv: base64(new Uint8Array(pkcs8).slice(-32)) };
  }

  const makeKeyButton = document.getElementById("make-key");
  if (makeKeyButton) makeKeyButton.addEventListener("click", async () => {
    const out = document.getElementById("make-key-result");
    const field = document.getElementById("add-device").public_key;
    try {
      madeKey = await makeKeyPair();
      field.value = madeKey.pub;
      out.dataset.made = "true";
      showResult(out, el("span", _("Key pair made in this browser; its public key is filled in above. The private key stays in this page's memory only and is shown once, after you request the device.")), "ok-text");
    } catch (e) {
      madeKey = null;
      out.dataset.made = "false";
      showResult(out, el("span", _("This browser cannot make a WireGuard key ({error}): that needs WebCrypto X25519, a current browser and a page served over HTTPS. Make the key pair on the device and paste its public key.", { error: e.message || e.name })), "error");
      field.focus();
    }
  });

  // The device was requested: a key this page made for it is kept (in memory) and shown at once.
  function keyRequested(publicKey, peer) {
    if (!madeKey || madeKey.pub !== publicKey || !peer) return;
    browserKeys.set(madeKey.pub, madeKey.priv);
    madeKey = null;
    document.getElementById("make-key-result").hidden = true;
    showConfig(peer);
  }

  // The config card: with this page's key for the device, the whole config, its download and QR
  // code; without, why there is none (the device fills in its own key).
  function showConfigKey(r) {
    const priv = browserKeys.get(r.public_key);
    const text = priv ? r.text.replace(/^PrivateKey = .*$/m, () => "PrivateKey = " + priv) : r.text;
    document.getElementById("config-text").textContent = text;
    const qr = document.getElementById("config-qr");
    qr.replaceChildren(...(priv ? [qrSvg(text)] : []));
    const shown = { "config-qr": priv, "config-once": priv, "config-download": priv, "config-filled": priv,
                    "config-note": !priv, "config-no-qr": !priv };
    for (const [id, on] of Object.entries(shown)) document.getElementById(id).hidden = !on;
    document.getElementById("config-download").dataset.address = r.address;
  }

  // The QR code, drawn here by the vendored encoder (static/vendor/qrcode-generator): error
  // correction M, a quiet zone of 4 modules, black on white as the WireGuard apps scan it.
  function qrSvg(text) {
    const NS = "http://www.w3.org/2000/svg";
    const QUIET = 4;
    const CELL_PX = 5;
    const qr = qrcode(0, "M");  // 0: the smallest version that holds the text
    qr.addData(text, "Byte");
    qr.make();
    const n = qr.getModuleCount();
    const size = n + 2 * QUIET;
    let d = "";
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) if (qr.isDark(row, col)) d += "M" + (col + QUIET) + " " + (row + QUIET) + "h1v1h-1z";
    }
    const svg = document.createElementNS(NS, "svg");
    for (const [k, v] of Object.entries({ viewBox: "0 0 " + size + " " + size, width: size * CELL_PX, height: size * CELL_PX,
                                          "shape-rendering": "crispEdges", role: "img" })) svg.setAttribute(k, String(v));
    svg.setAttribute("aria-label", _("QR code of the client config"));
    svg.dataset.modules = String(n);
    const bg = document.createElementNS(NS, "rect");
    for (const [k, v] of Object.entries({ width: size, height: size, fill: "#fff" })) bg.setAttribute(k, String(v));
    const dark = document.createElementNS(NS, "path");
    dark.setAttribute("d", d);
    dark.setAttribute("fill", "#000");
    svg.append(bg, dark);
    return svg;
  }

  // The file as the WireGuard apps and wg-quick import it, made in the page (a Blob), never fetched.
  document.getElementById("config-download").addEventListener("click", (ev) => {
    const text = document.getElementById("config-text").textContent;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    a.download = "sgvpn.conf";  // wg-quick names the interface after the file: at most 15 characters
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  // --- forms ---------------------------------------------------------------------------------

  const addForm = document.getElementById("add-device");
  if (addForm) addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(addForm);
    const out = document.getElementById("add-result");
    const body = { customer: fd.get("customer"), person: String(fd.get("person")).trim(),
                   public_key: String(fd.get("public_key")).trim(), label: String(fd.get("label")).trim() };
    const address = String(fd.get("address")).trim();
    if (address) body.address = address;
    try {
      const r = await post("/api/sites/" + siteSel.value + "/vpn/peers", body);
      out.dataset.change = r.change;
      showResult(out, changeLink(_("Requested {address} as change {change}: its customer signs it, then an officer starts it.",
        { address: r.peer.address, change: r.change }), r.change), "ok-text");
      addForm.public_key.value = "";
      keyRequested(body.public_key, r.peer);
    } catch (e) {
      delete out.dataset.change;
      showResult(out, el("span", _("refused: {error}", { error: e.message })), "error");
    }
    refresh();
  });

  const rulesForm = document.getElementById("rules-form");
  if (rulesForm) {
    rulesForm.customer.addEventListener("change", fillRulesForm);
    rulesForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("rules-result");
      const modalities = [...rulesForm.querySelectorAll("input[name=modalities]:checked")].map((b) => b.value);
      try {
        const r = await post("/api/sites/" + siteSel.value + "/remote-rules", {
          customer: rulesForm.customer.value, allowed: rulesForm.allowed.checked, modalities: modalities,
          watermark: rulesForm.watermark.checked });
        out.dataset.change = r.change;
        showResult(out, changeLink(_("Requested as change {change}.", { change: r.change }), r.change), "ok-text");
      } catch (e) {
        delete out.dataset.change;
        showResult(out, el("span", _("refused: {error}", { error: e.message })), "error");
      }
    });
  }

  async function refresh() {
    try {
      const d = await getJSON("/api/sites/" + siteSel.value + "/vpn");
      last = d;
      drawGateway(d);
      drawRules(d);
      drawPeers(d);
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying… ({error})", { error: e.message });
    }
  }

  siteSel.addEventListener("change", () => {
    for (const sel of document.querySelectorAll("select.customer-select")) delete sel.dataset.filled;
    refresh();
  });
  refresh();
  setInterval(refresh, 10000);
});
