// The book's search page lists results as they are found; their titles may hold equations
// ("... from one sample to \(K\)"), which MathJax typeset only at page load. Typeset each batch.
document.addEventListener("DOMContentLoaded", () => {
  const results = document.getElementById("search-results");
  if (!results) return;
  let waiting = null;
  const observer = new MutationObserver(() => {
    results.dataset.typeset = "false";
    clearTimeout(waiting);
    waiting = setTimeout(async () => {
      if (!window.MathJax || !MathJax.typesetPromise) return;
      observer.disconnect(); // typesetting changes the results: not a new batch
      await MathJax.startup.promise;
      await MathJax.typesetPromise([results]);
      results.dataset.typeset = "true";
      observer.observe(results, { childList: true, subtree: true });
    }, 50);
  });
  observer.observe(results, { childList: true, subtree: true });
});
