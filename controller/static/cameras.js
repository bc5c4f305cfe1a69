// Camera grid: one card per camera, snapshot refreshed in turn, state from /api/cameras.
"use strict";
i18n.ready.then(function () {
  const grid = document.getElementById("camera-grid");
  const cards = new Map();

  function card(cam) {
    const key = cam.site_id + "/" + cam.camera;
    let c = cards.get(key);
    if (c) return c;
    const a = document.createElement("a");
    a.className = "camera-card";
    a.href = "/cameras/" + cam.site_id + "/" + encodeURIComponent(cam.camera);
    a.dataset.camera = cam.camera;
    const img = document.createElement("img");
    img.alt = _("snapshot of {camera}", { camera: cam.camera });
    const title = document.createElement("div");
    title.className = "cam-title";
    const state = document.createElement("span");
    state.className = "badge";
    const info = document.createElement("div");
    info.className = "muted small";
    a.append(img, title, state, info);
    grid.appendChild(a);
    c = { a, img, title, state, info, cam };
    cards.set(key, c);
    return c;
  }

  function draw(cams) {
    for (const cam of cams) {
      const c = card(cam);
      c.cam = cam;
      c.title.textContent = cam.camera + " · " + cam.name;
      c.state.textContent = i18n.cameraState(cam.state);
      c.state.dataset.state = cam.state;
      c.state.className = "badge state-" + cam.state;
      const h = cam.health || {};
      const parts = [];
      if (h.fps) parts.push(_("{fps} fps", { fps: h.fps.toFixed(1) }));
      if (h.bitrate_bps) parts.push(_("{mbits} Mbit/s", { mbits: (h.bitrate_bps / 1e6).toFixed(2) }));
      if (cam.detail) parts.push(cam.detail);
      c.info.textContent = parts.join(" · ");
    }
  }

  async function refresh() {
    try {
      const r = await fetch("/api/cameras", { credentials: "same-origin" });
      if (r.status === 401) { location.href = "/login"; return; }
      draw(await r.json());
      document.getElementById("updated").textContent = _("updated {time}", { time: i18n.time(new Date()) });
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
    }
    setTimeout(refresh, 3000);
  }

  // Snapshots one camera at a time so the edge link is not flooded.
  let turn = 0;
  function nextSnapshot() {
    const list = Array.from(cards.values());
    if (list.length) {
      const c = list[turn++ % list.length];
      const url = "/api/cameras/" + c.cam.site_id + "/" + encodeURIComponent(c.cam.camera) + "/snapshot?t=" + Date.now();
      const probe = new Image();
      probe.onload = () => { c.img.src = probe.src; c.a.classList.remove("no-picture"); };
      probe.onerror = () => c.a.classList.add("no-picture");
      probe.src = url;
    }
    setTimeout(nextSnapshot, Math.max(500, 4000 / Math.max(1, list.length)));
  }
  refresh();
  nextSnapshot();
});
