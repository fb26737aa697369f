(function () {
  "use strict";
  /* The page's only script (allowed by hash in its Content-Security-Policy). It records any error
     or blocked content into #page-errors, so a browser test can read them from the DOM, and makes
     tables with data-key headers sortable: click a header, or open the page as #sort=KEY
     (ascending) or #sort=-KEY (descending). */
  var root = document.documentElement;
  var errors = [];

  function show() {
    var list = document.getElementById("page-errors");
    if (!list) { return; }
    while (list.childElementCount < errors.length) {
      var item = document.createElement("li");
      item.textContent = errors[list.childElementCount];
      list.appendChild(item);
    }
    list.hidden = errors.length === 0;
  }

  function record(text) {
    errors.push(String(text));
    root.setAttribute("data-page-errors", String(errors.length));
    show();
  }

  window.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target !== window && target.tagName) {
      record("could not load <" + target.tagName.toLowerCase() + "> " + (target.src || target.href || ""));
    } else {
      record((event.message || "error") + (event.lineno ? " (line " + event.lineno + ")" : ""));
    }
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    record("unhandled rejection: " + event.reason);
  });
  document.addEventListener("securitypolicyviolation", function (event) {
    record("blocked by the page's security policy: " + event.violatedDirective + " " +
           (event.blockedURI || "inline"));
  });

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = "";
    if (cell) {
      raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    }
    if (numeric) { return raw === "" ? NaN : Number(raw); }
    return raw.toLowerCase();
  }

  function sortBy(th, descending) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "number";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric);
      var y = cellValue(b, index, numeric);
      if (numeric) {
        if (isNaN(x) || isNaN(y)) { return isNaN(x) === isNaN(y) ? 0 : (isNaN(x) ? 1 : -1); }
        return descending ? y - x : x - y;
      }
      var c = x.localeCompare(y, undefined, { numeric: true });
      return descending ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (cell) { cell.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted-by", th.getAttribute("data-key") + (descending ? ":desc" : ":asc"));
  }

  function header(key) {
    var all = document.querySelectorAll("th[data-key]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-key") === key) { return all[i]; }
    }
    return null;
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("th[data-key] button"), function (button) {
      button.addEventListener("click", function () {
        var th = button.closest("th");
        var current = th.getAttribute("aria-sort");
        var descending = current ? current === "ascending" : th.getAttribute("data-type") === "number";
        sortBy(th, descending);
        try {
          history.replaceState(null, "", "#sort=" + (descending ? "-" : "") + th.getAttribute("data-key"));
        } catch (e) { /* a file:// page may refuse; sorting still works */ }
      });
    });
    var wanted = /^#sort=(-?)([A-Za-z0-9_.:-]+)$/.exec(location.hash);
    if (wanted) {
      var th = header(wanted[2]);
      if (th) {
        sortBy(th, wanted[1] === "-");
      } else {
        record("no column to sort by: " + wanted[2]);
      }
    }
    root.setAttribute("data-script", "ran");
    show();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
