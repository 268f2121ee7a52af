// A classic (non-module) script, so it runs even where the modules cannot: module scripts run
// before "load", so an app not ready by then failed to load or start (a missing asset, a wrong
// Content-Type for .js, a browser without ES modules). A file, not inline, so the server's
// Content-Security-Policy can forbid inline scripts.
addEventListener('load', function () {
  var banner = document.getElementById('error-banner');
  if ((window.__xy && window.__xy.ready) || !banner.hidden) return;
  banner.querySelector('.banner-text').textContent =
    'The page\u2019s scripts did not start. Reload, or check the server log.';
  banner.hidden = false;
});
