// The console's own script. Pages work without it; with it, countdowns run, pages marked
// data-live refresh their content in place, and the browser's timezone is remembered.
(function () {
  "use strict";
  var zh = document.body.dataset.lang === "zh";
  // Deadlines run on the server's clock (which a demo may move): count from its "now", not the
  // device's, which may be wrong or in another century.
  var skew = document.body.dataset.now ? Date.parse(document.body.dataset.now) - Date.now() : 0;

  function words(ms) {
    if (ms <= 0) return zh ? "已到期" : "due now";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (zh) return (d ? d + "天" : "") + (d || h ? h + "小时" : "") + m + "分" + (d ? "" : sec + "秒");
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m" + (d ? "" : " " + sec + "s");
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = words(left);
      el.classList.toggle("overdue", left <= 0);
    });
  }

  function busy(main) {
    // Never replace what someone is typing into or about to submit.
    var active = document.activeElement;
    if (active && main.contains(active) && /INPUT|SELECT|TEXTAREA|BUTTON/.test(active.tagName)) return true;
    return Array.prototype.some.call(main.querySelectorAll("input[type=text],input[type=number],textarea,input[type=file]"),
      function (el) { return el.value; }) ||
      Array.prototype.some.call(main.querySelectorAll("input[type=checkbox]"), function (el) { return el.checked !== el.defaultChecked; });
  }

  function live() {
    var main = document.getElementById("main");
    var every = main && parseInt(main.dataset.live || "0", 10);
    if (!every) return;
    setInterval(function () {
      if (document.hidden || busy(main)) return;
      fetch(location.href, { headers: { "X-Console-Refresh": "1" }, credentials: "same-origin" })
        .then(function (r) { return r.ok && r.redirected === false ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (fresh && fresh.innerHTML !== main.innerHTML && !busy(main)) {
            main.innerHTML = fresh.innerHTML;
            Object.keys(fresh.dataset).forEach(function (k) { main.dataset[k] = fresh.dataset[k]; });
            var at = /data-now="([^"]+)"/.exec(html);
            if (at) skew = Date.parse(at[1]) - Date.now();
            tick();
          }
        })
        .catch(function () {});
    }, every * 1000);
  }

  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("aftersales_tz=" + zone) < 0) {
      document.cookie = "aftersales_tz=" + encodeURIComponent(zone) + "; path=/console; max-age=31536000; samesite=lax";
    }
  } catch (e) {}
  tick();
  setInterval(tick, 1000);
  live();
})();
