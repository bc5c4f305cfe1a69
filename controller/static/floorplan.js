// Floor plan page: per area the work area, walls and occluders, cameras with what they see of the
// floor, blind patches in red, seats by coverage, gates with their state and who passed last, the
// blind area in m² and as a share; officers calibrate a camera by clicking the same floor points
// on its snapshot and on the plan.
"use strict";
i18n.ready.then(function () {
  const siteSel = document.getElementById("site");
  const canCalibrate = JSON.parse(document.getElementById("can-calibrate").textContent);
  let view = null;   // the /floorplan answer
  let cal = null;    // {area, camera, image, pairs: [{image, floor}], pending}

  const { el, svg, getJSON } = pageKit;

  const pts = (ring) => ring.map((p) => p[0] + "," + p[1]).join(" ");
  const num = (x, digits) => Number(x).toFixed(digits);

  function planSvg(area, target) {
    const [x0, y0, x1, y1] = area.bounds;
    const pad = 1;
    target.setAttribute("viewBox", [x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad].join(" "));
    target.replaceChildren();
    if (area.background) {
      target.append(svg("image", { href: area.background, x: x0, y: y0, width: x1 - x0, height: y1 - y0,
        preserveAspectRatio: "none" }));
    }
    target.append(svg("polygon", { points: pts(area.outline), class: "outline" }));
    return target;
  }

  function drawArea(area) {
    const card = el("section", undefined, "card floor-area");
    card.dataset.area = area.area;
    const h = el("h2", area.name + " ");
    const badge = el("span", _("blind {m2} m² ({share} %)", { m2: num(area.blind_m2, 2),
      share: num(area.blind_share * 100, 2) }), "badge " + (area.alarm ? "bad" : "ok"));
    badge.className += " blind-summary";
    h.append(badge);
    card.append(h);
    card.append(el("p", _("work area {m2} m² · alarm above {limit} m² per patch",
      { m2: num(area.work_area_m2, 1), limit: area.max_blind_m2 }), "muted"));
    if (area.alarm) card.append(el("p", area.alarm.message, "alarm-line sev-critical"));
    const plan = planSvg(area, svg("svg", { class: "floor", role: "img" }));
    plan.setAttribute("aria-label", _("floor plan of {area}", { area: area.name }));
    for (const cam of area.cameras) {
      for (const ring of cam.footprint) {
        plan.append(svg("polygon", { points: pts(ring), class: "footprint" + (cam.live ? "" : " dark"),
          "data-camera": cam.camera }));
      }
    }
    for (const occ of area.occluders) plan.append(svg("polygon", { points: pts(occ), class: "occluder" }));
    for (const wall of area.walls) plan.append(svg("polyline", { points: pts(wall), class: "wall" }));
    for (const patch of area.blind_patches) {
      const p = svg("polygon", { points: pts(patch.points), class: "blind-patch" + (patch.alarm ? " over" : ""),
        "data-m2": patch.m2 });
      p.append(svg("title", {}, _("blind patch, {m2} m²", { m2: num(patch.m2, 2) })));
      plan.append(p);
    }
    for (const seat of area.seats) {
      const g = svg("g", { class: "seat " + (seat.covered ? "covered" : "uncovered"), "data-seat": seat.seat });
      g.append(svg("circle", { cx: seat.position.x, cy: seat.position.y, r: 0.25 }));
      g.append(svg("title", {}, seat.covered ? _("seat {seat}: on video", { seat: seat.seat })
        : _("seat {seat}: in a blind patch", { seat: seat.seat })));
      plan.append(g);
    }
    for (const gate of area.gates) {
      const g = svg("g", { class: "gate", "data-gate": gate.gate });
      g.append(svg("rect", { x: gate.position.x - 0.3, y: gate.position.y - 0.3, width: 0.6, height: 0.6 }));
      const who = gate.last_person ? _("{gate}: {state}, last {person}", { gate: gate.gate, state: gate.state,
        person: gate.last_person }) : _("{gate}: {state}", { gate: gate.gate, state: gate.state });
      g.append(svg("text", { x: gate.position.x + 0.4, y: gate.position.y + 0.1 }, who));
      plan.append(g);
    }
    for (const cam of area.cameras) {
      if (!cam.location) continue;
      const g = svg("g", { class: "camera" + (cam.live ? "" : " dark"), "data-camera": cam.camera });
      g.append(svg("circle", { cx: cam.location.x, cy: cam.location.y, r: 0.22 }));
      g.append(svg("text", { x: cam.location.x + 0.3, y: cam.location.y - 0.25 }, cam.camera));
      plan.append(g);
    }
    card.append(plan);

    const table = el("table", undefined, "cameras-table");
    const head = el("tr");
    for (const t of [_("Camera"), _("State"), _("Sees (m²)"), _("Only it sees (m²)"), _("Calibration"), ""]) head.append(el("th", t));
    table.append(head);
    for (const cam of area.cameras) {
      const tr = el("tr");
      tr.dataset.camera = cam.camera;
      tr.append(el("td", cam.camera + " · " + cam.name));
      tr.append(el("td", cam.state, cam.live ? "ok" : "bad"));
      tr.append(el("td", num(cam.footprint_m2, 1)));
      tr.append(el("td", num(cam.exclusive_m2, 2)));
      tr.append(el("td", cam.calibration ? _("v{version} ({source}), fit {rms} m", { version: cam.calibration.version,
        source: cam.calibration.source === "officer" ? _("officer") : _("site file"),
        rms: num(cam.calibration.rms_m, 3) }) : _("not calibrated")));
      const td = el("td");
      if (canCalibrate) {
        const b = el("button", _("calibrate"));
        b.type = "button";
        b.addEventListener("click", () => startCalibration(area, cam));
        td.append(b);
      }
      tr.append(td);
      table.append(tr);
    }
    card.append(table);
    return card;
  }

  async function refresh() {
    const site = siteSel.value;
    if (!site) return;
    view = await getJSON("/api/sites/" + site + "/floorplan");
    const box = document.getElementById("areas");
    box.replaceChildren();
    if (!view.areas.length) box.append(el("p", _("This site's file has no floor plan."), "muted"));
    for (const area of view.areas) box.append(drawArea(area));
    document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
  }

  // --- calibration ---------------------------------------------------------------------------
  const panel = document.getElementById("cal-panel");
  const canvas = document.getElementById("cal-image");
  const calPlan = document.getElementById("cal-plan");
  const status = document.getElementById("cal-status");

  function drawCalibration() {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (cal.image) ctx.drawImage(cal.image, 0, 0, canvas.width, canvas.height);
    const sx = canvas.width / cal.resolution[0], sy = canvas.height / cal.resolution[1];
    ctx.fillStyle = "#1f6feb";
    ctx.font = "14px sans-serif";
    cal.pairs.forEach((p, i) => {
      if (!p.image) return;
      ctx.beginPath();
      ctx.arc(p.image[0] * sx, p.image[1] * sy, 5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillText(String(i + 1), p.image[0] * sx + 7, p.image[1] * sy - 7);
    });
    planSvg(cal.area, calPlan);
    cal.pairs.forEach((p, i) => {
      if (!p.floor) return;
      calPlan.append(svg("circle", { cx: p.floor[0], cy: p.floor[1], r: 0.15, class: "cal-point" }));
      calPlan.append(svg("text", { x: p.floor[0] + 0.2, y: p.floor[1] - 0.2, class: "cal-point-text" }, String(i + 1)));
    });
    const list = document.getElementById("cal-pairs");
    list.replaceChildren();
    for (const p of cal.pairs) {
      list.append(el("li", _("pixel {image} → floor {floor}", {
        image: p.image ? p.image.map((v) => Math.round(v)).join(", ") : "…",
        floor: p.floor ? p.floor.map((v) => num(v, 2)).join(", ") : "…" })));
    }
    const complete = cal.pairs.filter((p) => p.image && p.floor).length;
    status.textContent = _("{n} point pairs; four or more are needed", { n: complete });
    document.getElementById("cal-save").disabled = complete < 4 || cal.pairs.some((p) => !p.floor);
  }

  async function startCalibration(area, cam) {
    cal = { area: area, camera: cam.camera, resolution: cam.resolution || [1920, 1080], image: null, pairs: [] };
    panel.hidden = false;
    document.getElementById("cal-camera").textContent = cam.camera;
    canvas.height = Math.round(canvas.width * cal.resolution[1] / cal.resolution[0]);
    drawCalibration();
    status.textContent = _("loading the snapshot…");
    const img = new Image();
    img.onload = () => { cal.image = img; drawCalibration(); };
    img.onerror = () => { status.textContent = _("no snapshot: the camera or its site is not reachable"); };
    img.src = "/api/cameras/" + siteSel.value + "/" + encodeURIComponent(cam.camera) + "/snapshot?t=" + Date.now();
    panel.scrollIntoView();
  }

  canvas.addEventListener("click", (ev) => {
    if (!cal) return;
    const last = cal.pairs[cal.pairs.length - 1];
    if (last && !last.floor) { status.textContent = _("now click the same point on the plan"); return; }
    const r = canvas.getBoundingClientRect();
    cal.pairs.push({ image: [(ev.clientX - r.left) / r.width * cal.resolution[0],
      (ev.clientY - r.top) / r.height * cal.resolution[1]], floor: null });
    drawCalibration();
  });

  calPlan.addEventListener("click", (ev) => {
    if (!cal) return;
    const last = cal.pairs[cal.pairs.length - 1];
    if (!last || last.floor) { status.textContent = _("click the point on the snapshot first"); return; }
    const p = calPlan.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    const at = p.matrixTransform(calPlan.getScreenCTM().inverse());
    last.floor = [at.x, at.y];
    drawCalibration();
  });

  document.getElementById("cal-undo").addEventListener("click", () => {
    if (!cal || !cal.pairs.length) return;
    const last = cal.pairs[cal.pairs.length - 1];
    if (last.floor) last.floor = null; else cal.pairs.pop();
    drawCalibration();
  });

  document.getElementById("cal-close").addEventListener("click", () => { panel.hidden = true; cal = null; });

  document.getElementById("cal-save").addEventListener("click", async () => {
    if (!cal) return;
    try {
      const saved = await getJSON("/api/sites/" + siteSel.value + "/cameras/" + encodeURIComponent(cal.camera)
        + "/calibrations", { method: "POST", headers: { "Content-Type": "application/json",
          "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content },
        body: JSON.stringify({ pairs: cal.pairs.filter((p) => p.image && p.floor) }) });
      status.textContent = _("saved as version {version}, fit {rms} m", { version: saved.version, rms: num(saved.rms_m, 3) });
      await refresh();
    } catch (e) {
      status.textContent = _("not saved: {error}", { error: e.message });
    }
  });

  siteSel.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 5000);
});
