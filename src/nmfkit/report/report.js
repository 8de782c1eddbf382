// nmfkit report: sortable tables, no network, no libraries.
(function () {
  "use strict";
  function cellValue(cell) {
    var raw = cell.getAttribute("data-value");
    var text = raw !== null ? raw : cell.textContent.trim();
    var number = Number(text);
    return { text: text, number: text !== "" && isFinite(number) ? number : null };
  }
  function sortTable(table, column, th) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var keyed = rows.map(function (row, i) { return { row: row, i: i, v: cellValue(row.cells[column]) }; });
    var numeric = keyed.every(function (k) { return k.v.number !== null || k.v.text === ""; });
    keyed.sort(function (a, b) {
      var d;
      if (numeric) { d = (a.v.number === null ? -Infinity : a.v.number) - (b.v.number === null ? -Infinity : b.v.number); }
      else { d = a.v.text.localeCompare(b.v.text, undefined, { numeric: true, sensitivity: "base" }); }
      return (ascending ? d : -d) || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  function makeSortable(table) {
    if (!table.tHead || !table.tHead.rows.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.title = "Sort by " + th.textContent.trim();
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      // The whole heading cell sorts; a click (or Enter) on the button bubbles up to it.
      th.addEventListener("click", function () { sortTable(table, column, th); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  });
})();
