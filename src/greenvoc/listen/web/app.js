// greenvoc listening test: the rater's pages and the admin view. No framework, no CDN.
// Every step is driven by the server's /api/session state, so a closed tab resumes where the
// rater stopped; a page advances only after the server acknowledged (committed) the rating.
"use strict";

const ACR_LABELS = { 5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad" };
const app = document.getElementById("app");
const errorBox = document.getElementById("error");
const progressBox = document.getElementById("progress");
const player = document.getElementById("player");
let token = null;
let studyId = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c));
  return node;
}

function show(...nodes) {
  errorBox.textContent = "";
  app.replaceChildren(...nodes);
}

async function api(method, path, body, headerName = "X-Rater-Token") {
  const headers = { [headerName]: token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error(`${res.status}: ${detail || res.statusText}`);
  }
  return data;
}

function fail(err) { errorBox.textContent = String(err.message || err); }

// Plays one stimulus; resolves after the server recorded that it was played to the end.
function play(stimulus, button) {
  return new Promise((resolve, reject) => {
    player.onended = async () => {
      player.onended = null;
      try {
        await api("POST", "/api/play", { stimulus, event: "ended" });
        if (button) button.classList.add("played");
        resolve();
      } catch (e) { reject(e); }
    };
    player.src = `/api/audio/${encodeURIComponent(stimulus)}?token=${encodeURIComponent(token)}`;
    player.play().catch(reject);
  });
}

function playButton(label, stimulus, onPlayed) {
  const b = el("button", { type: "button", "data-stimulus": stimulus }, `▶ ${label}`);
  b.addEventListener("click", () => {
    play(stimulus, b).then(() => onPlayed && onPlayed(stimulus)).catch(fail);
  });
  return b;
}

function consentPage(invited) {
  const box = el("input", { type: "checkbox", id: "consent" });
  const start = el("button", { class: "primary", id: "start", disabled: true }, "Start");
  box.addEventListener("change", () => { start.disabled = !box.checked; });
  start.addEventListener("click", async () => {
    try {
      if (invited) await api("POST", "/api/consent", { consent: true });
      else {
        const r = await api("POST", "/api/register", { consent: true });
        token = r.token;
        localStorage.setItem(`greenvoc-listen:${studyId}`, token);
        history.replaceState(null, "", `/?token=${encodeURIComponent(token)}`);
      }
      await load();
    } catch (e) { fail(e); }
  });
  show(el("h2", {}, "Consent"),
    el("p", {}, "You will listen to short speech recordings and rate them. It takes about " +
      "10 minutes. Your ratings are stored with a random rater id; no name, e-mail or IP " +
      "address is stored. You can stop at any time; this link lets you continue later."),
    el("label", {}, box, " I agree to take part and to the storage of my ratings."),
    el("p", {}, start));
}

const INSTRUCTIONS = {
  acr: "You will hear one recording at a time. Listen to it to the end, then rate its " +
    "overall quality from 5 (Excellent) to 1 (Bad). Some clips ask you to give a particular " +
    "answer: please follow them.",
  mushra: "Each page shows a reference and several versions of the same sentence. Play the " +
    "reference and every version (the reference is hidden among them), then rate each from " +
    "0 (bad) to 100 (excellent) against the reference.",
  ab: "Each page plays two versions, A and B, of the same sentence. Play both, then choose " +
    "the one that sounds better.",
};

function instructionsPage(s) {
  show(el("h2", {}, "Instructions"), el("p", {}, INSTRUCTIONS[s.test_type]),
    el("p", {}, "Use headphones in a quiet room and keep the volume the same throughout. " +
      "The first pages are training examples that show the range of quality; they do not count."),
    el("button", { class: "primary", id: "continue", onclick: async () => {
      try { await api("POST", "/api/stage", { stage: "check" }); await load(); } catch (e) { fail(e); }
    } }, "Continue"));
}

function checkPage(s) {
  const phones = el("input", { type: "checkbox", id: "headphones" });
  const quiet = el("input", { type: "checkbox", id: "quiet" });
  const count = el("input", { type: "number", id: "beeps", min: "0", max: "20", disabled: true });
  const submit = el("button", { class: "primary", id: "check-submit", disabled: true }, "Submit");
  const tone = playButton("Play the test sound", s.check, () => {
    count.disabled = false; submit.disabled = false;
  });
  submit.addEventListener("click", async () => {
    try {
      const r = await api("POST", "/api/check", {
        headphones: phones.checked, quiet: quiet.checked, beeps: Number(count.value) });
      if (r.passed) await load();
      else errorBox.textContent = "Not passed: wear headphones in a quiet place, play the " +
        "sound again and count the tones.";
    } catch (e) { fail(e); }
  });
  show(el("h2", {}, "Headphone and environment check"),
    el("p", {}, "Set a comfortable volume, play the sound and count the tones."), tone,
    el("p", {}, el("label", {}, "How many tones did you hear? ", count)),
    el("p", {}, el("label", {}, phones, " I am wearing headphones")),
    el("p", {}, el("label", {}, quiet, " I am in a quiet environment")), submit);
}

function submitRating(body) {
  return api("POST", "/api/ratings", body).then(render).catch(fail);
}

function acrPage(s, page) {
  const stim = page.stimuli[0];
  const radios = [5, 4, 3, 2, 1].map((v) => el("input",
    { type: "radio", name: "acr", value: String(v), id: `acr-${v}`, disabled: true }));
  const submit = el("button", { class: "primary", id: "submit", disabled: true }, "Submit");
  const enable = () => radios.forEach((r) => { r.disabled = false; });
  if (page.played.includes(stim)) enable();
  radios.forEach((r) => r.addEventListener("change", () => { submit.disabled = false; }));
  submit.addEventListener("click", () => {
    const chosen = radios.find((r) => r.checked);
    submit.disabled = true;
    submitRating({ item: page.item, scores: { [stim]: Number(chosen.value) } });
  });
  return [playButton("Play", stim, enable),
    el("fieldset", { class: "scale" }, el("legend", {}, "Overall quality"),
      ...radios.map((r) => el("label", {}, r, ` ${r.value} – ${ACR_LABELS[r.value]}`))),
    submit];
}

function mushraPage(s, page) {
  const played = new Set(page.played);
  const submit = el("button", { class: "primary", id: "submit", disabled: true }, "Submit");
  const rows = page.stimuli.map((stim, j) => {
    const slider = el("input", { type: "range", min: "0", max: "100", value: "50",
      "data-stimulus": stim, disabled: !played.has(stim) });
    const value = el("output", {}, "50");
    slider.addEventListener("input", () => { value.textContent = slider.value; });
    const b = playButton(String.fromCharCode(65 + j), stim, () => {
      played.add(stim); slider.disabled = false;
      submit.disabled = page.stimuli.some((x) => !played.has(x));
    });
    return { slider, row: el("div", { class: "row" }, b, slider, value) };
  });
  submit.disabled = page.stimuli.some((x) => !played.has(x));
  submit.addEventListener("click", () => {
    const scores = {};
    rows.forEach(({ slider }) => { scores[slider.dataset.stimulus] = Number(slider.value); });
    submit.disabled = true;
    submitRating({ item: page.item, scores });
  });
  return [el("p", {}, playButton("Reference", page.reference)), ...rows.map((r) => r.row), submit];
}

function abPage(s, page) {
  const played = new Set(page.played);
  const choose = page.stimuli.map((stim, j) => el("button", {
    class: "primary", "data-choice": stim, disabled: true,
    onclick: () => submitRating({ item: page.item, choice: stim }) },
  `Prefer ${"AB"[j]}`));
  const update = () => choose.forEach((b) => { b.disabled = page.stimuli.some((x) => !played.has(x)); });
  update();
  return [el("p", {}, ...page.stimuli.map((stim, j) => playButton("AB"[j], stim, () => {
    played.add(stim); update();
  }))), el("p", {}, ...choose)];
}

function ratingPage(s) {
  const page = s.page;
  const title = page.training
    ? `Training example ${page.index + 1} of ${s.training_pages} (does not count)`
    : `Page ${page.index + 1 - s.training_pages} of ${s.pages - s.training_pages}`;
  const body = { acr: acrPage, mushra: mushraPage, ab: abPage }[s.test_type](s, page);
  show(el("h2", { id: "page-title" }, title), ...body);
}

function render(s) {
  progressBox.textContent = s.pages ? `${s.done} of ${s.pages} pages done` : "";
  if (s.stage === "consent") return consentPage(true);
  if (s.stage === "instructions") return instructionsPage(s);
  if (s.stage === "check") return checkPage(s);
  if (s.stage === "done") return show(el("h2", { id: "done" }, "Thank you!"),
    el("p", {}, "All your ratings are stored. You can close this page."));
  return ratingPage(s);
}

async function load() {
  if (!token) return consentPage(false);
  try { render(await api("GET", "/api/session")); } catch (e) {
    if (String(e.message).startsWith("401")) {
      localStorage.removeItem(`greenvoc-listen:${studyId}`);
      token = null;
      return consentPage(false);
    }
    fail(e);
  }
}

async function adminPage() {
  const headerName = "X-Admin-Token";
  const q = encodeURIComponent(token);
  const table = el("tbody");
  const summary = el("p");
  const link = el("p");
  const refresh = async () => {
    try {
      const p = await api("GET", "/admin/api/progress", undefined, headerName);
      summary.textContent = `${p.study} (${p.test_type}): ${p.raters.length} raters, ` +
        `${p.completed} completed, ${p.ratings} ratings stored`;
      table.replaceChildren(...p.raters.map((r) => el("tr", {}, el("td", {}, r.rater),
        el("td", {}, r.stage), el("td", {}, `${r.rated}/${r.pages}`), el("td", {}, r.created_at))));
    } catch (e) { fail(e); }
  };
  const invite = el("button", { onclick: async () => {
    try {
      const r = await api("POST", "/admin/api/raters", undefined, headerName);
      link.replaceChildren("New rater link: ", el("code", {}, location.origin + r.link));
    } catch (e) { fail(e); }
  } }, "Create a rater link");
  show(el("h2", {}, "Admin"), summary,
    el("p", {}, el("a", { href: `/admin/api/export.csv?token=${q}` }, "Export CSV"), " · ",
      el("a", { href: `/admin/api/export.json?token=${q}` }, "Export JSON")),
    invite, link,
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "rater"), el("th", {}, "stage"),
      el("th", {}, "pages rated"), el("th", {}, "started"))), table));
  await refresh();
  setInterval(refresh, 3000);
}

async function main() {
  const params = new URLSearchParams(location.search);
  if (document.body.dataset.page === "admin") {
    token = params.get("token");
    return adminPage();
  }
  try { studyId = (await api("GET", "/api/study")).id; } catch (e) { return fail(e); }
  token = params.get("token") || localStorage.getItem(`greenvoc-listen:${studyId}`);
  if (token) localStorage.setItem(`greenvoc-listen:${studyId}`, token);
  await load();
}

main();
