// greenvoc listening test: the rater's frame (progress, focus, history, keys, drafts), consent,
// instructions, the end, and the flow; the check and rating pages are in check.js and rate.js,
// the audio engine in player.js (all loaded before this file). No framework, no CDN.
// Every step is driven by the server's /api/session state, so a closed tab resumes where the
// rater stopped; a page advances only after the server acknowledged (committed) the answer.
"use strict";

const PARTICIPANT_FIELDS = ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId",
  "assignmentId", "hitId"];
const PLATFORM_NAMES = { prolific: "Prolific", mturk: "MTurk" };
const app = document.getElementById("app");
const errorBox = document.getElementById("error");
const noticeBox = document.getElementById("notice");
const progressLabel = document.getElementById("progress-label");
const progressFill = document.getElementById("progress-fill");
const progressBar = document.getElementById("progress");
let token = null;
let study = null;
let current = { key: null, keys: null, cleanup: null };
const engine = new AudioEngine(fetchAudio);
// for automation and debugging: the audio engine of the page
window.greenvoc = { engine };

async function api(method, path, body) {
  const headers = token ? { "X-Rater-Token": token } : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = typeof data.detail === "string" ? data.detail
      : (data.detail || []).map((d) => d.msg).join("; ");
    const err = new Error(detail || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

async function fetchAudio(id) {
  const res = await fetch(`/api/audio/${encodeURIComponent(id)}`,
    { headers: { "X-Rater-Token": token } });
  if (!res.ok) throw new Error(`the audio could not be loaded (${res.status}); reload the page`);
  return res.arrayBuffer();
}

function fail(err) { errorBox.textContent = String(err.message || err); }

function notice(text) {
  noticeBox.textContent = text;
  noticeBox.hidden = !text;
}

function reportPlay(stimulus, event) {
  return api("POST", "/api/play", { stimulus, event }).catch(fail);
}

// ---- page frame: progress, focus, history, keyboard --------------------------------------

function setProgress(s) {
  const labels = { consent: "Consent", instructions: "Instructions", check: "Headphone check",
    done: "Finished", rejected: "Finished" };
  const real = s.pages - s.training_pages;
  let label = labels[s.stage] || "";
  let share = s.stage === "done" ? 1 : 0;
  if (s.page && s.page.training) label = `Practice ${s.page.number} of ${s.training_pages}`;
  else if (s.page) {
    label = `Page ${s.page.number} of ${real}`;
    share = (s.page.number - 1) / real;
  }
  progressLabel.textContent = label;
  progressFill.style.width = `${Math.round(100 * share)}%`;
  progressBar.setAttribute("aria-valuenow", String(Math.round(100 * share)));
  progressBar.setAttribute("aria-valuetext", label);
}

// Replaces the page: stops the audio, clears messages, moves focus to the first control.
function show(key, nodes, keys = null) {
  if (current.cleanup) current.cleanup();
  engine.reset();
  errorBox.textContent = "";
  if (key !== current.key) notice("");
  app.replaceChildren(...nodes.filter(Boolean));
  current = { key, keys, cleanup: null };
  syncHistory(key);
  const first = app.querySelector("[data-focus]") ||
    app.querySelector("button:not([disabled]), input:not([disabled]), a[href]");
  if (first) first.focus();
  else app.focus();
}

// Each step is a history entry; the back button stays inside the app and says why.
function syncHistory(key) {
  if (!history.state || !history.state.greenvoc) {
    history.replaceState({ greenvoc: "guard" }, "");
    history.pushState({ greenvoc: key }, "");
  } else if (history.state.greenvoc !== key) {
    history.pushState({ greenvoc: key }, "");
  }
}

window.addEventListener("popstate", () => {
  history.pushState({ greenvoc: current.key }, "");
  notice("Answers you submitted are saved and cannot be changed. Please carry on with this page.");
});

document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey || !current.keys) return;
  const t = e.target;
  if (t.matches && t.matches("input[type=number], input[type=text], textarea")) return;
  const key = e.key === " " ? "Space" : e.key.length === 1 ? e.key.toUpperCase() : e.key;
  if (key === "Enter" && t.closest && t.closest("button, a")) return;
  const fn = current.keys[key];
  if (fn) { e.preventDefault(); fn(); }
});

// Unsubmitted answers survive a reload: kept per rater and page in localStorage.
const drafts = {
  key(item) { return `greenvoc:${study.id}:${token.slice(0, 12)}:${item}`; },
  get(item) {
    try { return JSON.parse(localStorage.getItem(this.key(item)) || "null"); } catch { return null; }
  },
  set(item, value) { localStorage.setItem(this.key(item), JSON.stringify(value)); },
  clear(item) { localStorage.removeItem(this.key(item)); },
};

// ---- consent and instructions ---------------------------------------------------------

function participantParams() {
  const params = new URLSearchParams(location.search);
  const out = {};
  for (const k of PARTICIPANT_FIELDS) if (params.get(k)) out[k] = params.get(k);
  return Object.keys(out).length ? out : null;
}

function consentPage(invited) {
  const participant = participantParams();
  const preview = participant && participant.assignmentId === "ASSIGNMENT_ID_NOT_AVAILABLE";
  const platform = participant && (participant.PROLIFIC_PID ? "Prolific"
    : participant.workerId ? "MTurk" : null);
  const box = el("input", { type: "checkbox", id: "consent", disabled: preview });
  const start = el("button", { class: "primary", id: "start", disabled: true }, "Start");
  box.addEventListener("change", () => { start.disabled = !box.checked; });
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      if (invited) await api("POST", "/api/consent", { consent: true });
      else {
        const r = await api("POST", "/api/register", { consent: true, participant });
        token = r.token;
        localStorage.setItem(`greenvoc-listen:${study.id}`, token);
      }
      await load();
    } catch (e) {
      start.disabled = false;
      if (e.status === 403 || e.status === 409) return stoppedPage(e.status, e.message, platform);
      fail(e);
    }
  });
  const minutes = study.minutes === 1 ? "about 1 minute" : `about ${study.minutes} minutes`;
  show("consent", [
    el("h1", {}, "Rate the quality of speech recordings"),
    el("p", { class: "lead" }, `You will listen to short speech recordings through headphones ` +
      `and rate their quality. It takes ${minutes}.`),
    el("ul", { class: "facts" },
      el("li", {}, "You need headphones and a quiet room."),
      el("li", {}, "A short headphone check comes first; if it does not detect headphones, " +
        "the study ends there."),
      el("li", {}, "Your answers are stored with a random rater id" +
        (platform ? ` and your ${platform} id (so that your work can be approved)` : "") +
        ". No name, e-mail or IP address is stored."),
      el("li", {}, "You can stop at any time; this browser remembers where you stopped.")),
    preview ? el("p", { class: "warning" }, "This is a preview: accept the HIT to start.") : null,
    el("label", { class: "check" }, box, " I agree to take part and to the storage of my answers."),
    el("div", { class: "actions" }, start)]);
}

const INSTRUCTIONS = {
  acr: ["You will hear one recording per page. Listen to it to the end, then rate its " +
    "overall quality from 5 (Excellent) to 1 (Bad).",
  "Some recordings ask you to give a particular answer: please do as they say."],
  mushra: ["Each page has a Reference and several versions of the same sentence (A, B, …). " +
    "Compare each version with the Reference and rate its quality from 0 (Bad) to 100 " +
    "(Excellent).",
  "The Reference itself is hidden among the versions: give it 100 when you find it. " +
    "Switch between Reference and versions as often as you like; they continue at the same " +
    "place. Drag over the waveform to loop a short part."],
  ab: ["Each page has two versions, A and B, of the same sentence. Switch between them as " +
    "often as you like (they continue at the same place), then choose the one that sounds " +
    "better."],
};

const SHORTCUTS = {
  acr: "Keys: Space plays or pauses, 1–5 choose a rating, Enter submits.",
  mushra: "Keys: Space plays or pauses, R plays the Reference, A, B, C… play a version, " +
    "Enter submits.",
  ab: "Keys: Space plays or pauses, A and B switch between the versions, Enter submits.",
};

function instructionsPage(s) {
  const next = el("button", { class: "primary", id: "continue", "data-focus": true,
    onclick: async () => {
      next.disabled = true;
      try { await api("POST", "/api/stage", { stage: "check" }); await load(); } catch (e) {
        next.disabled = false; fail(e);
      }
    } }, "Continue");
  show("instructions", [el("h1", {}, "Instructions"),
    ...INSTRUCTIONS[s.test_type].map((t) => el("p", {}, t)),
    el("p", {}, "Use headphones in a quiet room and keep the volume the same throughout. " +
      "The first pages are practice: they show the range of quality and do not count."),
    el("p", { class: "muted" }, SHORTCUTS[s.test_type]),
    el("div", { class: "actions" }, next)]);
}

// ---- the end ------------------------------------------------------------------------------

function donePage(s) {
  const c = s.completion || {};
  const nodes = [el("h1", { id: "done" }, "Thank you!"),
    el("p", { class: "lead" }, "All your answers are saved.")];
  if (c.code) {
    const code = el("code", { id: "completion-code" }, c.code);
    const copy = el("button", { class: "ghost small", onclick: () => {
      navigator.clipboard.writeText(c.code).then(() => { copy.textContent = "Copied"; })
        .catch(() => { copy.textContent = "Select and copy the code"; });
    } }, "Copy");
    nodes.push(el("p", {}, "Your completion code:"), el("p", { class: "code-box" }, code, copy));
  }
  if (c.url) {
    const platform = PLATFORM_NAMES[s.platform] || "the study's site";
    nodes.push(el("p", {}, `Taking you back to ${platform}… `,
      el("a", { href: c.url, id: "completion-link", "data-focus": true }, "Continue")));
    setTimeout(() => location.assign(c.url), 1500);
  } else if (!c.code) nodes.push(el("p", {}, "You can close this page."));
  show("done", nodes);
}

const RETURN_ADVICE = {
  prolific: "Please return your submission on Prolific (\u201cStop without completing\u201d): " +
    "returning is not held against you.",
  mturk: "Please return the HIT on MTurk instead of submitting it: returning is not held " +
    "against you.",
};

// A crowd participant who registered before: screened out (403), or started elsewhere (409).
function stoppedPage(status, message, platformName) {
  const screenedOut = status === 403;
  show("stopped", [el("h1", { id: "stopped" }, screenedOut ? "You cannot take part again"
    : "You already took this study"),
  el("p", {}, message),
  screenedOut && platformName
    ? el("p", {}, RETURN_ADVICE[platformName === "Prolific" ? "prolific" : "mturk"]) : null]);
}

function rejectedPage(s) {
  show("rejected", [el("h1", { id: "rejected" }, "Thank you for your time"),
    el("p", { class: "lead" }, "This study needs headphones, and the check did not detect them, " +
      "so it ends here. Your answers to the check are kept; nothing else is needed from you."),
    el("p", {}, RETURN_ADVICE[s.platform] || "You can close this page.")]);
}

// ---- flow ---------------------------------------------------------------------------------

function render(s) {
  setProgress(s);
  if (s.stage === "consent") return consentPage(true);
  if (s.stage === "instructions") return instructionsPage(s);
  if (s.stage === "check") return checkPage(s).catch(fail);
  if (s.stage === "done") return donePage(s);
  if (s.stage === "rejected") return rejectedPage(s);
  const page = { acr: acrPage, mushra: mushraPage, ab: abPage }[s.test_type];
  return page(s).catch(fail);
}

async function load() {
  if (!token) { setProgress({ stage: "consent", pages: 0, training_pages: 0 }); return consentPage(false); }
  try { render(await api("GET", "/api/session")); } catch (e) {
    if (e.status === 401) {
      localStorage.removeItem(`greenvoc-listen:${study.id}`);
      token = null;
      return consentPage(false);
    }
    fail(e);
  }
}

async function main() {
  try { study = await api("GET", "/api/study"); } catch (e) { return fail(e); }
  const params = new URLSearchParams(location.search);
  token = params.get("token") || localStorage.getItem(`greenvoc-listen:${study.id}`);
  if (params.has("token")) {
    // an invitation link: keep the token in this browser, not in the address bar
    localStorage.setItem(`greenvoc-listen:${study.id}`, token);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(history.state, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  await load();
}

main();
