/* Small things every page needs (mkdocs.yml extra_javascript); runs again after each of
   Material's instant page swaps (document$).

   - A code or output block that scrolls sideways (on a phone, most do) takes the keyboard
     focus, as axe-core asks of a scrolling region (Material's own code blocks included).
   - A glossary term (<abbr>) takes the focus, so its tooltip (Material's content.tooltips)
     shows from the keyboard and on a tap, not only under a mouse.
   - A figure's lightbox link (glightbox) gets its image's own src as href: the build's figures
     are data: URIs, and hooks/site.py leaves the link without a second copy of one. */
(function () {
  "use strict";

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
