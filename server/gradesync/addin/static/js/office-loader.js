// Load Office.js only inside an Office host. Office opens add-in pages with
// `_host_Info` in the URL (and Office.js keeps it in sessionStorage on
// reloads); a plain browser has neither, and then the page says it must run
// inside Excel instead of failing to reach the Office.js CDN.
(function () {
  var inOffice =
    /[?&]_host_Info=/.test(window.location.search) ||
    (function () {
      try {
        return !!window.sessionStorage.getItem("hostInfoValue");
      } catch (e) {
        return false;
      }
    })();
  window.gradesyncInOffice = inOffice;
  if (inOffice) {
    document.write(
      '<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js"><\/script>',
    );
  }
})();
