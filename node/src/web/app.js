// taawun: the little script of the page. The page works without it; with it, parts of
// the page marked data-live refresh when the node stores something, and the offer form
// shows the hourly rate (and refuses it under the floor) as one types.
(function () {
  "use strict";

  // Whether the person has typed or chosen something inside el (never overwrite that).
  function dirty(el) {
    var xs = el.querySelectorAll("input, textarea, select");
    for (var i = 0; i < xs.length; i++) {
      var x = xs[i];
      if (x.type === "file" && x.files && x.files.length) return true;
      if ((x.type === "checkbox" || x.type === "radio") && x.checked !== x.defaultChecked) return true;
      if (x.tagName === "SELECT") {
        for (var j = 0; j < x.options.length; j++) {
          if (x.options[j].selected !== x.options[j].defaultSelected) return true;
        }
      } else if (x.type !== "hidden" && x.value !== x.defaultValue) return true;
    }
    return el.contains(document.activeElement) && document.activeElement !== document.body &&
      /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
  }

  var coop = document.body && document.body.getAttribute("data-coop");
  if (coop && window.EventSource && window.fetch && window.DOMParser) {
    var timer = null, busy = false, again = false;
    var refresh = function () {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      fetch(location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var parts = document.querySelectorAll("[data-live]");
          for (var i = 0; i < parts.length; i++) {
            var el = parts[i], fresh = doc.getElementById(el.id);
            if (fresh && !dirty(el) && fresh.innerHTML !== el.innerHTML) el.replaceWith(fresh);
          }
        })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) { again = false; soon(); }
        });
    };
    // Entries come in bursts (an offer, then claims...): one refresh per burst.
    var soon = function () { if (!timer) timer = setTimeout(refresh, 200); };
    var es = new EventSource("/live");
    es.addEventListener("entry", function (e) {
      try { if (JSON.parse(e.data).coop === coop) soon(); } catch (_) { soon(); }
    });
    es.addEventListener("result", soon);
    es.addEventListener("peers", soon);
    es.addEventListener("lagged", soon);
    // After a dropped connection, catch up on what was missed.
    var opened = false;
    es.addEventListener("open", function () { if (opened) soon(); opened = true; });
    document.documentElement.setAttribute("data-live-ready", "1");
  }

  // The offer form: the hourly rate as one types, and no sending under the floor.
  var form = document.getElementById("offer-form");
  if (form) {
    var pay = form.elements.pay, minutes = form.elements.minutes, cur = form.elements.currency;
    var out = document.getElementById("rate");
    // "EUR:1250:€{}/h,...": currency, floor per hour, how a rate is written.
    var floors = {}, tpls = {};
    (form.getAttribute("data-floors") || "").split(",").forEach(function (p) {
      var kv = p.split(":");
      if (kv.length >= 3) {
        floors[kv[0]] = parseInt(kv[1], 10);
        tpls[kv[0]] = kv.slice(2).join(":");
      }
    });
    var dec = form.getAttribute("data-dec"), grp = form.getAttribute("data-grp");
    var minor = function (s) {
      var m = /^\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$/.exec(s);
      if (!m) return null;
      return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
    };
    var fmt = function (v) {
      var s = String(Math.floor(v / 100)), out2 = "";
      for (var i = 0; i < s.length; i++) {
        if (i > 0 && (s.length - i) % 3 === 0) out2 += grp;
        out2 += s[i];
      }
      var c = String(v % 100);
      return out2 + dec + (c.length < 2 ? "0" + c : c);
    };
    var check = function () {
      var p = minor(pay.value), n = parseInt(minutes.value, 10), code = cur ? cur.value : "";
      var floor = floors[code];
      if (p === null || !(n > 0) || floor === undefined) {
        out.textContent = ""; out.className = ""; pay.setCustomValidity(""); return;
      }
      var rate = Math.floor(p * 60 / n), ok = p * 60 >= floor * n;
      var msg = tpls[code].replace("{}", fmt(rate)) + " — " +
        form.getAttribute(ok ? "data-ok" : "data-low");
      out.textContent = msg;
      out.className = ok ? "ok" : "bad";
      pay.setCustomValidity(ok ? "" : msg);
    };
    ["input", "change"].forEach(function (ev) {
      pay.addEventListener(ev, check); minutes.addEventListener(ev, check);
      if (cur) cur.addEventListener(ev, check);
    });
    form.addEventListener("submit", function (e) {
      check();
      if (!form.checkValidity()) { e.preventDefault(); form.reportValidity(); }
    });
    check();
  }
})();
