// Seats page: a floor map of the seats coloured by coverage, and the reasons of those not covered.
"use strict";
(function () {
  const siteSel = document.getElementById("site");
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function refresh() {
    try {
      const r = await fetch("/api/sites/" + siteSel.value + "/seats", { credentials: "same-origin" });
      if (r.status === 401) { location.href = "/login"; return; }
      const data = await r.json();
      const state = Object.fromEntries(data.seats.map((s) => [s.seat, s]));
      const floor = document.getElementById("floor");
      floor.replaceChildren();
      const xs = data.layout.map((s) => s.x), ys = data.layout.map((s) => s.y);
      const maxX = Math.max(1, ...xs) + 1.5, maxY = Math.max(1, ...ys) + 1.5;
      floor.setAttribute("viewBox", "0 0 " + maxX + " " + maxY);
      for (const s of data.layout) {
        const st = state[s.seat];
        const cls = !st ? "unknown" : st.covered ? "covered" : "uncovered";
        const g = svg("g", { "class": "seat " + cls, "data-seat": s.seat });
        g.append(svg("rect", { x: s.x - 0.55, y: s.y - 0.4, width: 1.1, height: 0.8, rx: 0.12 }),
                 svg("text", { x: s.x, y: s.y + 0.12, "text-anchor": "middle" }, s.seat),
                 svg("title", {}, s.seat + " (" + s.customer + "): " +
                     (!st ? "not judged yet" : st.covered ? "covered by " + st.camera : st.reasons.join(", "))));
        floor.append(g);
      }
      document.getElementById("percent").textContent = data.percent === null ? "–" : data.percent + " % covered";
      const list = document.getElementById("uncovered");
      list.replaceChildren();
      for (const s of data.seats.filter((x) => !x.covered)) {
        const li = el("li", s.seat + " (" + s.customer + "): " + s.reasons.join(", ").replace(/_/g, " "), "sev-critical");
        li.dataset.seat = s.seat;
        list.append(li);
      }
      if (!list.children.length) list.append(el("li", "every judged seat is covered", "muted"));
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      document.getElementById("updated").textContent = "controller unreachable, retrying…";
    }
  }
  siteSel.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 3000);
})();
