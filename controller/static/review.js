// The reviewer page: the project's review queue; for the chosen item its content under a
// watermark, any two versions of the task side by side with what changed (added green, removed
// red, a transcript's characters inline), and accept, reject with a reason, or fix. The site's
// policy is asked every 3 s: on a no the content and the results leave the page at once.
"use strict";
i18n.ready.then(function () {
  const root = document.getElementById("review");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const projectId = root.dataset.project;
  const kind = root.dataset.kind;
  const username = root.dataset.user;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const contentEl = $("content");
  const NS = "http://www.w3.org/2000/svg";
  const BEAT_MS = 3000;

  let queue = [];         // the queue's items (the newest version of each chain)
  let chosen = null;      // the queue item under review
  let versions = [];      // every version of its task: its chain first, then the others'
  let allowed = true;
  let seat = null;
  let mark = null;  // a remote session's watermark (person · VPN address) when the customer wants one
  let seq = 0;            // bumped whenever the item is hidden: a late answer is dropped
  let chars = null;       // a text item's characters (code points), for span quotes
  let boxLayer = null;    // an image item's overlay, painted from the diff
  let lastDiff = null;
  let busy = false;

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

  async function call(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: {}, cache: "no-store" };
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

  function showError(text) { $("review-error").textContent = text || ""; }
  function showDone(text) { $("review-done").textContent = text || ""; }

  // --- the site's policy -------------------------------------------------------------------------

  function hideItem() {
    seq++;
    contentEl.querySelectorAll("audio").forEach((a) => { a.pause(); a.removeAttribute("src"); a.load(); });
    contentEl.replaceChildren();
    delete contentEl.dataset.ready;
    $("compare-rows").replaceChildren();
    $("old-version").replaceChildren();
    $("new-version").replaceChildren();
    $("review-item").hidden = true;
    chars = null;
    boxLayer = null;
    lastDiff = null;
  }

  function refuse(reasons) {
    allowed = false;
    hideItem();
    $("queue").replaceChildren();
    $("review-body").hidden = true;
    $("refused-reasons").replaceChildren(...(reasons || []).map((code) => {
      const li = el("li", i18n.reason(code));
      li.dataset.reason = code;
      return li;
    }));
    $("refused").hidden = false;
  }

  async function beat() {
    let r;
    try { r = await call("POST", "/api/projects/" + projectId + "/review/heartbeat"); } catch (e) { return; }
    if (!r.ok) { showError(detail(r)); return; }
    seat = r.data.seat;
    mark = r.data.watermark || null;
    if (!r.data.allowed) { refuse(r.data.reasons); return; }
    if (!allowed) {
      allowed = true;
      $("refused").hidden = true;
      $("review-body").hidden = false;
      await loadQueue(chosen && chosen.annotation);
    }
  }

  // --- the queue ---------------------------------------------------------------------------------

  async function loadQueue(keep) {
    const r = await call("GET", "/api/projects/" + projectId + "/review/queue");
    if (r.status === 403 && r.data.reasons) { refuse(r.data.reasons); return; }
    if (!r.ok) { showError(detail(r)); return; }
    queue = r.data;
    paintQueue();
    const next = queue.find((q) => q.annotation === keep) || queue[0] || null;
    if (next) await choose(next); else { chosen = null; hideItem(); $("item-name").textContent = ""; }
  }

  function paintQueue() {
    $("queue-empty").hidden = queue.length > 0;
    $("queue-count").textContent = queue.length ? _("{n} waiting", { n: queue.length }) : "";
    $("queue").replaceChildren(...queue.map((q) => {
      const li = el("li");
      li.dataset.annotation = q.annotation;
      li.dataset.task = q.task;
      if (chosen && chosen.annotation === q.annotation) li.className = "selected";
      const b = el("button", _("task {task} · {annotator} · version {version}",
        { task: q.task, annotator: q.annotator, version: q.version }), "link");
      b.type = "button";
      b.addEventListener("click", () => choose(q));
      li.append(b);
      return li;
    }));
  }

  function step(by) {
    if (!queue.length) return;
    const i = chosen ? queue.findIndex((q) => q.annotation === chosen.annotation) : -1;
    const next = queue[Math.max(0, Math.min(queue.length - 1, i + by))];
    if (next && (!chosen || next.annotation !== chosen.annotation)) choose(next);
  }

  // --- one item: content, versions, diff -----------------------------------------------------------

  function versionName(v) {
    return _("{annotator} · version {version} · {time}", { annotator: v.annotator, version: v.version,
      time: i18n.dateTime(v.created_at) });
  }

  async function choose(item) {
    hideItem();
    closeForms();
    showError("");
    chosen = item;
    paintQueue();
    const my = seq;
    $("item-name").textContent = _("task {id}", { id: item.task });
    const r = await call("GET", "/api/annotations/" + item.annotation + "/versions");
    if (my !== seq) return;
    if (r.status === 403 && r.data.reasons) { refuse(r.data.reasons); return; }
    if (!r.ok) { showError(detail(r)); return; }
    const chain = r.data.versions;
    versions = chain.concat(r.data.others || []);
    const oldSel = $("old-version"), newSel = $("new-version");
    oldSel.replaceChildren(new Option(_("(empty)"), ""));
    newSel.replaceChildren();
    for (const v of versions) {
      oldSel.append(new Option(versionName(v), v.annotation));
      newSel.append(new Option(versionName(v), v.annotation));
    }
    const at = chain.findIndex((v) => v.annotation === item.annotation);
    const prev = at > 0 ? chain[at - 1] : (r.data.others || []).slice(-1)[0];
    newSel.value = String(item.annotation);
    oldSel.value = prev ? String(prev.annotation) : "";
    $("review-item").hidden = false;
    paintWatermark();
    await Promise.all([showContent(item, my), showDiff()]);
  }

  async function showContent(item, my) {
    const r = await fetch("/api/annotations/" + item.annotation + "/content", { credentials: "same-origin", cache: "no-store" });
    if (my !== seq) return;
    if (r.status === 403) { const d = await r.json().catch(() => ({})); if (d.reasons) refuse(d.reasons); else showError(d.detail); return; }
    if (!r.ok) { showError(_("The content could not be loaded ({status}).", { status: r.status })); return; }
    const blob = await r.blob();
    if (my !== seq || !allowed) return;
    if (kind === "boxes") mountImage(blob);
    else if (kind === "transcript") mountAudio(blob);
    else {
      const text = await blob.text();
      if (my !== seq) return;
      chars = Array.from(text);
      const box = el("div", text, "text-content");
      box.id = "text";
      contentEl.append(box);
      contentEl.dataset.ready = "1";
      if (lastDiff) paintDiff(lastDiff);
    }
  }

  function mountImage(blob) {
    const url = URL.createObjectURL(blob);
    const stage = el("div", null, "stage");
    const img = new Image();
    img.draggable = false;
    img.alt = "";
    const svg = svgEl("svg", { class: "boxes review-boxes" });
    stage.append(img, svg);
    contentEl.append(stage);
    img.addEventListener("load", () => {
      svg.setAttribute("viewBox", "0 0 " + img.naturalWidth + " " + img.naturalHeight);
      boxLayer = svg;
      URL.revokeObjectURL(url);
      contentEl.dataset.ready = "1";
      if (lastDiff) paintBoxes(lastDiff);
    });
    img.src = url;
  }

  function mountAudio(blob) {
    const url = URL.createObjectURL(blob);
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.setAttribute("controlsList", "nodownload noremoteplayback");
    audio.disableRemotePlayback = true;
    audio.src = url;
    contentEl.append(audio);
    contentEl.dataset.ready = "1";
  }

  async function showDiff() {
    const my = seq;
    const oldId = $("old-version").value, newId = $("new-version").value;
    if (!newId) return;
    const r = await call("GET", "/api/annotations/" + newId + "/diff" + (oldId ? "?against=" + oldId : ""));
    if (my !== seq) return;
    if (r.status === 403 && r.data.reasons) { refuse(r.data.reasons); return; }
    if (!r.ok) { showError(detail(r)); return; }
    lastDiff = r.data;
    paintDiff(r.data);
  }

  $("old-version").addEventListener("change", showDiff);
  $("new-version").addEventListener("change", showDiff);

  const OP_NAMES = () => ({ added: _("added"), removed: _("removed"), changed: _("changed"), kept: _("unchanged") });

  function paintDiff(d) {
    $("old-head").textContent = d.old ? versionName(d.old) : _("(empty)");
    $("new-head").textContent = versionName(d.new);
    const c = d.diff.counts;
    $("diff-counts").textContent = d.diff.same ? _("no differences")
      : _("{added} added, {removed} removed, {changed} changed", { added: c.added, removed: c.removed, changed: c.changed });
    $("diff-counts").dataset.same = d.diff.same ? "1" : "0";
    const names = OP_NAMES();
    $("compare-rows").replaceChildren(...d.diff.items.map((item) => {
      const tr = el("tr", null, "op-" + item.op);
      tr.dataset.op = item.op;
      tr.dataset.fields = item.fields.join(" ");
      tr.title = names[item.op];
      const left = el("td", null, "old");
      const right = el("td", null, "new");
      if (item.old !== null) left.append(...cell(item.old, item, "old"));
      if (item.new !== null) right.append(...cell(item.new, item, "new"));
      tr.append(left, right);
      return tr;
    }));
    paintBoxes(d);
  }

  const r1 = (x) => Math.round(x);

  // One side of one item of the diff, as nodes; a changed field is marked on both sides.
  function cell(value, item, side) {
    const mark = (field, text) => {
      const s = el("span", text, item.fields.includes(field) ? "field-changed" : "");
      s.dataset.field = field;
      return s;
    };
    switch (d_kind()) {
      case "classification":
      case "multi_label":
        return [el("span", value, "badge")];
      case "spans": {
        const quote = chars ? chars.slice(value.start, value.end).join("") : "";
        return [mark("label", value.label), " ", el("q", quote), " ",
          mark("start", String(value.start)), "–", mark("end", String(value.end))];
      }
      case "boxes":
        return [mark("label", value.label), " ",
          mark("geometry", _("{x}, {y} · {w}×{h}", { x: r1(value.x), y: r1(value.y), w: r1(value.w), h: r1(value.h) }))];
      case "transcript": {
        const nodes = [mark("start", value.start.toFixed(3)), "–", mark("end", value.end.toFixed(3)), " ",
          mark("speaker", value.speaker || "–"), " "];
        if (side === "new" && item.text_diff) {
          const t = el("span", null, "field-changed seg-text");
          t.dataset.field = "text";
          for (const part of item.text_diff) {
            t.append(part.op === "equal" ? document.createTextNode(part.text)
              : el(part.op === "insert" ? "ins" : "del", part.text, part.op === "insert" ? "diff-ins" : "diff-del"));
          }
          nodes.push(t);
        } else {
          const t = mark("text", value.text);
          t.classList.add("seg-text");
          nodes.push(t);
        }
        return nodes;
      }
      default:
        return [el("code", value.field), " ", mark("value", JSON.stringify(value.value))];
    }
  }

  function d_kind() { return lastDiff ? lastDiff.diff.kind : kind; }

  function paintBoxes(d) {
    if (!boxLayer || !d || d.diff.kind !== "boxes") return;
    boxLayer.replaceChildren();
    const W = boxLayer.viewBox.baseVal.width || 1;
    const k = boxLayer.getBoundingClientRect().width ? W / boxLayer.getBoundingClientRect().width : 1;
    d.diff.items.forEach((item) => {
      for (const [side, b] of [["old", item.old], ["new", item.new]]) {
        if (!b || (item.op === "kept" && side === "old")) continue;
        const g = svgEl("g", { class: "box op-" + item.op + " side-" + side });
        g.append(svgEl("rect", { x: b.x, y: b.y, width: b.w, height: b.h, "stroke-width": 2 * k }));
        const t = svgEl("text", { x: b.x + 3 * k, y: b.y + 14 * k, "font-size": 13 * k });
        t.textContent = b.label;
        g.append(t);
        boxLayer.append(g);
      }
    });
  }

  // --- decisions ---------------------------------------------------------------------------------------

  function closeForms() {
    $("reject-form").hidden = true;
    $("fix-form").hidden = true;
  }

  async function decide(body, done) {
    if (!chosen || busy) return;
    busy = true;
    showError("");
    let r;
    try {
      r = await call("POST", "/api/annotations/" + chosen.annotation + "/review", body);
    } finally {
      busy = false;
    }
    if (r.status === 403 && r.data.reasons) { refuse(r.data.reasons); return; }
    if (!r.ok) { showError(detail(r)); return; }
    closeForms();
    $("reject-reason").value = "";
    $("fix-reason").value = "";
    const i = queue.findIndex((q) => q.annotation === chosen.annotation);
    const after = queue[i + 1] || queue[i - 1];
    await loadQueue(after && after.annotation);
    showDone(done(r.data));
  }

  function accept() {
    decide({ decision: "accept" }, () => _("Accepted."));
  }

  function openReject() {
    if (!chosen) return;
    $("fix-form").hidden = true;
    $("reject-form").hidden = false;
    $("reject-reason").focus();
  }

  function openFix() {
    if (!chosen) return;
    $("reject-form").hidden = true;
    $("fix-result").value = JSON.stringify(chosen.result, null, 2);
    $("fix-form").hidden = false;
    $("fix-result").focus();
  }

  function saveFix() {
    let result;
    try {
      result = JSON.parse($("fix-result").value);
    } catch (e) {
      showError(_("The fixed result is not valid JSON."));
      return;
    }
    if (!result || typeof result !== "object" || Array.isArray(result)) {
      showError(_("The fixed result must be a JSON object."));
      return;
    }
    decide({ decision: "fix", reason: $("fix-reason").value, result },
      (d) => _("Fixed: version {version} saved.", { version: d.fixed_version }));
  }

  $("accept").addEventListener("click", accept);
  $("reject").addEventListener("click", openReject);
  $("fix").addEventListener("click", openFix);
  $("reject-cancel").addEventListener("click", closeForms);
  $("fix-cancel").addEventListener("click", closeForms);
  $("reject-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = $("reject-reason").value.trim();
    if (!reason) { showError(_("A reject needs a reason.")); $("reject-reason").focus(); return; }
    decide({ decision: "reject", reason }, () => _("Rejected: the task is back in the queue for another annotator."));
  });
  $("fix-form").addEventListener("submit", (e) => { e.preventDefault(); saveFix(); });

  // --- keyboard, watermark, context menu -----------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (e.key === "Escape") { closeForms(); return; }
    if (t && t.id === "fix-result" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveFix(); return; }
    if (typing || !chosen || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.toLowerCase();
    if (key === "a") { e.preventDefault(); accept(); }
    else if (key === "r") { e.preventDefault(); openReject(); }
    else if (key === "f") { e.preventDefault(); openFix(); }
    else if (key === "j") { e.preventDefault(); step(1); }
    else if (key === "k") { e.preventDefault(); step(-1); }
  });

  $("content-frame").addEventListener("contextmenu", (e) => e.preventDefault());
  $("content-frame").addEventListener("dragstart", (e) => e.preventDefault());

  function paintWatermark() {
    const wm = $("watermark");
    const line = [username, mark || seat, i18n.dateTime(new Date())].filter(Boolean).join(" · ");
    wm.classList.toggle("remote", Boolean(mark));  // a remote session's stands out: no camera watches it
    if (wm.dataset.line === line) return;
    wm.dataset.line = line;
    const spans = [];
    for (let i = 0; i < 48; i++) spans.push(el("span", line));
    wm.replaceChildren(...spans);
  }

  (async function start() {
    await beat();
    if (allowed) await loadQueue(null);
    setInterval(beat, BEAT_MS);
    setInterval(paintWatermark, 1000);
    paintWatermark();
  })();
});
