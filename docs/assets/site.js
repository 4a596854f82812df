/* Small things every page needs (mkdocs.yml extra_javascript); runs again after each of
   Material's instant page swaps (document$).

   - A code or output block that scrolls sideways (on a phone, most do) takes the keyboard
     focus, as axe-core asks of a scrolling region (Material's own code blocks included).
   - A glossary term (<abbr>) takes the focus, so its tooltip (Material's content.tooltips)
     shows from the keyboard and on a tap, not only under a mouse.
   - A figure's lightbox link (glightbox) gets its image's own src as href: the build's figures
     are data: URIs, and hooks/site.py leaves the link without a second copy of one.
   - GLightbox itself loads on the first tap on a figure, then opens it: a reader who opens
     none does not download it (18 kB gzipped). hooks/site.py takes mkdocs-glightbox's files
     out of the page and keeps its options in #init-glightbox. */
(function () {
  "use strict";

  const assets = new URL(".", document.currentScript.src);  // this file's folder: assets/
  let lightbox = null;
  let loading = null;

  function loaded(element) {
    return new Promise(function (resolve, reject) {
      element.onload = resolve;
      element.onerror = reject;
      document.head.appendChild(element);
    });
  }

  function loadLightbox() {
    if (!loading) {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = new URL("stylesheets/glightbox.min.css", assets).href;
      const script = document.createElement("script");
      script.src = new URL("javascripts/glightbox.min.js", assets).href;
      loading = Promise.all([loaded(css), loaded(script)]).then(function () {
        const options = document.getElementById("init-glightbox");
        lightbox = window.GLightbox(options ? JSON.parse(options.textContent) : {});
        return lightbox;
      });
    }
    return loading;
  }

  document.addEventListener("click", function (event) {
    if (lightbox) return;  // from the second tap on, GLightbox's own listener opens it
    const link = event.target.closest && event.target.closest("a.glightbox");
    if (!link) return;
    event.preventDefault();
    loadLightbox().then(function (box) { box.open(link); });
  });

  function figureLinks() {
    document.querySelectorAll("a.glightbox:not([href])").forEach(function (link) {
      const image = link.querySelector("img");
      if (!image) return;
      link.setAttribute("href", image.getAttribute("src"));
      link.setAttribute("title", "Open the figure full size");
    });
  }

  function scrollersFocusable() {
    document.querySelectorAll(".md-typeset pre > code, .md-typeset pre, .md-typeset math[display=block]").forEach(function (block) {
      if (block.scrollWidth > block.clientWidth + 1 && !block.hasAttribute("tabindex")) {
        block.setAttribute("tabindex", "0");
      }
    });
  }

  function termsFocusable() {
    document.querySelectorAll(".md-content abbr:not([tabindex])").forEach(function (term) {
      term.setAttribute("tabindex", "0");
    });
  }

  function all() {
    figureLinks();
    if (lightbox) lightbox.reload();  // after an instant page swap: this page's figures
    termsFocusable();
    scrollersFocusable();
  }

  // The page above is parsed when this runs (scripts come last): before GLightbox starts.
  all();
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(all);
  }
  let resized = null;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(scrollersFocusable, 200);
  });
})();
