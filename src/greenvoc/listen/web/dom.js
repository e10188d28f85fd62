// greenvoc listening test: the one DOM helper of the rater's pages and the admin dashboard.
"use strict";

// el("button", { class: "primary", onclick: f, disabled: true }, "Start"): an element with its
// attributes (on* are listeners; true → present, false/null/undefined → absent) and children
// (nodes, or text; null/undefined/false are skipped).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) {
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  return node;
}
