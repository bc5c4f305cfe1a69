// Gates page: live gate states, occupancy per area, and the filterable access log.
"use strict";
(function () {
  const siteSel = document.getElementById("site");
  const form = document.getElementById("filters");

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  async function get(path) {
    const r = await fetch(path, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; throw new Error("login"); }
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }

  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json",
                 "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(Array.isArray(data.detail) ? data.detail.map((e) => e.msg).join("; ")
      : data.detail || (path + ": " + r.status));
    return data;
  }

  async function resetPassback(person) {
    const what = person ? person : "everyone";
    if (!confirm("Reset anti-passback for " + what + "?")) return;
    const out = document.getElementById("reset-result");
    try {
      await post("/api/sites/" + siteSel.value + "/passback/reset", { person: person || null });
      out.textContent = "anti-passback reset for " + what;
    } catch (e) {
      out.textContent = "reset failed: " + e.message;
    }
    refresh();
  }

  async function drawGates(site) {
    const box = document.getElementById("gates");
    box.replaceChildren();
    for (const g of await get("/api/sites/" + site + "/gates")) {
      const row = el("div", undefined, "gate-row");
      row.dataset.gate = g.gate;
      row.append(el("strong", g.gate + " · " + g.name), el("span", g.state, "badge state-" + (g.online ? g.state : "offline")),
                 el("span", g.area_out + " → " + g.area_in + (g.online ? "" : " (controller offline)"), "muted small"));
      box.appendChild(row);
    }
  }

  async function drawOccupancy(site) {
    const box = document.getElementById("occupancy");
    box.replaceChildren();
    const areas = (await get("/api/sites/" + site + "/occupancy")).areas;
    for (const [area, people] of Object.entries(areas)) {
      const h = el("h3", area + " (" + people.length + ")");
      const ul = el("ul", undefined, "people");
      ul.dataset.area = area;
      for (const p of people) {
        const li = el("li", p.name + " (" + p.person + "), since " + new Date(p.since).toLocaleTimeString() + " via " + p.gate + " ");
        const btn = el("button", "reset passback", "small");
        btn.type = "button";
        btn.dataset.person = p.person;
        btn.addEventListener("click", () => resetPassback(p.person));
        li.appendChild(btn);
        ul.appendChild(li);
      }
      box.append(h, ul);
    }
  }

  async function drawEvents(site) {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) {
      if (!v) continue;
      params.set(k, (k === "start" || k === "end") ? new Date(v).toISOString() : v);
    }
    const rows = await get("/api/sites/" + site + "/access-events?" + params.toString());
    const body = document.querySelector("#events tbody");
    body.replaceChildren();
    for (const e of rows) {
      const tr = el("tr");
      const result = e.kind === "passage" ? "passed"
        : e.kind === "cancelled" ? "grant withdrawn: " + e.reason.replace(/_/g, " ")
        : (e.granted ? "granted" : "denied: " + e.reason);
      tr.append(el("td", new Date(e.at).toLocaleString()), el("td", e.gate), el("td", e.person || "–"),
                el("td", e.kind), el("td", e.direction), el("td", result, e.granted === false ? "denied" : ""));
      body.appendChild(tr);
    }
  }

  async function refresh() {
    const site = siteSel.value;
    try {
      await Promise.all([drawGates(site), drawOccupancy(site), drawEvents(site)]);
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      document.getElementById("updated").textContent = "controller unreachable, retrying…";
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  document.getElementById("reset-all").addEventListener("click", () => resetPassback(null));
  siteSel.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 3000);
})();
