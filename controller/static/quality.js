// Quality page: each metric as a bar with its 95 % interval and its target line, the figures
// over time as lines, the annotators' accuracy and speed, agreement per label, and the
// confusion matrix with gold as a heatmap. All from GET /api/projects/{id}/quality.
"use strict";
i18n.ready.then(function () {
  const root = document.getElementById("quality");
  const projectId = root.dataset.project;
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#2e9e5b", "#1f6feb", "#c47f00", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"];
  const NAMES = {
    label_accuracy: _("label accuracy"), exact_set_accuracy: _("exact-set accuracy"), micro_f1: _("micro-F1"),
    span_f1: _("entity micro-F1"), transcript_accuracy: _("transcript accuracy (1 − error rate)"),
    box_precision: _("box precision"), box_recall: _("box recall"), alpha: _("agreement (Krippendorff alpha)"),
    consensus: _("consensus accuracy on gold"), crossmodal_consistency: _("cross-modal consistency"),
    gold_accuracy: _("accuracy on gold"),
  };

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

  function name(key) { return NAMES[key] || key; }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %"; }
  function num(v) { return v === null || v === undefined ? "–" : v.toFixed(3); }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; throw new Error(_("signed out")); }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail : r.statusText);
    return body;
  }

  // Horizontal bars on a 0..1 scale: value, interval whisker, dashed target line.
  function bars(target, rows, fmt) {
    const H = 22, X0 = 150, W = 200;
    target.replaceChildren();
    target.setAttribute("viewBox", "0 0 400 " + Math.max(30, rows.length * H + 8));
    const x = (v) => X0 + W * Math.max(0, Math.min(1, v));
    rows.forEach((m, i) => {
      const y = 6 + i * H;
      const state = m.meets === true ? "meets" : m.meets === false ? "misses" : "unjudged";
      const g = svg("g", { "class": "metric " + state, "data-key": m.key, "data-value": m.value === null ? "" : String(m.value) });
      g.append(svg("text", { x: 2, y: y + 11 }, m.title),
               svg("rect", { x: X0, y: y, width: W, height: 14, fill: "#dde3e8" }),
               svg("rect", { "class": "bar", x: X0, y: y + 2, width: m.value === null ? 0 : x(m.value) - X0, height: 10 }));
      if (m.low !== null && m.low !== undefined) {
        g.append(svg("line", { "class": "interval", x1: x(m.low), x2: x(m.high), y1: y + 7, y2: y + 7 }));
      }
      if (m.target !== null && m.target !== undefined) {
        g.append(svg("line", { "class": "target", x1: x(m.target), x2: x(m.target), y1: y - 2, y2: y + 16 }));
      }
      const f = m.fmt || fmt;
      g.append(svg("text", { x: X0 + W + 6, y: y + 11 }, f(m.value)));
      const tip = m.low !== null && m.low !== undefined
        ? _("{name}: {value} (95 % interval {low} – {high}), target {target}", { name: m.title, value: f(m.value), low: pct(m.low), high: pct(m.high), target: f(m.target) })
        : _("{name}: {value}, target {target}", { name: m.title, value: f(m.value), target: f(m.target) });
      g.append(svg("title", {}, tip));
      target.append(g);
    });
  }

  function metricRows(data) {
    const rows = data.metrics.map((m) => ({ ...m, title: name(m.key) }));
    if (data.consensus) rows.push({ ...data.consensus, key: "consensus", title: name("consensus") });
    if (data.crossmodal) rows.push({ ...data.crossmodal, title: name("crossmodal_consistency") });
    if (data.agreement) rows.push({ ...data.agreement.alpha, title: name("alpha"), fmt: num });
    return rows;
  }

  function drawTrend(data) {
    const chart = document.getElementById("trend");
    const legend = document.getElementById("trend-legend");
    chart.replaceChildren();
    legend.replaceChildren();
    const points = data.series;
    const y = (v) => 105 - 95 * Math.max(0, Math.min(1, v));
    chart.append(svg("text", { x: 0, y: y(1) + 3 }, "100"), svg("text", { x: 8, y: y(0) + 3 }, "0"),
                 svg("line", { x1: 20, y1: y(0), x2: 295, y2: y(0), stroke: "#9aa5b1", "stroke-width": 0.5 }),
                 svg("line", { "class": "target", x1: 20, x2: 295, y1: y(data.accuracy_target), y2: y(data.accuracy_target) }));
    if (!points.length) {
      chart.append(svg("text", { x: 60, y: 60 }, _("no snapshot yet: figures are recorded every few minutes")));
      return;
    }
    const t0 = Date.parse(points[0].at), t1 = Date.parse(points[points.length - 1].at);
    const x = (t) => (t1 === t0 ? 157 : 20 + 275 * (t - t0) / (t1 - t0));
    const keys = [];
    for (const p of points) for (const k of Object.keys(p.figures)) if (k !== "submissions" && !keys.includes(k)) keys.push(k);
    keys.forEach((key, i) => {
      let d = "";
      let n = 0;
      for (const p of points) {
        const f = p.figures[key];
        if (!f || f.value === null || f.value === undefined) continue;
        const px = x(Date.parse(p.at)), py = y(f.value);
        d += (n ? "L" : "M") + px.toFixed(1) + "," + py.toFixed(1);
        if (points.length === 1) d += "h2";
        n += 1;
      }
      if (!d) return;
      const colour = COLOURS[i % COLOURS.length];
      chart.append(svg("path", { "class": "series", d: d, stroke: colour, "data-key": key, "data-points": String(n) }));
      const li = el("li");
      const sw = el("span", undefined, "swatch");
      sw.style.background = colour;
      li.append(sw, el("span", name(key)));
      legend.append(li);
    });
    chart.append(svg("title", {}, _("{n} snapshots from {from} to {to}", { n: points.length, from: i18n.dateTime(points[0].at), to: i18n.dateTime(points[points.length - 1].at) })));
  }

  function drawAnnotators(data) {
    const body = document.querySelector("#annotators tbody");
    body.replaceChildren();
    for (const a of data.annotators) {
      const tr = el("tr", undefined, a.paused ? "paused" : "");
      tr.dataset.annotator = a.username;
      const g = a.gold;
      tr.append(el("td", a.username),
                el("td", g.n ? _("{value} ({k} of {n})", { value: pct(g.value), k: g.k, n: g.n }) : _("no gold yet")),
                el("td", g.n ? pct(g.low) + " – " + pct(g.high) : "–"),
                el("td", String(a.done)),
                el("td", a.speed_s === null ? "–" : _("{seconds} s per task", { seconds: a.speed_s.toFixed(1) })),
                el("td", a.paused ? _("paused") : g.meets === false ? _("below target") : _("working")));
      body.append(tr);
    }
    if (!data.annotators.length) {
      const tr = el("tr");
      const td = el("td", _("nobody has submitted work yet"), "muted");
      td.colSpan = 6;
      tr.append(td);
      body.append(tr);
    }
  }

  function drawAgreement(data) {
    const chart = document.getElementById("label-alpha");
    const summary = document.getElementById("agreement-summary");
    const ag = data.agreement;
    if (!ag) {
      chart.replaceChildren(svg("text", { x: 4, y: 18 }, _("no task has two annotators yet")));
      summary.textContent = "";
      return;
    }
    summary.textContent = _("alpha {alpha}, Fleiss kappa {kappa}, {n} tasks", { alpha: num(ag.alpha.value), kappa: ag.fleiss_kappa === null ? "–" : num(ag.fleiss_kappa), n: ag.tasks });
    bars(chart, ag.per_label.map((l) => ({ key: l.label, title: l.label, value: l.alpha, low: null, high: null, target: ag.alpha.target, meets: l.alpha === null ? null : l.alpha >= ag.alpha.target })), num);
  }

  function drawConfusion(data) {
    const chart = document.getElementById("confusion");
    const list = document.getElementById("most-confused");
    chart.replaceChildren();
    list.replaceChildren();
    const c = data.confusion;
    if (!c) {
      chart.append(svg("text", { x: 4, y: 18 }, _("a confusion matrix is drawn for single-label projects")));
      return;
    }
    const n = c.labels.length, M = 40, cell = Math.max(8, Math.min(40, 150 / Math.max(1, n)));
    chart.setAttribute("viewBox", "0 0 " + (M + n * cell + 4) + " " + (M + n * cell + 4));
    const max = Math.max(1, ...c.matrix.flat());
    c.labels.forEach((label, i) => {
      chart.append(svg("text", { x: 2, y: M + i * cell + cell / 2 + 3, "class": "row-label" }, label),
                   svg("text", { x: M + i * cell + 2, y: M - 4, "class": "col-label" }, label));
    });
    c.matrix.forEach((row, i) => row.forEach((count, j) => {
      const r = svg("rect", { "class": "heat" + (i === j ? " diagonal" : ""), x: M + j * cell, y: M + i * cell, width: cell, height: cell,
                              fill: i === j ? "#2e9e5b" : "#c0392b", "fill-opacity": (0.08 + 0.92 * count / max).toFixed(3),
                              "data-count": String(count) });
      r.append(svg("title", {}, _("gold {gold}, submitted {submitted}: {count}", { gold: c.labels[i], submitted: c.labels[j], count: count })));
      chart.append(r, svg("text", { x: M + j * cell + cell / 2 - 3, y: M + i * cell + cell / 2 + 3 }, String(count)));
    }));
    for (const p of c.most_confused) {
      list.append(el("li", _("gold {gold} given as {submitted}: {count}", { gold: p.gold, submitted: p.submitted, count: p.count })));
    }
    if (!c.most_confused.length) list.append(el("li", _("no label confused with another"), "muted"));
  }

  async function refresh() {
    let data;
    try {
      data = await getJSON("/api/projects/" + projectId + "/quality");
    } catch (e) {
      document.getElementById("updated").textContent = _("controller unreachable, retrying…");
      return;
    }
    document.getElementById("summary").textContent = _("{subs} submissions on {tasks} tasks; {gold} on gold tasks. Target {target}.", {
      subs: data.submissions, tasks: data.tasks, gold: data.gold_submissions, target: pct(data.accuracy_target) });
    bars(document.getElementById("metric-bars"), metricRows(data), (v) => pct(v));
    drawTrend(data);
    drawAnnotators(data);
    drawAgreement(data);
    drawConfusion(data);
    document.getElementById("updated").textContent = _("scored {time}", { time: i18n.dateTime(data.scored_at) });
    root.dataset.loaded = "1";
  }

  refresh();
  setInterval(refresh, 30000);
});
