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
      for (const p of people) ul.appendChild(el("li", p.name + " (" + p.person + "), since " + new Date(p.since).toLocaleTimeString() + " via " + p.gate));
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
      const result = e.kind === "passage" ? "passed" : (e.granted ? "granted" : "denied: " + e.reason);
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
  siteSel.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 3000);
})();
