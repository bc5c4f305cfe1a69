// Seats page: a floor map of the seats coloured by coverage, the reasons of those not covered,
// the coverage line of the last 24 h, and per seat its camera frame with the polygons and the
// detections drawn, its timeline and (for officers) calibration by clicking on a snapshot.
"use strict";
i18n.ready.then(function () {
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
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const d = body.detail;
      const msg = typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : r.statusText;
      throw new Error(msg);
    }
    return body;
  }

  const words = i18n.reasons;

  // Hour ticks the server prepared in the site's time zone (controller/timeline.py): each at its
  // share of the window, drawn between x0 and x1 from y top to the axis at y base.
  function drawTicks(target, ticks, x0, x1, top, base, labelY) {
    target.append(svg("line", { x1: x0, y1: base, x2: x1, y2: base, "class": "axis" }));
    for (const t of ticks || []) {
      const x = x0 + (x1 - x0) * t.x;
      const anchor = t.x < 0.02 ? "start" : t.x > 0.98 ? "end" : "middle";
      target.append(svg("g", { "class": "tick" + (t.hour ? " hour" : "") + (t.day ? " day" : ""), "data-at": t.at },
        undefined));
      target.lastChild.append(svg("line", { x1: x, y1: top, x2: x, y2: base + 2 }),
                              svg("text", { x: x, y: labelY, "text-anchor": anchor }, t.label));
    }
  }

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
                 svg("title", {}, _("{seat} ({customer}): {state}", { seat: s.seat, customer: s.customer,
                     state: !st ? _("not judged yet") : st.covered ? _("covered by {camera}", { camera: st.camera }) : words(st.reasons) })));
        g.addEventListener("click", () => openSeat(s.seat));
        floor.append(g);
      }
      const percent = document.getElementById("percent");
      percent.textContent = data.percent === null ? "–" : _("{percent} % covered", { percent: data.percent });
      percent.dataset.percent = data.percent === null ? "" : data.percent;
      const list = document.getElementById("uncovered");
      list.replaceChildren();
      for (const s of data.seats.filter((x) => !x.covered)) {
        const li = el("li", _("{seat} ({customer}): {state}", { seat: s.seat, customer: s.customer, state: words(s.reasons) }), "sev-critical");
        li.dataset.seat = s.seat;
        li.addEventListener("click", () => openSeat(s.seat));
        list.append(li);
      }
      if (!list.children.length) list.append(el("li", _("every judged seat is covered"), "muted"));
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
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
    chart.append(svg("text", { x: 0, y: y(100) + 3 }, "100"), svg("text", { x: 8, y: y(0) + 3 }, "0"));
    drawTicks(chart, data.ticks, 20, 295, y(100), y(0), 80);
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
    chart.append(svg("title", {}, now === null ? _("no seat judged in the last 24 h") : _("now {percent} %", { percent: now })));
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
      document.getElementById("seat-summary").textContent = _("cannot load the seat: {error}", { error: e.message });
      return;
    }
    const st = detail.state;
    const badge = document.getElementById("seat-badge");
    badge.textContent = !st ? _("not judged yet") : st.covered ? _("covered") : _("not covered");
    badge.className = "badge " + (!st ? "" : st.covered ? "ok" : "sev-critical");
    badge.dataset.state = !st ? "unknown" : st.covered ? "covered" : "uncovered";
    const summary = document.getElementById("seat-summary");
    summary.textContent = [detail.customer,
      !st ? _("no verdict yet") : st.covered ? _("covered by {camera}", { camera: st.camera })
        : _("not covered: {reasons}", { reasons: words(st.reasons) }),
      !st ? null : st.occupied === true ? _("occupied") : st.occupied === false ? _("empty") : null,
    ].filter(Boolean).join(" · ");
    summary.dataset.occupied = st && st.occupied !== null && st.occupied !== undefined ? String(st.occupied) : "";
    summary.dataset.reasons = st ? (st.reasons || []).join(" ") : "";
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
      line.textContent = v.allowed ? _("Customer data may be shown at this seat now.")
        : _("Customer data must not be shown at this seat now: {reasons}.", { reasons: words(v.reasons) });
      line.className = v.allowed ? "ok-text" : "sev-critical";
      line.dataset.allowed = String(v.allowed);
      line.dataset.reasons = (v.reasons || []).join(" ");
    } catch (e) {
      line.textContent = _("cannot check the work policy: {error}", { error: e.message });
    }
  }

  async function checkPerson(ev) {
    ev.preventDefault();
    const answer = document.getElementById("policy-answer");
    const person = document.getElementById("policy-person").value.trim();
    if (!selected || !person) return;
    try {
      const v = await getJSON(policyURL(selected, person));
      answer.textContent = v.allowed ? _("{person} may work here now", { person: person })
        : _("{person} may not: {reasons}", { person: person, reasons: words(v.reasons) });
      answer.className = v.allowed ? "ok-text" : "sev-critical";
      answer.dataset.allowed = String(v.allowed);
      answer.dataset.reasons = (v.reasons || []).join(" ");
    } catch (e) {
      answer.textContent = _("cannot check: {error}", { error: e.message });
      answer.className = "";
    }
  }

  async function loadFrame(seat) {
    const note = document.getElementById("seat-frame-note");
    note.textContent = _("loading the camera frame…");
    let frame;
    try {
      frame = await getJSON("/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(seat) + "/frame");
    } catch (e) {
      note.textContent = _("no camera frame: {error}", { error: e.message });
      return;
    }
    if (selected !== seat || cal) return;
    const img = new Image();
    img.onload = () => {
      drawFrame(img, frame.width, frame.seats, frame.detections);
      const judged = { camera: frame.camera, time: i18n.time(new Date(frame.judged_at * 1000)) };
      note.textContent = frame.reasons && frame.reasons.length
        ? _("{camera}, judged {time} · {reasons}", Object.assign({ reasons: words(frame.reasons) }, judged))
        : _("{camera}, judged {time}", judged);
      note.dataset.camera = frame.camera;
      const views = document.getElementById("seat-views");
      views.replaceChildren();
      for (const v of (detail.state && detail.state.views) || []) {
        const li = el("li", [_("{camera}: {verdict}", { camera: v.camera, verdict: v.reasons.length ? words(v.reasons) : _("covers the seat") }),
          _("screen {px} px", { px: v.screen_px }),
          v.person_seen === null || v.person_seen === undefined ? null : v.person_seen ? _("person seen") : _("no person"),
        ].filter(Boolean).join(" · "));
        li.dataset.camera = v.camera;
        li.dataset.personSeen = v.person_seen === null || v.person_seen === undefined ? "" : String(v.person_seen);
        views.append(li);
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
      const what = label === "person" ? _("person") : label === "screen" ? _("screen") : label;
      ctx.fillText(_("{label} {score}", { label: what, score: Number(score).toFixed(2) }), x1 * k + 2, Math.max(12, y1 * k - 4));
    }
    if (draft) poly(draft.points, COLOURS.draft, true);
  }

  function drawTimeline(d) {
    const tl = document.getElementById("seat-timeline");
    tl.replaceChildren();
    const t0 = Date.parse(d.since), t1 = Date.parse(d.until);
    drawTicks(tl, d.ticks, 0, 1000, 0, 34, 52);
    const list = document.getElementById("seat-history");
    list.replaceChildren();
    const share = document.getElementById("seat-share");
    share.textContent = d.covered_share === null ? ""
      : _("proven covered {percent} % of the time (time not judged counts against)", { percent: d.covered_share });
    share.dataset.share = d.covered_share === null ? "" : d.covered_share;
    for (const s of d.history) {
      const a = 1000 * (Date.parse(s.start) - t0) / (t1 - t0), b = 1000 * (Date.parse(s.end) - t0) / (t1 - t0);
      const cls = s.covered === null ? "unknown" : s.covered ? "covered" : "uncovered";
      const r = svg("rect", { x: a, y: 2, width: Math.max(0.5, b - a), height: 30, "class": "seg " + cls });
      const span = { start: i18n.dateTime(s.start), end: i18n.time(s.end) };
      r.append(svg("title", {}, _("{start} – {end}: {state}", Object.assign({
        state: s.covered === null ? (s.reasons.length ? _("not judged ({reasons})", { reasons: words(s.reasons) }) : _("not judged"))
          : s.covered ? _("covered") : words(s.reasons) }, span))));
      tl.append(r);
      if (s.covered === false || (s.covered === null && s.reasons.length)) {  // losses and edge outages
        const li = el("li", _("{start} – {end}: {state}", Object.assign({ state: words(s.reasons) }, span)), "sev-critical");
        li.dataset.reasons = s.reasons.join(" ");
        list.append(li);
      }
    }
  }

  // --- calibration (officers) ------------------------------------------------------------------

  async function fillCalibration(note) {
    const sel = document.getElementById("cal-camera");
    if (!sel) return;
    // The seat's own views at once (a click on "calibrate" must find a camera), others when known.
    const views = detail.views;
    sel.replaceChildren(...views.map((v) => new Option(_("{camera} (current view)", { camera: v.camera }), v.camera)));
    let cameras = [];
    try { cameras = (await getJSON("/api/cameras")).filter((c) => String(c.site_id) === siteSel.value); } catch (e) { /* seat views only */ }
    if (detail.views !== views) return;  // another seat was opened meanwhile
    const ids = new Set(views.map((v) => v.camera));
    for (const c of cameras) if (!ids.has(c.camera)) sel.append(new Option(_("{camera} (new view)", { camera: c.camera }), c.camera));
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
    if (!camera) { status.textContent = _("choose a camera first"); return; }
    const current = detail.views.find((v) => v.camera === camera);
    let resolution = current ? current.resolution : null;
    if (!resolution) {
      const cams = await getJSON("/api/cameras").catch(() => []);
      const c = cams.find((x) => x.camera === camera && String(x.site_id) === siteSel.value);
      resolution = c && c.resolution;
    }
    status.textContent = _("loading the snapshot…");
    const r = await fetch("/api/cameras/" + siteSel.value + "/" + encodeURIComponent(camera) + "/snapshot",
      { credentials: "same-origin" });
    if (!r.ok) {
      status.textContent = _("no snapshot: {error}", { error: (await r.json().catch(() => ({}))).detail || r.statusText });
      return;
    }
    const img = new Image();
    img.onload = () => {
      cal = { camera, resolution, image: img,
              zones: { seat: current ? current.seat_zone.map((p) => p.slice()) : [],
                       screen: current ? current.screen_zone.map((p) => p.slice()) : [] },
              redrawn: { seat: false, screen: false } };
      document.getElementById("seat-canvas").classList.add("calibrating");
      status.textContent = calZone() === "seat" ? _("click the corners of the seat zone") : _("click the corners of the screen zone");
      status.dataset.step = "clicking";
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
    const status = document.getElementById("cal-status");
    const n = cal.zones[zone].length;
    status.textContent = zone === "seat" ? ngettext("seat zone: {n} point", "seat zone: {n} points", n)
      : ngettext("screen zone: {n} point", "screen zone: {n} points", n);
    status.dataset.points = n;
    redrawCalibration();
  }

  async function saveCalibration() {
    const status = document.getElementById("cal-status");
    if (!cal) { status.textContent = _("load a snapshot first"); return; }
    try {
      const body = JSON.stringify({ seat: cal.zones.seat, screen: cal.zones.screen });
      const res = await getJSON("/api/sites/" + siteSel.value + "/seats/" + encodeURIComponent(selected) +
        "/views/" + encodeURIComponent(cal.camera), { method: "PUT", body, headers: { "Content-Type": "application/json",
          "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content } });
      status.textContent = res.changed
        ? ngettext("saved: site config version {version}, sent to {n} agent", "saved: site config version {version}, sent to {n} agents",
                   res.pushed_to_agents, { version: res.version })
        : _("nothing changed");
      status.dataset.version = res.version;
      document.getElementById("seat-canvas").classList.remove("calibrating");
      const seat = selected;
      cal = null;
      await openSeat(seat, status.textContent);
    } catch (e) {
      status.textContent = _("not saved: {error}", { error: e.message });
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
  if (location.hash.length > 1) openSeat(decodeURIComponent(location.hash.slice(1)));  // from an event or alarm
  refreshChart();
  setInterval(refresh, 3000);
  setInterval(refreshChart, 30000);
});
