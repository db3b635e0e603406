// The ledger page's upload refuses a file over the import limit before reading it.
//
// dcc.Upload's max_size keeps the browser from reading or sending such a file, but Dash 4.4's
// Upload drops it without a word (only accepted files reach its props). This says so beside
// the upload, in the note that carries the limit (ui/transactions/importer.py).
(function () {
  "use strict";
  function refuseLargeFile(event) {
    var area = event.target.closest && event.target.closest(".ledger-upload");
    var note = document.getElementById("ledger-upload-refused");
    if (!area || !note) return;
    var files = (event.dataTransfer || event.target).files || [];
    if (!files.length) return;
    var max = Number(note.dataset.maxBytes);
    var file = files[0];
    note.textContent = file.size > max
      ? file.name + " is " + (file.size / 1e6).toFixed(1) + " MB; a ledger file may be at most "
        + max / 1e6 + " MB. Nothing was read or imported."
      : "";
  }
  document.addEventListener("change", refuseLargeFile, true);
  document.addEventListener("drop", refuseLargeFile, true);
})();
