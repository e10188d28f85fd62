// greenvoc listening test: the rating pages (ACR, MUSHRA, A/B) and their transport.
// Loaded before app.js, whose helpers (el, show, api, engine, drafts, …) it calls.
"use strict";

const ACR_LABELS = { 5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad" };
// ITU-R BS.1534: the continuous quality scale's five bands, bottom to top.
const MUSHRA_BANDS = ["Bad", "Poor", "Fair", "Good", "Excellent"];

// ---- shared pieces of the rating pages ---------------------------------------------------

// Transport controls (play/pause, stop, loop) and the timeline of `waveId`.
function transport(waveId, { loop = true, label = "Play" } = {}) {
  const playBtn = el("button", { class: "play primary-outline", id: "play",
    "aria-keyshortcuts": "Space" }, `▶ ${label}`);
  const stopBtn = el("button", { class: "ghost", id: "stop" }, "■ Stop");
  const loopBox = el("input", { type: "checkbox", id: "loop" });
  const clearBtn = el("button", { class: "ghost small", id: "clear-region", hidden: true },
    "Whole clip");
  const time = el("span", { class: "time", "aria-hidden": "true" }, "");
  const timeline = new Timeline(engine, waveId, { selectable: loop, wave: loop });
  const refresh = () => {
    playBtn.textContent = engine.playing ? "❚❚ Pause" : `▶ ${label}`;
    playBtn.classList.toggle("playing", engine.playing);
    loopBox.checked = engine.loop;
    clearBtn.hidden = !engine.region;
    time.textContent = `${formatTime(engine.position())} / ${formatTime(engine.duration(waveId))}`;
  };
  timeline.onframe = () => {
    time.textContent = `${formatTime(engine.position())} / ${formatTime(engine.duration(waveId))}`;
  };
  stopBtn.addEventListener("click", () => engine.stop());
  loopBox.addEventListener("change", () => engine.setLoop(loopBox.checked));
  clearBtn.addEventListener("click", () => engine.setRegion(null));
  const off = engine.on(refresh);
  const node = el("div", { class: "transport" },
    el("div", { class: "controls" }, playBtn, stopBtn,
      loop ? el("label", { class: "check inline-check" }, loopBox, " Loop") : null,
      loop ? clearBtn : null, time),
    timeline.root);
  requestAnimationFrame(() => { timeline.draw(); refresh(); });
  return { node, playBtn, refresh, dispose: () => { off(); timeline.dispose(); } };
}

function loadingView(text) {
  return [el("p", { class: "loading", role: "status" }, text)];
}

async function decodePage(s, ids) {
  const key = `loading-${s.page.item}`;
  show(key, loadingView("Loading audio…"));
  await engine.load(ids, (done, total) => {
    const p = app.querySelector(".loading");
    if (p) p.textContent = `Loading audio… ${done} of ${total}`;
  });
}

function submitAnswer(page, body, button) {
  button.disabled = true;
  return api("POST", "/api/ratings", { item: page.item, ...body })
    .then((s) => { drafts.clear(page.item); render(s); })
    .catch((e) => { button.disabled = false; fail(e); });
}

// The page's Submit, with its keyboard shortcuts beside it (hidden on touch screens).
function actions(s, submit) {
  return el("div", { class: "actions" }, el("p", { class: "keys muted" }, SHORTCUTS[s.test_type]),
    submit);
}

function pageTitle(s, text) {
  return el("div", { class: "page-head" },
    s.page.training ? el("span", { class: "badge" }, "Practice – does not count") : null,
    el("h1", { id: "page-title", tabindex: "-1" }, text));
}

// ---- ACR --------------------------------------------------------------------------------

async function acrPage(s) {
  const page = s.page;
  const stim = page.stimuli[0];
  await decodePage(s, [stim]);
  let heard = page.played.includes(stim);
  const t = transport(stim, { loop: false });
  const radios = [5, 4, 3, 2, 1].map((v) => el("input",
    { type: "radio", name: "acr", value: String(v), id: `acr-${v}`, disabled: !heard }));
  const submit = el("button", { class: "primary", id: "submit", disabled: true }, "Submit");
  const status = el("p", { class: "hint", role: "status" });
  const update = () => {
    const chosen = radios.find((r) => r.checked);
    submit.disabled = !(heard && chosen);
    status.textContent = !heard ? "Listen to the whole recording to rate it."
      : chosen ? "" : "Choose a rating.";
  };
  const draft = drafts.get(page.item);
  if (draft) {
    const r = radios.find((x) => Number(x.value) === draft.score);
    if (r) r.checked = true;
  }
  radios.forEach((r) => r.addEventListener("change", () => {
    drafts.set(page.item, { score: Number(r.value) }); update();
  }));
  t.playBtn.addEventListener("click", () => engine.toggle(stim).catch(fail));
  const off = engine.on((type, id) => {
    if (type === "started") reportPlay(id, "started");
    if (type === "ended") {
      reportPlay(id, "ended");
      if (!heard) { heard = true; radios.forEach((r) => { r.disabled = false; }); }
      update();
    }
  });
  submit.addEventListener("click", () => {
    const chosen = radios.find((r) => r.checked);
    submitAnswer(page, { scores: { [stim]: Number(chosen.value) } }, submit);
  });
  const pick = (v) => () => {
    const r = radios.find((x) => Number(x.value) === v);
    if (!r.disabled) { r.checked = true; r.dispatchEvent(new Event("change")); r.focus(); }
  };
  const keys = { Space: () => engine.toggle(stim).catch(fail),
    Enter: () => { if (!submit.disabled) submit.click(); } };
  for (const v of [1, 2, 3, 4, 5]) keys[String(v)] = pick(v);
  show(`page-${page.item}`, [pageTitle(s, "How good is the quality of this recording?"),
    t.node,
    el("fieldset", { class: "acr" }, el("legend", {}, "Overall quality"),
      ...radios.map((r) => el("label", { class: "acr-option", for: r.id }, r,
        el("span", { class: "num" }, r.value), el("span", {}, ACR_LABELS[r.value])))),
    status, actions(s, submit)], keys);
  current.cleanup = () => { off(); t.dispose(); };
  t.playBtn.setAttribute("data-focus", "");
  t.playBtn.focus();
  update();
}

// ---- MUSHRA -----------------------------------------------------------------------------

function letter(j) { return String.fromCharCode(65 + j); }

async function mushraPage(s) {
  const page = s.page;
  const ref = page.reference;
  await decodePage(s, [ref, ...page.stimuli]);
  const played = new Set(page.played);
  const draft = drafts.get(page.item) || { scores: {} };
  const t = transport(ref, { label: "Play" });
  const submit = el("button", { class: "primary", id: "submit", disabled: true }, "Submit");
  const status = el("p", { class: "hint", role: "status" });
  const select = (id) => (engine.playing && engine.active === id ? engine.pause()
    : engine.play(id)).catch(fail);
  const refBtn = el("button", { class: "cond ref", id: "ref", "data-stimulus": ref,
    "aria-pressed": "false", "aria-keyshortcuts": "R" }, "Reference");
  refBtn.addEventListener("click", () => select(ref));
  const rows = page.stimuli.map((stim, j) => {
    const saved = draft.scores[stim];
    const slider = el("input", { type: "range", min: "0", max: "100", step: "1",
      value: saved !== undefined ? String(saved) : "50", "data-stimulus": stim,
      class: saved !== undefined ? "" : "unset", disabled: !played.has(stim),
      "aria-label": `Quality of ${letter(j)}, 0 (bad) to 100 (excellent)` });
    const value = el("output", { class: "value" }, saved !== undefined ? String(saved) : "–");
    const b = el("button", { class: "cond", "data-stimulus": stim, "aria-pressed": "false",
      "aria-keyshortcuts": letter(j) }, letter(j));
    b.addEventListener("click", () => select(stim));
    const touched = () => {
      slider.classList.remove("unset");
      value.textContent = slider.value;
      draft.scores[stim] = Number(slider.value);
      drafts.set(page.item, draft);
      update();
    };
    // a click on the thumb's resting place fires no input event: pointerup/keyup count too
    ["input", "change", "pointerup", "keyup"].forEach((ev) => slider.addEventListener(ev, () => {
      if (!slider.disabled) touched();
    }));
    return { stim, b, slider, value, row: el("div", { class: "mushra-row" }, b,
      el("div", { class: "track" }, slider, el("span", { class: "lock" }, "play to rate")),
      value) };
  });
  const update = () => {
    const unplayed = [ref, ...page.stimuli].filter((x) => !played.has(x));
    const unrated = rows.filter((r) => draft.scores[r.stim] === undefined);
    submit.disabled = unplayed.length > 0 || unrated.length > 0;
    const todo = [];
    if (!played.has(ref)) todo.push("play the Reference");
    const np = rows.filter((r) => !played.has(r.stim)).map((r) => letter(rows.indexOf(r)));
    if (np.length) todo.push(`play ${np.join(", ")}`);
    const nr = unrated.filter((r) => played.has(r.stim)).map((r) => letter(rows.indexOf(r)));
    if (nr.length) todo.push(`rate ${nr.join(", ")}`);
    status.textContent = todo.length ? `Still to do: ${todo.join(" · ")}.` : "Ready to submit.";
  };
  const off = engine.on((type, id) => {
    for (const x of [{ stim: ref, b: refBtn }, ...rows]) {
      const on = engine.playing && engine.active === x.stim;
      x.b.setAttribute("aria-pressed", String(on));
      x.b.classList.toggle("playing", on);
    }
    if (type === "started" && !played.has(id)) {
      played.add(id);
      reportPlay(id, "started");
      const r = rows.find((x) => x.stim === id);
      if (r) { r.slider.disabled = false; r.b.classList.add("played"); }
      if (id === ref) refBtn.classList.add("played");
      update();
    }
  });
  for (const r of rows) if (played.has(r.stim)) r.b.classList.add("played");
  if (played.has(ref)) refBtn.classList.add("played");
  t.playBtn.addEventListener("click", () => engine.toggle(engine.active || ref).catch(fail));
  submit.addEventListener("click", () => {
    const scores = {};
    rows.forEach((r) => { scores[r.stim] = draft.scores[r.stim]; });
    submitAnswer(page, { scores }, submit);
  });
  const keys = { Space: () => engine.toggle(engine.active || ref).catch(fail),
    R: () => select(ref), Enter: () => { if (!submit.disabled) submit.click(); } };
  rows.forEach((r, j) => { keys[letter(j)] = () => select(r.stim); });
  const scale = el("div", { class: "mushra-row scale-head", "aria-hidden": "true" },
    el("span", {}), el("div", { class: "bands" },
      ...MUSHRA_BANDS.map((b) => el("span", {}, b))), el("span", {}));
  show(`page-${page.item}`, [
    pageTitle(s, "Rate each version against the Reference"),
    t.node,
    el("div", { class: "ref-row" }, refBtn,
      el("p", { class: "muted ref-note" }, "The original. One of the versions below is the " +
        "Reference itself.")),
    el("div", { class: "mushra" }, scale, ...rows.map((r) => r.row),
    el("div", { class: "mushra-row scale-foot", "aria-hidden": "true" }, el("span", {}),
      el("div", { class: "ticks" }, ...[0, 20, 40, 60, 80, 100].map((v) => el("span", {},
        String(v)))), el("span", {}))),
    status, actions(s, submit)], keys);
  current.cleanup = () => { off(); t.dispose(); };
  t.playBtn.focus();
  update();
}

// ---- A/B --------------------------------------------------------------------------------

async function abPage(s) {
  const page = s.page;
  const [a, b] = page.stimuli;
  await decodePage(s, [a, b]);
  const played = new Set(page.played);
  const t = transport(a, { label: "Play" });
  const buttons = [a, b].map((stim, j) => {
    const btn = el("button", { class: "cond big", "data-stimulus": stim, "aria-pressed": "false",
      "aria-keyshortcuts": "AB"[j] }, "AB"[j]);
    btn.addEventListener("click", () => (engine.playing && engine.active === stim
      ? engine.pause() : engine.play(stim)).catch(fail));
    return btn;
  });
  const options = [{ value: a, label: "A sounds better" }];
  if (s.ab_choices === "with-tie") options.push({ value: "tie", label: "No preference" });
  options.push({ value: b, label: "B sounds better" });
  const radios = options.map((o, j) => el("input", { type: "radio", name: "ab", value: o.value,
    id: `ab-${j}`, "data-choice": o.value === "tie" ? "tie" : o.value === a ? "A" : "B" }));
  const submit = el("button", { class: "primary", id: "submit", disabled: true }, "Submit");
  const status = el("p", { class: "hint", role: "status" });
  const draft = drafts.get(page.item);
  if (draft) { const r = radios.find((x) => x.value === draft.choice); if (r) r.checked = true; }
  const update = () => {
    const both = played.has(a) && played.has(b);
    radios.forEach((r) => { r.disabled = !both; });
    const chosen = radios.find((r) => r.checked);
    submit.disabled = !(both && chosen);
    status.textContent = !both ? "Play both A and B." : chosen ? "" : "Choose an answer.";
  };
  radios.forEach((r) => r.addEventListener("change", () => {
    drafts.set(page.item, { choice: r.value }); update();
  }));
  const off = engine.on((type, id) => {
    [a, b].forEach((stim, j) => {
      const on = engine.playing && engine.active === stim;
      buttons[j].setAttribute("aria-pressed", String(on));
      buttons[j].classList.toggle("playing", on);
    });
    if (type === "started" && !played.has(id)) {
      played.add(id);
      reportPlay(id, "started");
      buttons[[a, b].indexOf(id)].classList.add("played");
      update();
    }
  });
  [a, b].forEach((stim, j) => { if (played.has(stim)) buttons[j].classList.add("played"); });
  t.playBtn.addEventListener("click", () => engine.toggle(engine.active || a).catch(fail));
  submit.addEventListener("click", () => {
    submitAnswer(page, { choice: radios.find((r) => r.checked).value }, submit);
  });
  const keys = { Space: () => engine.toggle(engine.active || a).catch(fail),
    A: () => buttons[0].click(), B: () => buttons[1].click(),
    Enter: () => { if (!submit.disabled) submit.click(); } };
  show(`page-${page.item}`, [pageTitle(s, "Which version sounds better?"), t.node,
    el("div", { class: "ab-buttons" }, ...buttons),
    el("fieldset", { class: "ab-choice" }, el("legend", {}, "Your answer"),
      ...radios.map((r, j) => el("label", { class: "choice", for: r.id }, r, options[j].label))),
    status, actions(s, submit)], keys);
  current.cleanup = () => { off(); t.dispose(); };
  t.playBtn.focus();
  update();
}
