// Seats page: a floor map of the seats coloured by coverage, the reasons of those not covered,
// the coverage line of the last 24 h, and per seat its camera frame with the polygons and the
// detections drawn, its timeline and (for officers) calibration by clicking on a snapshot.
"use strict";
(function () {
  const siteSel = document.getElementById("site");
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = { seat: "#ffc800", screen: "#00c8ff", person: "#3cdc3c", screenBox: "#dc3cdc", draft: "#1f6feb" };
  let selected = null;       // seat id shown in the panel
  let detail = null;         // its /seats/{id} answer
  let cal = null;            // calibration: {camera, resolution, image, zones: {seat, screen}}

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

  async function getJSON(url, options) {
    const r = await fetch(url, { credentials: "same-origin", ...(options || {}) });
    if (r.status === 401) { location.href = "/login"; throw new Error("signed out"); }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const d = body.detail;
      const msg = typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : r.statusText;
      throw new Error(msg);
    }
    return body;
  }

  const words = (reasons) => (reasons || []).join(", ").replace(/_/g, " ");

  async function refresh() {
    try {
      const data = await getJSON("/api/sites/" + siteSel.value + "/seats");
      const state = Object.fromEntries(data.seats.map((s) => [s.seat, s]));
      const floor = document.getElementById("floor");
      floor.replaceChildren();
      const xs = data.layout.map((s) => s.x), ys = data.layout.map((s) => s.y);
      const maxX = Math.max(1, ...xs) + 1.5, maxY = Math.max(1, ...ys) + 1.5;
      floor.setAttribute("viewBox", "0 0 " + maxX + " " + maxY);
      for (const s of data.layout) {
        const st = state[s.seat];
        const cls = !st ? "unknown" : st.covered ? "covered" : "uncovered";
        const g = svg("g", { "class": "seat " + cls + (s.seat === selected ? " selected" : ""), "data-seat": s.seat });
        g.append(svg("rect", { x: s.x - 0.55, y: s.y - 0.4, width: 1.1, height: 0.8, rx: 0.12 }),
                 svg("text", { x: s.x, y: s.y + 0.12, "text-anchor": "middle" }, s.seat),
                 svg("title", {}, s.seat + " (" + s.customer + "): " +
                     (!st ? "not judged yet" : st.covered ? "covered by " + st.camera : words(st.reasons))));
        g.addEventListener("click", () => openSeat(s.seat));
        floor.append(g);
      }
      document.getElementById("percent").textContent = data.percent === null ? "–" : data.percent + " % covered";
      const list = document.getElementById("uncovered");
      list.replaceChildren();
      for (const s of data.seats.filter((x) => !x.covered)) {
        const li = el("li", s.seat + " (" + s.customer + "): " + words(s.reasons), "sev-critical");
        li.dataset.seat = s.seat;
        li.addEventListener("click", () => openSeat(s.seat));
        list.append(li);
      }
      if (!list.children.length) list.append(el("li", "every judged seat is covered", "muted"));
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      document.getElementById("updated").textContent = "controller unreachable, retrying…";
    }
  }

  async function refreshChart() {
    let data;
    try { data = await getJSON("/api/sites/" + siteSel.value + "/coverage/history?hours=24"); } catch (e) { return; }
    const chart = document.getElementById("coverage-chart");
    chart.replaceChildren();
    const t0 = Date.parse(data.since), t1 = Date.parse(data.until);
    const x = (t) => 20 + 275 * (t - t0) / Math.max(1, t1 - t0);
    const y = (p) => 70 - 0.6 * p;
    chart.append(svg("text", { x: 0, y: y(100) + 3 }, "100"), svg("text", { x: 8, y: y(0) + 3 }, "0"),
                 svg("line", { x1: 20, y1: y(0), x2: 295, y2: y(0), stroke: "#9aa5b1", "stroke-width": 0.5 }));
    let d = "", last = null;
    for (const pt of data.percent) {
      if (pt.percent === null) { last = null; continue; }
      const px = x(Date.parse(pt.at)), py = y(pt.percent);
      d += last === null ? "M" + px + "," + py : "H" + px + "V" + py;
      last = py;
    }
    if (last !== null) d += "H" + x(t1);
    if (d) chart.append(svg("path", { d: d, "data-points": String(data.percent.length) }));
    const now = data.percent.length ? data.percent[data.percent.length - 1].percent : null;
    chart.append(svg("title", {}, now === null ? "no seat judged in the last 24 h" : "now " + now + " %"));
  }

  // --- one seat ---------------------------------------------------------------------------------

  async function openSeat(seat, calNote) {
    selected = seat;
    cal = null;
    const panel = document.getElementById("seat-panel");
    panel.hidden = false;
    document.getElementById("seat-name").textContent = seat;
    document.querySelectorAll("#floor g.seat").forEach((g) => g.classList.toggle("selected", g.dataset.seat === seat));
    try {
      detail = await getJSON("/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(seat));
    } catch (e) {
      document.getElementById("seat-summary").textContent = "cannot load the seat: " + e.message;
      return;
    }
    const st = detail.state;
    const badge = document.getElementById("seat-badge");
    badge.textContent = !st ? "not judged yet" : st.covered ? "covered" : "not covered";
    badge.className = "badge " + (!st ? "" : st.covered ? "ok" : "sev-critical");
    document.getElementById("seat-summary").textContent = detail.customer + " · " +
      (!st ? "no verdict yet" : (st.covered ? "covered by " + st.camera : "not covered: " + words(st.reasons)) +
        (st.occupied === true ? " · occupied" : st.occupied === false ? " · empty" : ""));
    drawTimeline(detail);
    fillCalibration(calNote || "");
    loadFrame(seat);
    showPolicy(seat);
  }

  // --- the work policy: may this seat's customer's data be shown here (to this person) ----------

  function policyURL(seat, person) {
    return "/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(seat) + "/policy" +
      (person ? "?person=" + encodeURIComponent(person) : "");
  }

  async function showPolicy(seat) {
    const line = document.getElementById("seat-policy");
    const answer = document.getElementById("policy-answer");
    if (answer) answer.textContent = "";
    try {
      const v = await getJSON(policyURL(seat));
      line.textContent = v.allowed ? "Customer data may be shown at this seat now."
        : "Customer data must not be shown at this seat now: " + words(v.reasons) + ".";
      line.className = v.allowed ? "ok-text" : "sev-critical";
    } catch (e) {
      line.textContent = "cannot check the work policy: " + e.message;
    }
  }

  async function checkPerson(ev) {
    ev.preventDefault();
    const answer = document.getElementById("policy-answer");
    const person = document.getElementById("policy-person").value.trim();
    if (!selected || !person) return;
    try {
      const v = await getJSON(policyURL(selected, person));
      answer.textContent = v.allowed ? person + " may work here now" : person + " may not: " + words(v.reasons);
      answer.className = v.allowed ? "ok-text" : "sev-critical";
    } catch (e) {
      answer.textContent = "cannot check: " + e.message;
      answer.className = "";
    }
  }

  async function loadFrame(seat) {
    const note = document.getElementById("seat-frame-note");
    note.textContent = "loading the camera frame…";
    let frame;
    try {
      frame = await getJSON("/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(seat) + "/frame");
    } catch (e) {
      note.textContent = "no camera frame: " + e.message;
      return;
    }
    if (selected !== seat || cal) return;
    const img = new Image();
    img.onload = () => {
      drawFrame(img, frame.width, frame.seats, frame.detections);
      note.textContent = frame.camera + ", judged " + new Date(frame.judged_at * 1000).toLocaleTimeString() +
        (frame.reasons && frame.reasons.length ? " · " + words(frame.reasons) : "");
      const views = document.getElementById("seat-views");
      views.replaceChildren();
      for (const v of (detail.state && detail.state.views) || []) {
        views.append(el("li", v.camera + ": " + (v.reasons.length ? words(v.reasons) : "covers the seat") +
          " · screen " + v.screen_px + " px" + (v.person_seen === null || v.person_seen === undefined ? "" :
            v.person_seen ? " · person seen" : " · no person")));
      }
    };
    img.src = "data:image/jpeg;base64," + frame.jpeg_b64;
  }

  function drawFrame(img, mainWidth, zones, boxes, draft) {
    const canvas = document.getElementById("seat-canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const k = img.naturalWidth / mainWidth;
    const poly = (pts, colour, dash) => {
      if (!pts || !pts.length) return;
      ctx.beginPath();
      ctx.setLineDash(dash ? [6, 4] : []);
      pts.forEach(([px, py], i) => (i ? ctx.lineTo(px * k, py * k) : ctx.moveTo(px * k, py * k)));
      if (!dash) ctx.closePath();
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.stroke();
      if (dash) for (const [px, py] of pts) { ctx.fillStyle = colour; ctx.fillRect(px * k - 3, py * k - 3, 6, 6); }
    };
    ctx.font = "12px sans-serif";
    for (const z of zones || []) {
      poly(z.seat_zone, COLOURS.seat);
      poly(z.screen_zone, COLOURS.screen);
      ctx.fillStyle = COLOURS.seat;
      ctx.fillText(z.seat, z.seat_zone[0][0] * k + 4, z.seat_zone[0][1] * k + 14);
    }
    for (const [x1, y1, x2, y2, label, score] of boxes || []) {
      ctx.setLineDash([]);
      ctx.strokeStyle = label === "person" ? COLOURS.person : COLOURS.screenBox;
      ctx.strokeRect(x1 * k, y1 * k, (x2 - x1) * k, (y2 - y1) * k);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(label + " " + Number(score).toFixed(2), x1 * k + 2, Math.max(12, y1 * k - 4));
    }
    if (draft) poly(draft.points, COLOURS.draft, true);
  }

  function drawTimeline(d) {
    const tl = document.getElementById("seat-timeline");
    tl.replaceChildren();
    const t0 = Date.parse(d.since), t1 = Date.parse(d.until);
    const list = document.getElementById("seat-history");
    list.replaceChildren();
    document.getElementById("seat-share").textContent = d.covered_share === null ? ""
      : "proven covered " + d.covered_share + " % of the time (time not judged counts against)";
    for (const s of d.history) {
      const a = 1000 * (Date.parse(s.start) - t0) / (t1 - t0), b = 1000 * (Date.parse(s.end) - t0) / (t1 - t0);
      const cls = s.covered === null ? "unknown" : s.covered ? "covered" : "uncovered";
      const r = svg("rect", { x: a, y: 0, width: Math.max(0.5, b - a), height: 30, "class": "seg " + cls });
      r.append(svg("title", {}, new Date(s.start).toLocaleString() + " – " + new Date(s.end).toLocaleTimeString() +
        ": " + (s.covered === null ? "not judged" + (s.reasons.length ? " (" + words(s.reasons) + ")" : "")
          : s.covered ? "covered" : words(s.reasons))));
      tl.append(r);
      if (s.covered === false || (s.covered === null && s.reasons.length)) {  // losses and edge outages
        list.append(el("li", new Date(s.start).toLocaleString() + " – " + new Date(s.end).toLocaleTimeString() +
          ": " + words(s.reasons), "sev-critical"));
      }
    }
  }

  // --- calibration (officers) ------------------------------------------------------------------

  async function fillCalibration(note) {
    const sel = document.getElementById("cal-camera");
    if (!sel) return;
    // The seat's own views at once (a click on "calibrate" must find a camera), others when known.
    const views = detail.views;
    sel.replaceChildren(...views.map((v) => new Option(v.camera + " (current view)", v.camera)));
    let cameras = [];
    try { cameras = (await getJSON("/api/cameras")).filter((c) => String(c.site_id) === siteSel.value); } catch (e) { /* seat views only */ }
    if (detail.views !== views) return;  // another seat was opened meanwhile
    const ids = new Set(views.map((v) => v.camera));
    for (const c of cameras) if (!ids.has(c.camera)) sel.append(new Option(c.camera + " (new view)", c.camera));
    document.getElementById("cal-status").textContent = note;  // written last: nothing overwrites it
  }

  function calZone() {
    return document.querySelector("input[name=cal-zone]:checked").value;
  }

  function redrawCalibration() {
    const zones = [{ seat: selected, seat_zone: cal.zones.seat, screen_zone: cal.zones.screen }];
    drawFrame(cal.image, cal.resolution[0], zones.filter((z) => z.seat_zone.length || z.screen_zone.length), [],
      { points: cal.zones[calZone()] });
  }

  async function startCalibration() {
    const camera = document.getElementById("cal-camera").value;
    const status = document.getElementById("cal-status");
    if (!camera) { status.textContent = "choose a camera first"; return; }
    const current = detail.views.find((v) => v.camera === camera);
    let resolution = current ? current.resolution : null;
    if (!resolution) {
      const cams = await getJSON("/api/cameras").catch(() => []);
      const c = cams.find((x) => x.camera === camera && String(x.site_id) === siteSel.value);
      resolution = c && c.resolution;
    }
    status.textContent = "loading the snapshot…";
    const r = await fetch("/api/cameras/" + siteSel.value + "/" + encodeURIComponent(camera) + "/snapshot",
      { credentials: "same-origin" });
    if (!r.ok) { status.textContent = "no snapshot: " + ((await r.json().catch(() => ({}))).detail || r.statusText); return; }
    const img = new Image();
    img.onload = () => {
      cal = { camera, resolution, image: img,
              zones: { seat: current ? current.seat_zone.map((p) => p.slice()) : [],
                       screen: current ? current.screen_zone.map((p) => p.slice()) : [] },
              redrawn: { seat: false, screen: false } };
      document.getElementById("seat-canvas").classList.add("calibrating");
      status.textContent = "click the corners of the " + calZone() + " zone";
      redrawCalibration();
    };
    img.src = URL.createObjectURL(await r.blob());
  }

  function onCanvasClick(ev) {
    if (!cal) return;
    const canvas = ev.currentTarget;
    const rect = canvas.getBoundingClientRect();
    const k = cal.resolution[0] / canvas.width;  // canvas pixels -> main-stream pixels
    const x = Math.round((ev.clientX - rect.left) * canvas.width / rect.width * k);
    const y = Math.round((ev.clientY - rect.top) * canvas.height / rect.height * k);
    const zone = calZone();
    if (!cal.redrawn[zone]) { cal.zones[zone] = []; cal.redrawn[zone] = true; }  // the first click starts it anew
    cal.zones[zone].push([x, y]);
    document.getElementById("cal-status").textContent = calZone() + " zone: " + cal.zones[calZone()].length + " points";
    redrawCalibration();
  }

  async function saveCalibration() {
    const status = document.getElementById("cal-status");
    if (!cal) { status.textContent = "load a snapshot first"; return; }
    try {
      const body = JSON.stringify({ seat: cal.zones.seat, screen: cal.zones.screen });
      const res = await getJSON("/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(selected) +
        "/views/" + encodeURIComponent(cal.camera), { method: "PUT", body, headers: { "Content-Type": "application/json",
          "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content } });
      status.textContent = res.changed ? "saved: site config version " + res.version + ", sent to " + res.pushed_to_agents + " agent(s)"
        : "nothing changed";
      document.getElementById("seat-canvas").classList.remove("calibrating");
      const seat = selected;
      cal = null;
      await openSeat(seat, status.textContent);
    } catch (e) {
      status.textContent = "not saved: " + e.message;
    }
  }

  document.getElementById("seat-canvas").addEventListener("click", onCanvasClick);
  document.getElementById("seat-close").addEventListener("click", () => {
    selected = null; cal = null; document.getElementById("seat-panel").hidden = true;
  });
  const policyForm = document.getElementById("policy-check");
  if (policyForm) policyForm.addEventListener("submit", checkPerson);
  const on = (id, fn) => { const e = document.getElementById(id); if (e) e.addEventListener("click", fn); };
  on("cal-start", startCalibration);
  on("cal-save", saveCalibration);
  on("cal-undo", () => { if (cal) { cal.zones[calZone()].pop(); redrawCalibration(); } });
  document.querySelectorAll("input[name=cal-zone]").forEach((r) => r.addEventListener("change", () => {
    if (cal) redrawCalibration();
  }));
  siteSel.addEventListener("change", () => { refresh(); refreshChart(); });
  refresh();
  refreshChart();
  setInterval(refresh, 3000);
  setInterval(refreshChart, 30000);
})();
