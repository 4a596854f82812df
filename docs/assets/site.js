/* Small things every page needs (mkdocs.yml extra_javascript); runs again after each of
   Material's instant page swaps (document$).

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

  // The page above is parsed when this runs (scripts come last): before GLightbox starts.
  figureLinks();
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(figureLinks);
  }
})();
