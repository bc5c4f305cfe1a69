// The labelling page: one task at a time, its content under a watermark, the tools for the
// project's kind (labels, text spans, image boxes, audio segments), the draft saved a second after
// each change, and the site's policy asked every 3 s: on a no the content leaves the page at once
// (the draft stays), on a yes it comes back.
"use strict";
i18n.ready.then(function () {
  const root = document.getElementById("work");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const projectId = root.dataset.project;
  const kind = root.dataset.kind;
  const labels = JSON.parse(root.dataset.labels || "[]");
  const username = root.dataset.user;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const contentEl = $("content");
  const toolsEl = $("tools");
  const listEl = $("items-list");
  const NS = "http://www.w3.org/2000/svg";
  const BEAT_MS = 2000;  // with the edge pushing a seat change at once, a covered camera hides the content within 5 s
  const SAVE_AFTER_MS = 1000;

  let task = null;        // the task held (the answer of next)
  let result = empty();   // the annotation being made, in the export's shape
  let allowed = true;     // the policy's last answer
  let view = null;        // the content shown now: { destroy(), key(e), pick(label), paint() }
  let loading = false;
  let seq = 0;            // bumped whenever the content is hidden: a late load is dropped
  let dirty = false;
  let saveTimer = null;
  let beatTimer = null;
  let busy = false;
  let current = labels[0] || "";  // the label a new span or box gets

  const reasonText = (code) => i18n.reason(code);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  async function call(method, path, body, extra) {
    const opts = Object.assign({ method, credentials: "same-origin", headers: {} }, extra || {});
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body || {});
    }
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    const data = r.status === 204 ? null : await r.json().catch(() => ({}));
    return { status: r.status, ok: r.ok, data: data || {} };
  }

  function detail(r) {
    const d = r.data.detail;
    return typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : String(r.status);
  }

  function showError(text) { $("work-error").textContent = text || ""; }

  function empty() {
    switch (kind) {
      case "classification": return { label: null };
      case "multi_label": return { labels: [] };
      case "spans": return { spans: [] };
      case "boxes": return { boxes: [] };
      case "transcript": return { segments: [] };
      default: return {};
    }
  }

  const r3 = (x) => Math.round(x * 1000) / 1000;

  // What is sent: exactly the export's shape, numbers rounded.
  function clean() {
    switch (kind) {
      case "classification": return { label: result.label };
      case "multi_label": return { labels: labels.filter((l) => result.labels.includes(l)) };  // the schema's order
      case "spans": return { spans: result.spans.map((s) => ({ start: s.start, end: s.end, label: s.label })) };
      case "boxes": return { boxes: result.boxes.map((b) => ({ label: b.label, x: Math.round(b.x), y: Math.round(b.y),
        w: Math.round(b.w), h: Math.round(b.h) })) };
      case "transcript": return { segments: result.segments.map((s) => ({ start: r3(s.start), end: r3(s.end),
        text: s.text || "", speaker: s.speaker || "" })) };
      default: return Object.assign({}, result);
    }
  }

  // --- the draft ---------------------------------------------------------------------------------

  function setSaveState(state, text) {
    const s = $("save-state");
    s.dataset.state = state;
    s.textContent = text;
  }

  function changed(redraw) {
    dirty = true;
    setSaveState("unsaved", _("unsaved changes"));
    if (redraw !== false) paintSide();
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => saveDraft(false), SAVE_AFTER_MS);
  }

  async function saveDraft(keepalive) {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!task || !dirty) return;
    const id = task.task;
    dirty = false;
    try {
      const r = await call("PUT", "/api/work/tasks/" + id + "/draft", { result: clean() }, keepalive ? { keepalive: true } : {});
      if (!r.ok) { dirty = true; return; }
      if (task && task.task === id && !dirty) setSaveState("saved", _("draft saved {time}", { time: i18n.time(r.data.saved_at) }));
    } catch (e) {
      dirty = true;
    }
  }

  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") saveDraft(true); });
  window.addEventListener("pagehide", () => saveDraft(true));

  // --- the site's policy -------------------------------------------------------------------------

  function hideContent() {
    seq++;
    if (view) { try { view.destroy(); } catch (e) { /* already gone */ } }
    view = null;
    contentEl.replaceChildren();
    toolsEl.replaceChildren();
    delete contentEl.dataset.ready;
  }

  function refuse(reasons) {
    allowed = false;
    hideContent();
    const ul = $("refused-reasons");
    ul.replaceChildren(...(reasons || []).map((code) => { const li = el("li", reasonText(code)); li.dataset.reason = code; return li; }));
    $("refused").hidden = false;
    saveDraft(false);
  }

  function allow() {
    allowed = true;
    $("refused").hidden = true;
  }

  async function beat() {
    if (!task) {
      if (!allowed) loadNext();  // a refused next: ask again
      return;
    }
    let r;
    try { r = await call("POST", "/api/work/tasks/" + task.task + "/heartbeat"); } catch (e) { return; }
    if (!r.ok) {
      if (r.status === 404 || r.status === 409) { showError(detail(r)); loadNext(); }
      return;
    }
    if (!r.data.allowed) { refuse(r.data.reasons); return; }
    task.reserved_until = r.data.reserved_until;
    task.watermark = r.data.watermark || null;
    paintWatermark();
    if (!allowed || !view) { allow(); if (!view && !loading) showContent(); }
  }

  function startBeat() {
    if (!beatTimer) beatTimer = setInterval(beat, BEAT_MS);
  }

  // --- tasks ---------------------------------------------------------------------------------------

  async function loadNext() {
    if (busy) return;
    busy = true;
    try {
      hideContent();
      task = null;
      showError("");
      const r = await call("POST", "/api/work/projects/" + projectId + "/next");
      $("work-empty").hidden = r.status !== 204;
      $("work-task").hidden = r.status !== 200;
      if (r.status === 204) { allow(); return; }
      if (r.status === 403) { refuse(r.data.reasons); return; }
      if (!r.ok) { showError(detail(r)); return; }
      task = r.data;
      $("task-name").textContent = _("task {id}", { id: task.task });
      const d = await call("GET", "/api/work/tasks/" + task.task + "/draft");
      if (d.status === 403) { result = empty(); refuse(d.data.reasons); paintSide(); return; }
      result = Object.assign(empty(), (d.ok && d.data.result) || {});
      dirty = false;
      setSaveState(d.data.saved_at ? "saved" : "", d.data.saved_at ? _("draft saved {time}", { time: i18n.time(d.data.saved_at) }) : "");
      allow();
      paintSide();
      await showContent();
    } finally {
      busy = false;
      startBeat();
      paintWatermark();
    }
  }

  async function showContent() {
    if (!task) return;
    const my = ++seq;
    loading = true;
    try {
      const r = await fetch(task.content, { credentials: "same-origin", cache: "no-store" });
      if (my !== seq) return;
      if (r.status === 403) { const d = await r.json().catch(() => ({})); refuse(d.reasons); return; }
      if (!r.ok) { showError(_("The content could not be loaded ({status}).", { status: r.status })); return; }
      const mark = r.headers.get("X-SiteGuard-Watermark");
      if (mark) { task.watermark = decodeURIComponent(mark); paintWatermark(); }
      const blob = await r.blob();
      if (my !== seq || !allowed) return;
      view = kind === "boxes" ? mountImage(blob) : kind === "transcript" ? mountAudio(blob) : await mountText(blob, my);
    } finally {
      loading = false;
    }
  }

  async function submit() {
    if (!task || busy) return;
    if (kind === "classification" && !result.label) { showError(_("Pick a label first.")); return; }
    busy = true;
    clearTimeout(saveTimer);
    let r;
    try {
      r = await call("POST", "/api/work/tasks/" + task.task + "/submit", { result: clean() });
    } finally {
      busy = false;
    }
    if (r.status === 403) { refuse(r.data.reasons); return; }
    if (!r.ok) { showError(detail(r)); return; }
    dirty = false;
    await loadNext();  // the next task's metadata at once
    setSaveState("submitted", _("submitted: version {version}", { version: r.data.version }));
  }

  function openSkip() {
    if (!task) return;
    $("skip-form").hidden = false;
    $("skip-reason").focus();
  }

  // A reason of blanks is no reason: the form does not go (the API refuses it too).
  function checkReason() {
    const input = $("skip-reason");
    input.setCustomValidity(input.value && !input.value.trim() ? _("Say why you skip this task.") : "");
    return input.checkValidity();
  }

  $("submit").addEventListener("click", submit);
  $("skip").addEventListener("click", openSkip);
  $("skip-cancel").addEventListener("click", () => { $("skip-form").hidden = true; });
  $("work-retry").addEventListener("click", loadNext);
  $("skip-reason").addEventListener("input", checkReason);
  $("skip-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!task) return;
    if (!checkReason()) { $("skip-form").reportValidity(); return; }
    const r = await call("POST", "/api/work/tasks/" + task.task + "/skip", { reason: $("skip-reason").value.trim() });
    if (!r.ok) { showError(detail(r)); return; }
    $("skip-form").hidden = true;
    $("skip-reason").value = "";
    dirty = false;
    clearTimeout(saveTimer);
    await loadNext();
  });

  // --- the side: labels and the list of what was marked -----------------------------------------

  function pick(label) {
    if (kind === "classification") { result.label = label; changed(); return; }
    if (kind === "multi_label") {
      const i = result.labels.indexOf(label);
      if (i >= 0) result.labels.splice(i, 1); else result.labels.push(label);
      changed();
      return;
    }
    current = label;
    if (view && view.pick && view.pick(label)) return;
    paintSide();
  }

  function pressed(label) {
    if (kind === "classification") return result.label === label;
    if (kind === "multi_label") return result.labels.includes(label);
    return current === label;
  }

  function paintSide() {
    const chips = $("labels");
    chips.replaceChildren(...labels.map((label, i) => {
      const b = el("button", null, "chip");
      b.type = "button";
      b.dataset.label = label;
      if (i < 9) b.append(el("kbd", String(i + 1)), " ");
      b.append(label);
      b.setAttribute("aria-pressed", pressed(label) ? "true" : "false");
      b.addEventListener("click", () => pick(label));
      return b;
    }));
    listEl.replaceChildren();
    if (view && view.list) view.list(listEl);
  }

  // --- text: labels, chips, spans ------------------------------------------------------------------

  async function mountText(blob, my) {
    const text = await blob.text();
    if (my !== seq || !allowed) return null;
    const chars = Array.from(text);  // offsets count characters (code points), as the item text does
    const box = el("div", null, "text-content");
    box.id = "text";
    contentEl.append(box);

    function paint() {
      box.replaceChildren();
      if (kind !== "spans") { box.textContent = text; return; }
      let pos = 0;
      for (const s of result.spans.slice().sort((a, b) => a.start - b.start)) {
        if (s.start < pos) continue;
        box.append(document.createTextNode(chars.slice(pos, s.start).join("")));
        const m = el("mark", chars.slice(s.start, s.end).join(""), "span-mark");
        m.dataset.label = s.label;
        m.title = s.label;
        box.append(m);
        pos = s.end;
      }
      box.append(document.createTextNode(chars.slice(pos).join("")));
    }

    function selected() {
      const sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
      const range = sel.getRangeAt(0);
      if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return null;
      const before = document.createRange();
      before.selectNodeContents(box);
      before.setEnd(range.startContainer, range.startOffset);
      const full = box.textContent;
      const a = before.toString().length;
      const b = a + range.toString().length;
      const start = Array.from(full.slice(0, a)).length;
      const end = start + Array.from(full.slice(a, b)).length;
      return end > start ? { start, end } : null;
    }

    function pickSpan(label) {
      if (kind !== "spans") return false;
      const s = selected();
      if (!s) return false;
      result.spans = result.spans.filter((x) => x.end <= s.start || x.start >= s.end);
      result.spans.push({ start: s.start, end: s.end, label });
      result.spans.sort((x, y) => x.start - y.start);
      window.getSelection().removeAllRanges();
      paint();
      changed();
      return true;
    }

    function list(ul) {
      if (kind !== "spans") return;
      const rows = el("ul", null, "plain marked");
      rows.id = "spans";
      result.spans.forEach((s, i) => {
        const li = el("li");
        li.dataset.start = s.start;
        li.dataset.end = s.end;
        li.append(el("span", s.label, "badge"), " ", el("q", chars.slice(s.start, s.end).join("")),
          " ", el("span", s.start + "–" + s.end, "muted small"));
        const x = el("button", "✗", "link");
        x.type = "button";
        x.setAttribute("aria-label", _("remove"));
        x.addEventListener("click", () => { result.spans.splice(i, 1); paint(); changed(); });
        li.append(" ", x);
        rows.append(li);
      });
      ul.append(rows);
    }

    paint();
    contentEl.dataset.ready = "1";
    const v = { destroy() { box.remove(); }, pick: pickSpan, list, paint };
    setTimeout(paintSide);
    return v;
  }

  // --- image: boxes ------------------------------------------------------------------------------

  function mountImage(blob) {
    const url = URL.createObjectURL(blob);
    const stage = el("div", null, "stage");
    const img = new Image();
    img.draggable = false;
    img.alt = "";
    const svg = svgEl("svg", { class: "boxes" });
    stage.append(img, svg);
    contentEl.append(stage);
    let W = 1, H = 1, chosen = -1, drag = null;

    function point(e) {
      const r = svg.getBoundingClientRect();
      return { x: Math.max(0, Math.min(W, (e.clientX - r.left) * W / r.width)),
               y: Math.max(0, Math.min(H, (e.clientY - r.top) * H / r.height)) };
    }

    function paint() {
      svg.replaceChildren();
      const r = svg.getBoundingClientRect();
      const k = r.width ? W / r.width : 1;  // image pixels per screen pixel
      result.boxes.forEach((b, i) => {
        const g = svgEl("g", { class: "box" + (i === chosen ? " selected" : "") });
        g.append(svgEl("rect", { x: b.x, y: b.y, width: b.w, height: b.h, "data-box": i, "stroke-width": 2 * k }));
        const t = svgEl("text", { x: b.x + 3 * k, y: b.y + 14 * k, "font-size": 13 * k });
        t.textContent = b.label;
        g.append(t);
        if (i === chosen) {
          for (const [c, x, y] of [["nw", b.x, b.y], ["ne", b.x + b.w, b.y], ["sw", b.x, b.y + b.h], ["se", b.x + b.w, b.y + b.h]]) {
            g.append(svgEl("rect", { class: "handle", "data-handle": c, x: x - 5 * k, y: y - 5 * k, width: 10 * k, height: 10 * k }));
          }
        }
        svg.append(g);
      });
    }

    img.addEventListener("load", () => {
      W = img.naturalWidth;
      H = img.naturalHeight;
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      stage.dataset.width = W;
      stage.dataset.height = H;
      paint();
      contentEl.dataset.ready = "1";
      paintSide();  // the boxes of a draft listed too
    });
    img.src = url;

    svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      const p = point(e);
      const handle = e.target.dataset && e.target.dataset.handle;
      const hit = e.target.dataset && e.target.dataset.box;
      if (handle && chosen >= 0) {
        const b = result.boxes[chosen];
        const fixed = { x: handle.includes("w") ? b.x + b.w : b.x, y: handle.includes("n") ? b.y + b.h : b.y };
        drag = { mode: "resize", fixed };
      } else if (hit !== undefined) {
        chosen = +hit;
        const b = result.boxes[chosen];
        drag = { mode: "move", dx: p.x - b.x, dy: p.y - b.y };
        current = b.label;
      } else {
        result.boxes.push({ label: current || labels[0] || "", x: p.x, y: p.y, w: 0, h: 0 });
        chosen = result.boxes.length - 1;
        drag = { mode: "new", fixed: p };
      }
      svg.setPointerCapture(e.pointerId);
      paint();
    });
    svg.addEventListener("pointermove", (e) => {
      if (!drag || chosen < 0) return;
      const p = point(e);
      const b = result.boxes[chosen];
      if (drag.mode === "move") {
        b.x = Math.max(0, Math.min(W - b.w, p.x - drag.dx));
        b.y = Math.max(0, Math.min(H - b.h, p.y - drag.dy));
      } else {
        b.x = Math.min(drag.fixed.x, p.x);
        b.y = Math.min(drag.fixed.y, p.y);
        b.w = Math.abs(p.x - drag.fixed.x);
        b.h = Math.abs(p.y - drag.fixed.y);
      }
      paint();
    });
    const end = () => {
      if (!drag) return;
      const b = result.boxes[chosen];
      if (drag.mode === "new" && (b.w < 3 || b.h < 3)) { result.boxes.splice(chosen, 1); chosen = -1; }
      drag = null;
      paint();
      changed();
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);

    function remove(i) {
      result.boxes.splice(i, 1);
      chosen = -1;
      paint();
      changed();
    }

    function list(ul) {
      const rows = el("ul", null, "plain marked");
      rows.id = "boxes";
      result.boxes.forEach((b, i) => {
        const li = el("li", null, i === chosen ? "selected" : "");
        const sel = el("select");
        sel.setAttribute("aria-label", _("class of the box"));
        for (const l of labels) sel.append(new Option(l, l, false, l === b.label));
        sel.addEventListener("change", () => { b.label = sel.value; paint(); changed(); });
        li.append(sel, " ", el("span", Math.round(b.x) + ", " + Math.round(b.y) + " · " + Math.round(b.w) + "×" + Math.round(b.h), "muted small"));
        const x = el("button", "✗", "link");
        x.type = "button";
        x.setAttribute("aria-label", _("remove"));
        x.addEventListener("click", () => remove(i));
        li.append(" ", x);
        li.addEventListener("click", (e) => { if (e.target === li) { chosen = i; paint(); paintSide(); } });
        rows.append(li);
      });
      ul.append(rows);
    }

    return {
      destroy() { stage.remove(); img.removeAttribute("src"); URL.revokeObjectURL(url); },
      pick(label) { if (chosen >= 0) { result.boxes[chosen].label = label; paint(); changed(); } else paintSide(); return true; },
      key(e) { if ((e.key === "Delete" || e.key === "Backspace") && chosen >= 0) { remove(chosen); return true; } return false; },
      list, paint,
    };
  }

  // --- audio: segments with their transcript -----------------------------------------------------

  const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

  function mountAudio(blob) {
    const url = URL.createObjectURL(blob);
    const wave = el("div", null, "wave");
    wave.id = "wave";
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.setAttribute("controlsList", "nodownload noremoteplayback");
    audio.disableRemotePlayback = true;
    contentEl.append(wave, audio);
    const regions = WaveSurfer.Regions.create();
    const ws = WaveSurfer.create({ container: wave, media: audio, height: 120, waveColor: "#8fa3b8",
      progressColor: "#1f6feb", plugins: [regions] });
    const byRegion = new Map();  // region id -> segment
    let active = null, looping = null, rate = 2, restoring = false;

    const play = el("button", _("play / pause"));
    play.type = "button";
    play.addEventListener("click", () => ws.playPause());
    const speed = el("span", null, "badge");
    speed.id = "speed";
    const loop = el("button", _("loop the segment"));
    loop.type = "button";
    loop.id = "loop";
    loop.addEventListener("click", () => toggleLoop());
    toolsEl.append(play, " ", loop, " ", speed);

    function showRate() { speed.textContent = RATES[rate] + "×"; ws.setPlaybackRate(RATES[rate], true); }
    function toggleLoop() {
      looping = looping || !active ? null : active;
      loop.setAttribute("aria-pressed", looping ? "true" : "false");
      if (looping) looping.region.play();
    }
    function regionOf(seg) { return seg.region; }

    function track(region, seg) {
      seg.region = region;
      byRegion.set(region.id, seg);
    }

    ws.on("decode", () => {
      restoring = true;
      for (const seg of result.segments) {
        track(regions.addRegion({ start: seg.start, end: seg.end, color: "rgba(31,111,235,.2)" }), seg);
      }
      restoring = false;
      regions.enableDragSelection({ color: "rgba(31,111,235,.2)" });
      contentEl.dataset.ready = "1";
      paintSide();
    });
    regions.on("region-created", (region) => {
      if (restoring || byRegion.has(region.id)) return;
      const seg = { start: region.start, end: region.end, text: "", speaker: "" };
      track(region, seg);
      result.segments.push(seg);
      result.segments.sort((a, b) => a.start - b.start);
      active = seg;
      changed();
    });
    regions.on("region-updated", (region) => {
      const seg = byRegion.get(region.id);
      if (!seg) return;
      seg.start = region.start;
      seg.end = region.end;
      changed();
    });
    regions.on("region-clicked", (region, e) => { e.stopPropagation(); active = byRegion.get(region.id) || null; paintSide(); });
    regions.on("region-out", (region) => { if (looping && looping.region === region) region.play(); });
    ws.load(url).catch(() => showError(_("The audio could not be decoded.")));
    showRate();

    function list(ul) {
      const rows = el("ul", null, "plain marked segments");
      rows.id = "segments";
      result.segments.forEach((seg, i) => {
        const li = el("li", null, seg === active ? "selected" : "");
        li.append(el("span", _("{start}–{end} s", { start: seg.start.toFixed(2), end: seg.end.toFixed(2) }), "muted small"));
        const text = el("input", null, "seg-text");
        text.value = seg.text || "";
        text.placeholder = _("what is said");
        text.addEventListener("input", () => { seg.text = text.value; changed(false); });
        text.addEventListener("focus", () => { active = seg; });
        const who = el("input", null, "seg-speaker");
        who.value = seg.speaker || "";
        who.placeholder = _("speaker");
        who.setAttribute("list", "speakers");
        who.addEventListener("input", () => { seg.speaker = who.value; changed(false); });
        const x = el("button", "✗", "link");
        x.type = "button";
        x.setAttribute("aria-label", _("remove"));
        x.addEventListener("click", () => {
          const r = regionOf(seg);
          if (r) { byRegion.delete(r.id); r.remove(); }
          result.segments.splice(i, 1);
          if (active === seg) active = null;
          changed();
        });
        const go = el("button", "▶", "link");
        go.type = "button";
        go.setAttribute("aria-label", _("play the segment"));
        go.addEventListener("click", () => { active = seg; const r = regionOf(seg); if (r) r.play(); });
        li.append(" ", go, " ", text, " ", who, " ", x);
        rows.append(li);
      });
      const dl = el("datalist");
      dl.id = "speakers";
      for (const l of labels) dl.append(new Option(l, l));
      ul.append(rows, dl);
    }

    return {
      destroy() {
        try { ws.destroy(); } catch (e) { /* gone */ }
        audio.pause();
        audio.removeAttribute("src");
        audio.load();
        URL.revokeObjectURL(url);
        wave.remove();
        audio.remove();
      },
      pick(label) { if (active) { active.speaker = label; changed(); } else paintSide(); return true; },
      key(e) {
        if (e.key === " ") { ws.playPause(); return true; }
        if (e.key === "l" || e.key === "L") { toggleLoop(); return true; }
        if (e.key === "[") { rate = Math.max(0, rate - 1); showRate(); return true; }
        if (e.key === "]") { rate = Math.min(RATES.length - 1, rate + 1); showRate(); return true; }
        return false;
      },
      list,
    };
  }

  // --- keyboard, watermark, context menu -----------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    if (!task || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (/^[1-9]$/.test(e.key)) {
      const i = Number(e.key) - 1;
      if (i < labels.length) { e.preventDefault(); pick(labels[i]); }
      return;
    }
    if (e.key === "Enter") { e.preventDefault(); submit(); return; }
    if (e.key === "s" || e.key === "S") { e.preventDefault(); openSkip(); return; }
    if (view && view.key && view.key(e)) e.preventDefault();
  });

  $("content-frame").addEventListener("contextmenu", (e) => e.preventDefault());
  $("content-frame").addEventListener("dragstart", (e) => e.preventDefault());

  function paintWatermark() {
    const wm = $("watermark");
    // A remote session's watermark (the person and the VPN peer's address, from the server) in
    // place of the seat, and drawn stronger: no camera watches a remote screen.
    const mark = task && task.watermark;
    const line = [username, mark || (task && task.seat), i18n.dateTime(new Date())].filter(Boolean).join(" · ");
    wm.classList.toggle("remote", Boolean(mark));
    if (wm.dataset.line === line) return;
    wm.dataset.line = line;
    const spans = [];
    for (let i = 0; i < 48; i++) spans.push(el("span", line));
    wm.replaceChildren(...spans);
  }
  setInterval(paintWatermark, 1000);
  paintWatermark();

  loadNext();
});
