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

  var localFormat;
  function localTimes(root) {
    if (localFormat === undefined) {
      var lang = document.documentElement.lang || "en";
      var locale = lang === "ar" ? "ar-MA-u-nu-latn" : lang === "fr" ? "fr-FR" : "en-GB";
      try {
        localFormat = new Intl.DateTimeFormat(locale, {
          day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
          timeZoneName: "short"
        });
      } catch (_) { localFormat = null; }
    }
    if (!localFormat) return;
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (isNaN(d.getTime()) || times[i].getAttribute("data-local")) continue;
      times[i].title = times[i].textContent;
      times[i].textContent = localFormat.format(d);
      times[i].setAttribute("data-local", "1");
    }
  }

  // Whether a fresh part says what the shown one says (its times as the node wrote them).
  function same(fresh, el) {
    var shown = el.cloneNode(true), ts = shown.querySelectorAll("time[data-local]");
    for (var i = 0; i < ts.length; i++) {
      ts[i].textContent = ts[i].title; ts[i].removeAttribute("title"); ts[i].removeAttribute("data-local");
    }
    return fresh.innerHTML === shown.innerHTML;
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
            // Compared before the times are rewritten, then rewritten once swapped in.
            if (fresh && !dirty(el) && !same(fresh, el)) { el.replaceWith(fresh); localTimes(fresh); }
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
    var note = document.getElementById("live-note");
    if (note) note.hidden = false;
  }

  // The offer form: the hourly rate as one types, and no sending under the floor. Amounts
  // are whole numbers of minor units (BigInt: exact, like the node), with each currency's
  // own decimals (2 for EUR, 3 for JOD, 0 for XOF), which the node sends.
  var form = document.getElementById("offer-form");
  if (form && typeof BigInt === "function") {
    var pay = form.elements.pay, minutes = form.elements.minutes, cur = form.elements.currency;
    var out = document.getElementById("rate");
    // "EUR:1250:2:€{}/h,...": currency, floor per hour in minor units, decimals, how a
    // rate is written.
    var floors = {}, places = {}, tpls = {};
    (form.getAttribute("data-floors") || "").split(",").forEach(function (p) {
      var kv = p.split(":");
      if (kv.length >= 4 && /^\d+$/.test(kv[1]) && /^\d$/.test(kv[2])) {
        floors[kv[0]] = BigInt(kv[1]);
        places[kv[0]] = parseInt(kv[2], 10);
        tpls[kv[0]] = kv.slice(3).join(":");
      }
    });
    var dec = form.getAttribute("data-dec"), grp = form.getAttribute("data-grp");
    var tooMany = form.getAttribute("data-too-many") || "";
    var ten = function (d) { var u = BigInt(1); while (d-- > 0) u *= BigInt(10); return u; };
    // A number as typed, in ASCII, read as the node reads it: Arabic-Indic and Persian
    // digits become 0-9 and the Arabic decimal separator a dot; spaces and the Arabic
    // thousands separator go; of a dot and a comma the last is the decimal mark, one
    // that comes twice separates thousands. null if it is not a number.
    var ascii = function (s) {
      var t = "";
      for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c >= 0x660 && c <= 0x669) t += String(c - 0x660);
        else if (c >= 0x6f0 && c <= 0x6f9) t += String(c - 0x6f0);
        else if (c === 0x66b) t += ".";
        else if (c === 0x66c || /\s/.test(s[i])) continue;
        else if (/[0-9.,]/.test(s[i])) t += s[i];
        else return null;
      }
      var d = t.lastIndexOf("."), c2 = t.lastIndexOf(","), mark = -1;
      if (d >= 0 && c2 >= 0) mark = Math.max(d, c2);
      else if (d >= 0 && t.indexOf(".") === d) mark = d;
      else if (c2 >= 0 && t.indexOf(",") === c2) mark = c2;
      var out = "";
      for (var j = 0; j < t.length; j++) {
        if (/[0-9]/.test(t[j])) out += t[j]; else if (j === mark) out += ".";
      }
      return /^\d+(\.\d+)?$/.test(out) ? out : null;
    };
    // Minor units of a number typed with a dot or a comma; null if it is not one; "many"
    // if it has more decimals than the currency.
    var minor = function (s, d) {
      var a = ascii(s);
      var m = a === null ? null : /^(\d{1,20})(?:\.(\d{1,20}))?$/.exec(a);
      if (!m) return null;
      var frac = m[2] || "";
      if (frac.length > d) return "many";
      while (frac.length < d) frac += "0";
      return BigInt(m[1]) * ten(d) + (frac ? BigInt(frac) : BigInt(0));
    };
    var fmt = function (v, d) {
      var unit = ten(d), s = String(v / unit), out2 = "";
      for (var i = 0; i < s.length; i++) {
        if (i > 0 && (s.length - i) % 3 === 0) out2 += grp;
        out2 += s[i];
      }
      if (d === 0) return out2;
      var c = String(v % unit);
      while (c.length < d) c = "0" + c;
      return out2 + dec + c;
    };
    var say = function (msg, cls) {
      out.textContent = msg; out.className = cls; pay.setCustomValidity(cls === "bad" ? msg : "");
    };
    var check = function () {
      var code = cur ? cur.value : "", floor = floors[code], d = places[code];
      if (floor === undefined) { say("", ""); return; }
      // The pattern with this currency's decimals, which the node wrote on its option.
      var opt = cur.options[cur.selectedIndex];
      if (opt && opt.getAttribute("data-pattern")) pay.pattern = opt.getAttribute("data-pattern");
      var p = minor(pay.value, d), am = ascii(minutes.value);
      var n = am !== null && /^\d+$/.test(am) ? parseInt(am, 10) : NaN;
      if (p === "many") { say(tooMany.replace("{}", code).replace("{}", String(d)), "bad"); return; }
      if (p === null || !(n > 0)) { say("", ""); return; }
      var bn = BigInt(n), rate = p * BigInt(60) / bn, ok = p * BigInt(60) >= floor * bn;
      say(tpls[code].replace("{}", fmt(rate, d)) + " — " +
        form.getAttribute(ok ? "data-ok" : "data-low"), ok ? "ok" : "bad");
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
  // Steps that cannot be undone (accept, reject, withdraw) ask first. Without script the
  // node asks with a page; with it, a dialog, and the form goes with confirm=1.
  // Listened to on the document, so forms a live refresh swaps in ask too.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || !f.getAttribute || !f.getAttribute("data-confirm") || f.elements.confirm) return;
    if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); return; }
    var yes = document.createElement("input");
    yes.type = "hidden"; yes.name = "confirm"; yes.value = "1";
    f.appendChild(yes);
  });

  // The payment form: choosing a member or a currency fills in what is left to pay
  // them in it ("EUR=12,50|JOD=1,000" on each member's option), unless an amount was typed.
  var payForm = document.getElementById("pay-form");
  if (payForm) {
    var who = payForm.elements.member, amount = payForm.elements.amount, money = payForm.elements.currency;
    var filled = amount.value;
    var fill = function (pickCurrency) {
      if (amount.value !== filled) return;
      var opt = who.options[who.selectedIndex], lefts = {}, first = null;
      (opt && opt.getAttribute("data-left") || "").split("|").forEach(function (kv) {
        var p = kv.split("=");
        if (p.length === 2) { lefts[p[0]] = p[1]; if (first === null) first = p[0]; }
      });
      if (pickCurrency && first !== null && !(money.value in lefts)) money.value = first;
      amount.value = lefts[money.value] || "";
      filled = amount.value;
    };
    who.addEventListener("change", function () { fill(true); });
    money.addEventListener("change", function () { fill(false); });
  }

  // Whole-number fields with a least value (data-min): text fields, so that Arabic-Indic
  // and Persian digits can be typed; the least is checked here as the node checks it.
  var mins = document.querySelectorAll("input[data-min]");
  for (var k = 0; k < mins.length; k++) {
    (function (input) {
      var least = parseInt(input.getAttribute("data-min"), 10);
      var check = function () {
        var t = "";
        for (var i = 0; i < input.value.length; i++) {
          var c = input.value.charCodeAt(i);
          if (c >= 0x660 && c <= 0x669) t += String(c - 0x660);
          else if (c >= 0x6f0 && c <= 0x6f9) t += String(c - 0x6f0);
          else if (/[0-9]/.test(input.value[i])) t += input.value[i];
        }
        var n = t === "" ? NaN : parseInt(t, 10);
        input.setCustomValidity(!isNaN(n) && n < least ? input.getAttribute("data-min-msg") || "" : "");
      };
      input.addEventListener("input", check);
      check();
    })(mins[k]);
  }

  // Times: the node writes UTC, says so, and puts the instant in <time datetime>; here
  // they are rewritten in the reader's own time zone and language (Western digits in
  // Arabic, as the rest of the page), the UTC text kept as the title. Parts the live
  // refresh swaps in go through it again.
  localTimes(document);
})();
