// Tables read as cards on a phone: each cell gets its column's heading (data-label, shown by app.css
// under 640px), and every list table sits in a box that scrolls sideways on its own when a tablet is
// too narrow for it, so the page itself never does. A static file: the Content-Security-Policy allows no
// inline script.
(function () {
  "use strict";
  function label(table) {
    var heads = table.tHead ? table.tHead.rows[0] : null;
    if (!heads) return;
    var names = [];
    for (var i = 0; i < heads.cells.length; i++) {
      var span = heads.cells[i].colSpan || 1;
      for (var s = 0; s < span; s++) names.push(heads.cells[i].textContent.trim());
    }
    for (var b = 0; b < table.tBodies.length; b++) {
      var rows = table.tBodies[b].rows;
      for (var r = 0; r < rows.length; r++) {
        var column = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          if (!cell.hasAttribute("data-label") && names[column]) cell.setAttribute("data-label", names[column]);
          column += cell.colSpan || 1;
        }
      }
    }
  }
  function wrap(table) {
    if (table.parentElement && table.parentElement.classList.contains("table-scroll")) return;
    var box = document.createElement("div");
    box.className = "table-scroll";
    box.tabIndex = 0; // a box that scrolls is reachable by keyboard
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
  }
  function run() {
    var tables = document.querySelectorAll("table.list");
    for (var t = 0; t < tables.length; t++) {
      label(tables[t]);
      wrap(tables[t]);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
