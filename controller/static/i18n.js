// The page scripts' words and times. The catalog comes from /i18n/<locale>.json (the same .po
// files the templates use); _() and ngettext() fill {name} placeholders; times are shown in the
// site's time zone, whatever the browser's own is.
"use strict";
(function () {
  const root = document.documentElement;
  const locale = root.dataset.locale || "zh_CN";
  const tag = root.lang || locale.replace("_", "-");
  let messages = {};
  let nplurals = 2;

  function fill(text, values) {
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
  }

  function gettext(msgid, values) {
    const t = messages[msgid];
    return fill(typeof t === "string" ? t : Array.isArray(t) ? t[0] : msgid, values);
  }

  function ngettext(singular, plural, n, values) {
    const forms = messages[singular];
    const index = nplurals === 1 ? 0 : (n === 1 ? 0 : 1);
    let text = n === 1 ? singular : plural;
    if (Array.isArray(forms) && forms[Math.min(index, forms.length - 1)]) text = forms[Math.min(index, forms.length - 1)];
    return fill(text, Object.assign({ n: n }, values || {}));
  }

  // The site's time zone: the chosen site's on a page with a site picker, else the page's.
  function timeZone() {
    const sel = document.getElementById("site");
    const opt = sel && sel.selectedOptions && sel.selectedOptions[0];
    return (opt && opt.dataset.tz) || document.body.dataset.tz || "Asia/Shanghai";
  }

  function parts(value, withDate) {
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d)) return null;
    const opts = { timeZone: timeZone(), hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
    const p = {};
    for (const x of new Intl.DateTimeFormat("en-US", opts).formatToParts(d)) p[x.type] = x.value;
    return p;
  }

  // "2026-12-07 19:14:00" and "19:14:00" in the site's zone: one unambiguous form in both languages.
  function dateTime(value) {
    const p = parts(value, true);
    return p ? p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second : "–";
  }

  function time(value) {
    const p = parts(value, false);
    return p ? p.hour + ":" + p.minute + ":" + p.second : "–";
  }

  // A wall-clock time typed on the page ("2026-12-07T19:14", a datetime-local input) read in the
  // site's time zone: the instant it names there.
  function fromSiteTime(local) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local || "");
    if (!m) return new Date(NaN);
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    const offset = (t) => {
      const p = parts(new Date(t), true);
      return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t;
    };
    const first = wall - offset(wall);
    return new Date(wall - offset(first));
  }

  function ago(iso) {
    if (!iso) return gettext("never");
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return gettext("{n} s ago", { n: s });
    if (s < 3600) return gettext("{n} min ago", { n: Math.round(s / 60) });
    return dateTime(iso);
  }

  // Reason codes travel unchanged on the wire and in the API; people read them here.
  let reasonWords = null;
  function reasonText(code) {
    if (!reasonWords) {
      reasonWords = {
        // seat coverage
        no_camera: gettext("no camera"), camera_offline: gettext("camera offline"),
        not_recording: gettext("not recording"), camera_tampered: gettext("camera tampered"),
        screen_too_small: gettext("screen too small"), out_of_focus: gettext("out of focus"),
        occluded: gettext("occluded"), person_not_visible: gettext("person not visible"),
        not_analysed: gettext("not analysed yet"),
        // work policy
        seat_unverified: gettext("seat unverified"), seat_not_covered: gettext("seat not covered"),
        unknown_person: gettext("unknown person"), person_inactive: gettext("person inactive"),
        role_may_not_work: gettext("role may not work"),
        not_assigned_to_customer: gettext("not assigned to customer"),
        no_training: gettext("no training"), training_expired: gettext("training expired"),
        not_on_site: gettext("not on site"),
        unknown_workstation: gettext("this computer is no seat's workstation"),
        address_not_in_customer_vlan: gettext("address not on the customer's network"),
        wrong_customer: gettext("the seat is another customer's"),
        not_assigned_to_project: gettext("not assigned to this project"),
        paused_for_quality: gettext("paused from this project: accuracy on gold under the target"),
        // a remote session's, in place of the seat's
        remote_work_denied: gettext("the customer does not allow remote work"),
        remote_range_of_another_customer: gettext("this VPN address is another customer's"),
        unknown_remote_peer: gettext("no active VPN peer holds this address"),
        remote_peer_of_another_person: gettext("this VPN peer is registered to another person"),
        modality_not_allowed_remotely: gettext("the customer does not allow this kind of data remotely"),
        // gate decisions and withdrawn grants
        granted: gettext("granted"), passback_soft: gettext("granted despite passback"),
        gate_fail_safe_open: gettext("gate open for evacuation"), unknown_card: gettext("unknown card"),
        badge_revoked: gettext("badge revoked"), badge_not_yet_valid: gettext("badge not yet valid"),
        badge_expired: gettext("badge expired"), person_disabled: gettext("person disabled"),
        not_allowed_on_gate: gettext("not allowed on this gate"), outside_schedule: gettext("outside schedule"),
        passback_denied: gettext("anti-passback"), fire_alarm: gettext("fire alarm"),
        power_lost: gettext("power lost"),
      };
    }
    return reasonWords[code] || String(code).replace(/_/g, " ");
  }

  function reasons(list) {
    return (list || []).map(reasonText).join(gettext(", "));
  }

  let alarmTitles = null;
  function alarmTitle(kind) {
    if (!alarmTitles) {
      alarmTitles = {
        passback: gettext("Anti-passback"), door_forced: gettext("Door forced"), door_held: gettext("Door held open"),
        tailgating: gettext("Tailgating"), tamper: gettext("Reader tampered"), fire_alarm: gettext("Fire alarm"),
        power_lost: gettext("Power lost"), gate_offline: gettext("Gate controller offline"),
        gate_secure_channel: gettext("Gate secure channel refused"), gates_not_started: gettext("Gates not started"),
        vpn_not_started: gettext("VPN gateway not started"), vpn_peer_down: gettext("Remote device down"),
        granted_no_entry: gettext("Granted but nobody passed"), osdp_line_noise: gettext("Gate line noise"),
        camera_offline: gettext("Camera offline"), camera_blackout: gettext("Camera blacked out"),
        camera_covered: gettext("Camera covered"), camera_defocus: gettext("Camera out of focus"),
        camera_moved: gettext("Camera moved"), camera_unregistered: gettext("Unregistered camera"),
        detector_unavailable: gettext("Detector unavailable"), recorder_stalled: gettext("Recorder stalled"),
        recording_gap: gettext("Recording gap"), segment_corrupt: gettext("Corrupt recording segment"),
        retention_capacity: gettext("Storage short of the retention period"),
        retention_disk_critical: gettext("Recording disk nearly full"),
        seat_uncovered: gettext("Seat not covered"), config_rejected: gettext("Site config rejected"),
        network_change_refused: gettext("Network change refused"),
        network_change_failed: gettext("Network change failed"), network_drift: gettext("Network drift"),
        "agent.offline": gettext("Edge agent offline"), "agent.refused": gettext("Unknown edge agent refused"),
        "controller.link_down": gettext("Edge link down"),
      };
    }
    return alarmTitles[kind] || kind;
  }

  let cameraStates = null;
  function cameraState(state) {
    if (!cameraStates) {
      cameraStates = {
        recording: gettext("recording"), reconnecting: gettext("reconnecting"), stopped: gettext("stopped"),
        stalled: gettext("stalled"), offline: gettext("offline"), tampered: gettext("tampered"),
        unknown: gettext("unknown"),
      };
    }
    return cameraStates[state] || state;
  }

  let gateStates = null;
  function gateState(state) {
    if (!gateStates) {
      gateStates = {
        locked: gettext("locked"), unlocked: gettext("unlocked"), passing: gettext("passing"),
        held_open: gettext("held open"), forced: gettext("forced"), fail_safe_open: gettext("open (fail-safe)"),
        offline: gettext("offline"), unknown: gettext("unknown"),
      };
    }
    return gateStates[state] || state;
  }

  // An alarm as a person reads it: its title, then what the edge reported. Where the alarm
  // carries its facts (a seat and its reasons), the sentence is built in the reader's language.
  function alarmText(a) {
    const d = a.details || {};
    if (a.kind === "seat_uncovered" && d.seat) {
      return gettext("{title}: seat {seat} is not covered: {reasons}", { title: alarmTitle(a.kind), seat: d.seat, reasons: reasons(d.reasons) });
    }
    return gettext("{title}: {message}", { title: alarmTitle(a.kind), message: a.message });
  }

  // A sentence from the controller (controller/event_text.py): its message translated, each value
  // worded (codes) and put inside its link where it has one. Returns a DocumentFragment.
  function codeWord(how, value) {
    if (how === "reason") return reasonText(value);
    if (how === "reasons") return reasons(value);
    if (how === "camera_state") return cameraState(value);
    if (how === "gate_state") return gateState(value);
    if (how === "alarm") return alarmTitle(value);
    if (how === "time") return dateTime(value);
    return String(value);
  }

  function sentence(s) {
    const out = document.createDocumentFragment();
    const params = s.params || {}, links = s.links || {}, codes = s.codes || {};
    const parts = gettext(s.msgid).split(/\{(\w+)\}/);
    parts.forEach((part, i) => {
      if (i % 2 === 0) { if (part) out.append(document.createTextNode(part)); return; }
      if (!(part in params)) { out.append(document.createTextNode("{" + part + "}")); return; }
      const word = codes[part] ? codeWord(codes[part], params[part]) : String(params[part]);
      if (links[part]) {
        const a = document.createElement("a");
        a.href = links[part];
        a.dataset.param = part;
        a.textContent = word;
        out.append(a);
      } else {
        const span = document.createElement("span");
        span.dataset.param = part;
        span.textContent = word;
        out.append(span);
      }
    });
    return out;
  }

  window._ = gettext;
  window.ngettext = ngettext;
  window.i18n = {
    locale: locale, tag: tag, timeZone: timeZone, dateTime: dateTime, time: time, ago: ago, fromSiteTime: fromSiteTime,
    reason: reasonText, reasons: reasons, sentence: sentence, cameraState: cameraState, gateState: gateState, alarmTitle: alarmTitle, alarmText: alarmText,
    ready: fetch("/i18n/" + locale + ".json?v=" + (root.dataset.catalog || ""), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : { messages: {}, nplurals: 2 }))
      .then((c) => { messages = c.messages || {}; nplurals = c.nplurals || 2; })
      .catch(() => {}),
  };
})();
