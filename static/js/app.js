// Small behaviours of the site's pages, here rather than inline so the Content-Security-Policy
// (script-src 'self', no inline code) allows them.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action='print']")) window.print();
});
