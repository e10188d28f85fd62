// greenvoc listening test: the check page (tone count and the Woods et al. 2017 headphone
// test). Loaded before app.js, whose helpers (el, show, api, engine, …) it calls.
"use strict";

// ---- the check ------------------------------------------------------------------------

async function checkPage(s, message = null) {
  const c = s.check;
  show(`loading-check-${c.attempt}`, loadingView("Loading the test sounds…"));
  await engine.load([c.calibration, ...c.trials]);
  const played = new Set(c.played);
  const count = el("input", { type: "number", id: "beeps", min: "0", max: "20",
    inputmode: "numeric", disabled: !played.has(c.calibration) });
  const phones = el("input", { type: "checkbox", id: "headphones" });
  const quiet = el("input", { type: "checkbox", id: "quiet" });
  const submit = el("button", { class: "primary", id: "check-submit", disabled: true }, "Submit");
  const answers = c.trials.map(() => null);
  const update = () => {
    submit.disabled = !(count.value !== "" && phones.checked && quiet.checked &&
      answers.every((a) => a !== null) && played.has(c.calibration));
  };
  const busy = () => engine.playing;
  const calibrate = el("button", { class: "play", id: "calibration", "data-focus": true },
    "▶ Play the test sound");
  calibrate.addEventListener("click", async () => {
    if (busy()) return;
    calibrate.classList.add("playing");
    calibrate.textContent = "Playing…";
    await engine.play(c.calibration, 0).catch(fail);
  });
  const trialRows = c.trials.map((id, j) => {
    const b = el("button", { class: "play", "data-trial": id, disabled: played.has(id) },
      played.has(id) ? "Played" : `▶ Sound ${j + 1}`);
    const radios = [1, 2, 3].map((v) => el("input", { type: "radio", name: `trial-${j}`,
      value: String(v), id: `trial-${j}-${v}`, disabled: !played.has(id) }));
    radios.forEach((r) => r.addEventListener("change", () => {
      answers[j] = Number(r.value); update();
    }));
    b.addEventListener("click", async () => {
      if (busy() || played.has(id)) return;
      b.disabled = true;
      b.classList.add("playing");
      b.textContent = "Playing…";
      await engine.play(id, 0).catch(fail);
    });
    return { id, b, radios, row: el("div", { class: "trial" }, b,
      el("fieldset", { class: "inline" }, el("legend", { class: "sr-only" },
        `Sound ${j + 1}: which tone was the quietest?`),
      ...radios.map((r, k) => el("label", {}, r, ` ${k + 1}`)))) };
  });
  // one sound at a time: while one plays, the other play buttons are disabled
  const lockButtons = (locked) => {
    calibrate.disabled = locked;
    trialRows.forEach((t) => { t.b.disabled = locked || played.has(t.id); });
  };
  const off = engine.on((type, id) => {
    if (type === "started") lockButtons(true);
    if (type !== "ended") return;
    played.add(id);
    lockButtons(false);
    reportPlay(id, "ended");
    if (id === c.calibration) {
      calibrate.classList.remove("playing");
      calibrate.textContent = "▶ Play again";
      count.disabled = false;
    }
    const t = trialRows.find((x) => x.id === id);
    if (t) {
      t.b.classList.remove("playing");
      t.b.textContent = "Played";
      t.radios.forEach((r) => { r.disabled = false; });
      t.radios[0].focus();
    }
    update();
  });
  [count, phones, quiet].forEach((x) => x.addEventListener("input", update));
  [phones, quiet].forEach((x) => x.addEventListener("change", update));
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    try {
      const r = await api("POST", "/api/check", { headphones: phones.checked,
        quiet: quiet.checked, beeps: Number(count.value), answers });
      if (r.passed) return render(r.session);
      if (r.rejected) return render(r.session);
      const left = r.attempts_left;
      setProgress(r.session);
      await checkPage(r.session, "The check was not passed: make sure your headphones are on " +
        `and the volume is comfortable, then try again with new sounds (${left} attempt` +
        `${left === 1 ? "" : "s"} left).`);
    } catch (e) { fail(e); update(); }
  });
  const nodes = [el("h1", {}, "Headphone check"),
    message ? el("p", { class: "warning", role: "alert" }, message) : null,
    c.attempts > 1 ? el("p", { class: "muted" }, `Attempt ${c.attempt} of ${c.attempts}.`) : null,
    el("section", { class: "step" }, el("h2", {}, "1. Set the volume"),
      el("p", {}, "Put on your headphones, play the test sound and set a comfortable volume. " +
        "Keep it for the whole test."), calibrate,
      el("p", {}, el("label", { for: "beeps" }, "How many tones did you hear? "), count))];
  if (c.trials.length) {
    nodes.push(el("section", { class: "step" }, el("h2", {}, "2. Which tone is the quietest?"),
      el("p", {}, "Each sound below plays three tones. Listen, then choose which of the three " +
        `was the quietest (1, 2 or 3). Each sound plays only once. At least ${c.pass_min} of ` +
        `${c.trials.length} must be right.`),
      ...trialRows.map((t) => t.row)));
  }
  nodes.push(el("section", { class: "step" }, el("h2", {}, c.trials.length ? "3. Confirm"
    : "2. Confirm"),
  el("label", { class: "check" }, phones, " I am wearing headphones"),
  el("label", { class: "check" }, quiet, " I am in a quiet place")),
  el("div", { class: "actions" }, submit));
  show(`check-${c.attempt}`, nodes);
  current.cleanup = off;
  update();
}
