/* The padding explorer (docs/explore.md): draws one convolution layer's padded input,
   its outputs and their windows, from the table the build exports (snippets/explore.py).

   The padding, output sizes and gradient counts all come from that table. The only
   arithmetic here is the forward formula that places tap a of output i at padded
   position i * stride + a * dilation; every window it gives is checked against the
   exported counts before anything is drawn (and tests/browser/test_explorer.py checks
   it for every layer of the grid against snippets/explore.py's reach). */
(function () {
  "use strict";
  // Loaded again by each of Material's instant page swaps to a page that has it: the first
  // copy's document$ subscription draws every explorer that comes in.
  if (window.PaddingExplorer) return;

  const SVG_NS = "http://www.w3.org/2000/svg";
  const CELL = 30;
  const MIN_CELL_PX = 26; // a cell is never drawn smaller (the figure scrolls sideways instead)
  const ROW_GAP = 64; // between the input row and the output row (1-D)
  const AXES = [
    ["size", "sizes", "Input length"],
    ["kernel", "kernels", "Kernel size"],
    ["stride", "strides", "Stride"],
    ["dilation", "dilations", "Dilation"],
    ["padding", "paddings", "Padding"],
  ];

  /* ---------- the table, and what it says about one layer ---------- */

  function entryOf(table, layer) {
    const at = (axis, value) => table[axis].indexOf(value);
    const positions = [at("paddings", layer.padding), at("dilations", layer.dilation),
      at("strides", layer.stride), at("kernels", layer.kernel), at("sizes", layer.size)];
    if (positions.some((p) => p < 0)) return undefined;
    const lengths = [table.paddings, table.dilations, table.strides, table.kernels,
      table.sizes].map((axis) => axis.length);
    const index = positions.reduce((flat, p, axis) => flat * lengths[axis] + p, 0);
    return table.layers[index];
  }

  function tuple(value, rank) {
    return rank === 1 ? "(" + value + ",)" : "(" + value + ", " + value + ")";
  }

  /* Keras's own words (Keras 3: keras/src/layers/convolutional/base_conv.py and
     keras/src/ops/operation_utils.py), for a batch of one image with one channel. */
  function kerasRefusal(table, layer, entry) {
    const rank = layer.rank;
    if (rank === 2 && table.paddings_2d.indexOf(layer.padding) < 0) {
      return "The `padding` argument must be a list/tuple or one of {'valid', 'same'}. " +
        "Received: " + layer.padding;
    }
    if (entry === null) {
      return "`strides > 1` not supported in conjunction with `dilation_rate > 1`. " +
        "Received: strides=" + tuple(layer.stride, rank) +
        " and dilation_rate=" + tuple(layer.dilation, rank);
    }
    if (entry[2] === 0) {
      const n = layer.size, k = layer.kernel;
      const input = rank === 1 ? "(1, " + n + ", 1)" : "(1, " + n + ", " + n + ", 1)";
      const kernel = rank === 1 ? "(" + k + ", 1, 1)" : "(" + k + ", " + k + ", 1, 1)";
      const dilation = rank === 1 ? "[" + layer.dilation + "]" :
        "[" + layer.dilation + " " + layer.dilation + "]";
      return "Computed output size would be zero or negative. Received `inputs shape=" +
        input + "`, `kernel shape=" + kernel + "`, `dilation_rate=" + dilation +
        "`, `strides=" + tuple(layer.stride, rank) + "`, `padding=" + layer.padding + "`.";
    }
    return null;
  }

  /* Along one axis: each output's taps, as padded positions and input pixels (null on
     padding), and how many outputs read each pixel. */
  function axisWindows(layer, entry) {
    const [before, , outputs] = entry;
    const windows = [];
    const counts = new Array(layer.size).fill(0);
    for (let i = 0; i < outputs; i++) {
      const taps = [];
      for (let a = 0; a < layer.kernel; a++) {
        const padded = i * layer.stride + a * layer.dilation;
        const pixel = padded - before;
        const inside = pixel >= 0 && pixel < layer.size;
        taps.push({ padded: padded, pixel: inside ? pixel : null });
        if (inside) counts[pixel] += 1;
      }
      windows.push(taps);
    }
    return { windows: windows, counts: counts };
  }

  /* Everything drawn for one layer, or the reason there is nothing to draw. */
  function describe(table, layer) {
    const entry = entryOf(table, layer);
    if (entry === undefined) return { error: "this layer is outside the exported table" };
    const refusal = kerasRefusal(table, layer, entry);
    if (refusal) return { refusal: refusal };
    const axis = axisWindows(layer, entry);
    const exported = entry.slice(3);
    if (axis.counts.join() !== exported.join()) {
      return { error: "the windows give counts " + axis.counts.join(",") +
        " but the build exported " + exported.join(",") };
    }
    const valid = entryOf(table, Object.assign({}, layer, { padding: "valid" }));
    return {
      before: entry[0], after: entry[1], outputs: entry[2], counts: exported,
      windows: axis.windows,
      validCounts: valid && valid[2] > 0 ? valid.slice(3) : null,
    };
  }

  /* ---------- drawing ---------- */

  function svgElement(name, attributes, parent) {
    const element = document.createElementNS(SVG_NS, name);
    for (const key in attributes) element.setAttribute(key, attributes[key]);
    if (parent) parent.appendChild(element);
    return element;
  }

  function htmlElement(name, attributes, parent, text) {
    const element = document.createElement(name);
    for (const key in attributes) element.setAttribute(key, attributes[key]);
    if (text !== undefined) element.textContent = text;
    if (parent) parent.appendChild(element);
    return element;
  }

  function cell(parent, x, y, classes, label, attributes) {
    const group = svgElement("g", Object.assign({ class: classes }, attributes), parent);
    svgElement("rect", { x: x + 1, y: y + 1, width: CELL - 2, height: CELL - 2, rx: 3 }, group);
    if (label !== "") {
      const text = svgElement("text", { x: x + CELL / 2, y: y + CELL / 2 + 4,
        "text-anchor": "middle" }, group);
      text.textContent = label;
    }
    return group;
  }

  function cross(group, x, y) {
    svgElement("path", { class: "pe-cross", d: "M" + (x + 6) + " " + (y + 6) + "L" +
      (x + CELL - 6) + " " + (y + CELL - 6) + "M" + (x + CELL - 6) + " " + (y + 6) + "L" +
      (x + 6) + " " + (y + CELL - 6) }, group);
  }

  const key = (position) => position.join(",");

  class Explorer {
    constructor(root, table) {
      this.root = root;
      this.table = table;
      const data = root.dataset;
      this.layer = {
        rank: Number(data.rank || 1), size: Number(data.size), kernel: Number(data.kernel),
        stride: Number(data.stride), dilation: Number(data.dilation), padding: data.padding,
      };
      this.build();
      this.render();
    }

    build() {
      const root = this.root;
      this.controls = htmlElement("form", { class: "pe-controls" }, root);
      this.controls.addEventListener("submit", (event) => event.preventDefault());
      const id = "pe-" + Math.random().toString(36).slice(2, 8);
      const choices = [["rank", [1, 2], "Dimensions"]].concat(
        AXES.map(([name, axis, label]) => [name, this.table[axis], label]));
      for (const [name, values, label] of choices) {
        const field = htmlElement("span", { class: "pe-field" }, this.controls);
        htmlElement("label", { for: id + "-" + name }, field, label);
        const select = htmlElement("select", { id: id + "-" + name, name: name }, field);
        for (const value of values) {
          const text = name === "rank" ? value + "-D" : String(value);
          const option = htmlElement("option", { value: String(value) }, select, text);
          option.selected = value === this.layer[name];
        }
        if (values.length < 2) field.hidden = true;
        select.addEventListener("change", () => {
          this.layer[name] = name === "padding" ? select.value : Number(select.value);
          this.render();
        });
      }
      this.summary = htmlElement("p", { class: "pe-summary" }, root);
      this.hint = htmlElement("p", { class: "pe-hint" }, root,
        "Click or tap a cell (or Tab to the grid and use the arrow keys) to see what it reads.");
      this.figure = htmlElement("div", { class: "pe-figure", role: "region",
        "aria-label": "The layer's cells" }, root);
      this.status = htmlElement("p", { class: "pe-status", role: "status",
        "aria-live": "polite" }, root);
      this.legend = htmlElement("p", { class: "pe-legend" }, root,
        "Numbers in the input: gradient terms per pixel. Shaded cells: padding. " +
        "Crossed-out cells: taps that land on padding.");
    }

    render() {
      const layer = this.layer;
      this.figure.textContent = "";
      this.shown = describe(this.table, layer);
      const shown = this.shown;
      if (shown.error) {
        console.error("padding explorer: " + shown.error);
        this.summary.textContent = "";
        this.status.textContent = "The explorer cannot draw this layer: " + shown.error + ".";
        return;
      }
      if (shown.refusal) {
        this.summary.textContent = "";
        this.legend.hidden = true;
        this.status.textContent = "Keras refuses this layer: ValueError: " + shown.refusal;
        this.root.classList.add("is-refused");
        return;
      }
      this.root.classList.remove("is-refused");
      this.legend.hidden = false;
      const each = layer.rank === 2 ? " on each axis" : "";
      const outputs = layer.rank === 2 ? shown.outputs + " × " + shown.outputs : shown.outputs;
      this.summary.textContent = "Padding" + each + ": " + shown.before + " before, " +
        shown.after + " after the input. Output: " + outputs + " positions.";
      this.status.textContent = "Select an input pixel or an output.";
      const most = Math.max.apply(null, shown.counts);
      this.mostRead = Math.max(1, layer.rank === 2 ? most * most : most);
      if (layer.rank === 1) this.draw1d(); else this.draw2d();
      // Start with something to read: the first output and the taps of its window.
      if (this.outputCells.length) this.select(this.outputCells[0]);
    }

    draw1d() {
      const { before, after, outputs, counts, windows } = this.shown;
      const layer = this.layer;
      const padded = before + layer.size + after;
      const span = (layer.kernel - 1) * layer.dilation + 1;
      const top = 6, outputTop = top + CELL + ROW_GAP;
      const width = Math.max(padded, 1) * CELL;
      const svg = svgElement("svg", { class: "pe-svg", viewBox: "0 0 " + width + " " +
        (outputTop + CELL + 6), role: "group", "aria-label": "The padded input and the outputs" });
      svg.style.maxWidth = Math.max(width * 1.2, 240) + "px";
      svg.style.minWidth = width * MIN_CELL_PX / CELL + "px";
      this.links = svgElement("g", { class: "pe-links", "aria-hidden": "true" }, svg);
      const inputs = svgElement("g", { role: "group", "aria-label": "Input pixels" }, svg);
      const padding = svgElement("g", { "aria-hidden": "true" }, svg);
      const outs = svgElement("g", { role: "group", "aria-label": "Outputs" }, svg);
      this.cells = new Map(); // padded position -> its <g>
      this.inputCells = [];
      for (let p = 0; p < padded; p++) {
        const pixel = p - before, x = p * CELL;
        if (pixel < 0 || pixel >= layer.size) {
          this.cells.set(String(p), cell(padding, x, top, "pe-pad", "", { "data-padded": p }));
          continue;
        }
        const group = this.interactive(inputs, cell(inputs, x, top, "pe-input", String(counts[pixel]),
          { "data-padded": p, "data-pixel": pixel }), "input", [pixel],
          "Input pixel " + pixel + ", " + this.terms(counts[pixel]));
        group.querySelector("rect").style.fillOpacity = this.heat(counts[pixel]);
        this.cells.set(String(p), group);
        this.inputCells.push(group);
      }
      this.outputCells = [];
      this.centres = [];
      for (let i = 0; i < outputs; i++) {
        const centre = (i * layer.stride + (span - 1) / 2 + 0.5) * CELL;
        this.centres.push(centre);
        this.outputCells.push(this.interactive(outs, cell(outs, centre - CELL / 2, outputTop,
          "pe-output", "y" + i, { "data-output": i }), "output", [i], "Output y" + i));
      }
      this.rowY = { input: top + CELL, output: outputTop };
      this.windowsOf = (i) => windows[i[0]].map((tap) => ({
        cell: String(tap.padded), pixel: tap.pixel === null ? null : [tap.pixel],
      }));
      this.readersOf = (pixel) => windows.map((taps, i) => [i])
        .filter(([i]) => windows[i].some((tap) => tap.pixel === pixel[0]));
      this.countOf = (pixel) => counts[pixel[0]];
      this.validCountOf = (pixel) => this.shown.validCounts && this.shown.validCounts[pixel[0]];
      this.finishGroups([this.inputCells, this.outputCells]);
      this.figure.appendChild(svg);
    }

    draw2d() {
      const { before, after, outputs, counts, windows } = this.shown;
      const layer = this.layer;
      const padded = before + layer.size + after;
      const top = 6, outputTop = top + padded * CELL + 28;
      const width = Math.max(padded, outputs) * CELL;
      const svg = svgElement("svg", { class: "pe-svg", viewBox: "0 0 " + width + " " +
        (outputTop + outputs * CELL + 6), role: "group",
        "aria-label": "The padded input grid and the output grid" });
      svg.style.maxWidth = Math.max(width * 1.2, 240) + "px";
      svg.style.minWidth = width * MIN_CELL_PX / CELL + "px";
      this.links = null;
      const inputs = svgElement("g", { role: "group", "aria-label": "Input pixels" }, svg);
      const padding = svgElement("g", { "aria-hidden": "true" }, svg);
      const outs = svgElement("g", { role: "group", "aria-label": "Outputs" }, svg);
      this.cells = new Map();
      this.inputCells = [];
      for (let r = 0; r < padded; r++) {
        for (let c = 0; c < padded; c++) {
          const row = r - before, col = c - before, x = c * CELL, y = top + r * CELL;
          const inside = row >= 0 && row < layer.size && col >= 0 && col < layer.size;
          if (!inside) {
            this.cells.set(r + "," + c, cell(padding, x, y, "pe-pad", "", { "data-padded": r + "," + c }));
            continue;
          }
          const count = counts[row] * counts[col];
          const group = this.interactive(inputs, cell(inputs, x, y, "pe-input", String(count),
            { "data-padded": r + "," + c, "data-pixel": row + "," + col }), "input", [row, col],
            "Input pixel (" + row + ", " + col + "), " + this.terms(count));
          group.querySelector("rect").style.fillOpacity = this.heat(count);
          this.cells.set(r + "," + c, group);
          this.inputCells.push(group);
        }
      }
      this.outputCells = [];
      const left = (width - outputs * CELL) / 2;
      const caption = svgElement("text", { x: left, y: outputTop - 8, class: "pe-caption",
        "aria-hidden": "true" }, svg);
      caption.textContent = "outputs";
      for (let i = 0; i < outputs; i++) {
        for (let j = 0; j < outputs; j++) {
          this.outputCells.push(this.interactive(outs, cell(outs, left + j * CELL,
            outputTop + i * CELL, "pe-output", "", { "data-output": i + "," + j }), "output",
          [i, j], "Output (" + i + ", " + j + ")"));
        }
      }
      this.windowsOf = ([i, j]) => windows[i].flatMap((down) => windows[j].map((across) => ({
        cell: down.padded + "," + across.padded,
        pixel: down.pixel === null || across.pixel === null ? null : [down.pixel, across.pixel],
      })));
      const readers1d = (pixel) => windows.map((taps, i) => i)
        .filter((i) => windows[i].some((tap) => tap.pixel === pixel));
      this.readersOf = ([row, col]) => readers1d(row).flatMap((i) => readers1d(col).map((j) => [i, j]));
      this.countOf = ([row, col]) => counts[row] * counts[col];
      this.validCountOf = ([row, col]) => this.shown.validCounts &&
        this.shown.validCounts[row] * this.shown.validCounts[col];
      this.finishGroups([this.inputCells, this.outputCells], layer.size, outputs);
      this.figure.appendChild(svg);
    }

    /* Shade relative to the most-read pixel of this layer: the border's deficit shows. */
    heat(count) {
      return (0.06 + 0.54 * count / this.mostRead).toFixed(3);
    }

    terms(count) {
      return count === 1 ? "1 gradient term" : count + " gradient terms";
    }

    interactive(parent, group, kind, position, label) {
      group.setAttribute("tabindex", "-1");
      group.setAttribute("role", "button");
      group.setAttribute("aria-pressed", "false");
      group.setAttribute("aria-label", label);
      group.peKind = kind;
      group.pePosition = position;
      group.addEventListener("click", () => this.select(group));
      group.addEventListener("keydown", (event) => this.key(event, group));
      return group;
    }

    /* One tab stop per group (the roving tabindex); arrows move inside it. */
    finishGroups(groups, inputColumns, outputColumns) {
      const columns = [inputColumns || 1, outputColumns || 1];
      groups.forEach((cells, which) => {
        cells.forEach((group, index) => {
          group.peGroup = cells;
          group.peIndex = index;
          group.peColumns = this.layer.rank === 2 ? columns[which] : cells.length;
        });
        if (cells.length) cells[0].setAttribute("tabindex", "0");
      });
    }

    key(event, group) {
      const cells = group.peGroup, index = group.peIndex, columns = group.peColumns;
      const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns,
        Home: -index, End: cells.length - 1 - index };
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.select(group);
      } else if (event.key in moves) {
        if (this.layer.rank === 1 && (event.key === "ArrowUp" || event.key === "ArrowDown")) return;
        event.preventDefault();
        const next = cells[Math.min(cells.length - 1, Math.max(0, index + moves[event.key]))];
        group.setAttribute("tabindex", "-1");
        next.setAttribute("tabindex", "0");
        next.focus();
      }
    }

    clear() {
      for (const element of this.root.querySelectorAll(".is-selected, .is-hit, .is-tap")) {
        element.classList.remove("is-selected", "is-hit", "is-tap", "is-on-padding");
        if (element.hasAttribute("aria-pressed")) element.setAttribute("aria-pressed", "false");
      }
      for (const mark of this.root.querySelectorAll(".pe-cross")) mark.remove();
      if (this.links) this.links.textContent = "";
    }

    select(group) {
      this.clear();
      for (const other of group.peGroup) other.setAttribute("tabindex", other === group ? "0" : "-1");
      group.classList.add("is-selected");
      group.setAttribute("aria-pressed", "true");
      if (group.peKind === "input") this.showReaders(group.pePosition);
      else this.showWindow(group.pePosition);
    }

    name(position) {
      return position.length === 1 ? String(position[0]) : "(" + position.join(", ") + ")";
    }

    showReaders(pixel) {
      const readers = this.readersOf(pixel);
      const byKey = new Map(this.outputCells.map((g) => [key(g.pePosition), g]));
      for (const output of readers) {
        byKey.get(key(output)).classList.add("is-hit");
        if (this.links) this.link(output[0], this.cells.get(String(pixel[0] + this.shown.before)), false);
      }
      const count = this.countOf(pixel);
      const valid = this.validCountOf(pixel);
      const names = readers.map((o) => (o.length === 1 ? "y" : "") + this.name(o));
      let text = "Input pixel " + this.name(pixel) + " is read by " +
        (readers.length ? (readers.length === 1 ? "output " : "outputs ") + names.join(", ") : "no output") +
        ": its gradient sums " + this.terms(count).replace(" gradient", "") + ".";
      if (this.layer.padding !== "valid") {
        text += valid === null ? " Under \"valid\" this layer would have no output at all." :
          " Under \"valid\" it would sum " + valid + ".";
      }
      this.status.textContent = text;
    }

    showWindow(output) {
      const taps = this.windowsOf(output);
      const onPadding = [];
      const pixels = [];
      taps.forEach((tap, a) => {
        const group = this.cells.get(tap.cell);
        group.classList.add("is-tap");
        if (tap.pixel === null) {
          group.classList.add("is-on-padding");
          const rect = group.querySelector("rect");
          cross(group, Number(rect.getAttribute("x")) - 1, Number(rect.getAttribute("y")) - 1);
          onPadding.push(a);
        } else {
          pixels.push(this.name(tap.pixel));
        }
        if (this.links) this.link(output[0], group, tap.pixel === null);
      });
      const tapName = (a) => this.layer.rank === 1 ? String(a) :
        "(" + Math.floor(a / this.layer.kernel) + ", " + (a % this.layer.kernel) + ")";
      const label = (output.length === 1 ? "y" : "") + this.name(output);
      this.status.textContent = "Output " + label + " reads " +
        (pixels.length ? "input pixels " + pixels.join(", ") : "no input pixel") + "; " +
        (onPadding.length ? onPadding.length + " of its " + taps.length + " taps land on padding (" +
          (onPadding.length === 1 ? "tap " : "taps ") + onPadding.map(tapName).join(", ") + ")." :
          "none of its " + taps.length + " taps lands on padding.");
    }

    link(output, group, onPadding) {
      const rect = group.querySelector("rect");
      const x = Number(rect.getAttribute("x")) + CELL / 2 - 1;
      svgElement("line", { x1: this.centres[output], y1: this.rowY.output, x2: x,
        y2: this.rowY.input, class: onPadding ? "pe-link is-on-padding" : "pe-link" }, this.links);
    }
  }

  function init(root) {
    if (root.peExplorer) return;
    const source = root.querySelector(".padding-explorer-data");
    let table;
    try {
      table = JSON.parse(source.textContent);
    } catch (error) {
      console.error("padding explorer: its data is not JSON (" + error.message + ")");
      return;
    }
    root.peExplorer = new Explorer(root, table);
  }

  function initAll() {
    document.querySelectorAll(".padding-explorer").forEach(init);
  }

  // For the browser tests: the same windows the page draws, for any layer of a table.
  window.PaddingExplorer = { describe: describe, entryOf: entryOf };

  // Material's instant navigation swaps pages without reloading: document$ emits on each.
  // This script sits in the page's content (overrides/main.html), before Material's bundle
  // defines document$ on a first load: subscribe once the page has loaded.
  const subscribe = () => {
    if (window.document$ && typeof window.document$.subscribe === "function") {
      window.document$.subscribe(initAll);
    } else {
      initAll();
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", subscribe);
  } else {
    subscribe();
  }
})();
