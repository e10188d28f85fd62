// greenvoc listening test: the admin dashboard. Authenticated by the HttpOnly session cookie
// that the login form set (the token itself never reaches this script).
"use strict";

const app = document.getElementById("app");
const REFRESH_MS = 5000;

async function call(method, path) {
  const res = await fetch(path, { method, credentials: "same-origin" });
  if (res.status === 401) { location.reload(); throw new Error("logged out"); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail || res.statusText);
  return data;
}

function fmt(x, digits = 2) { return x === null || x === undefined ? "–" : x.toFixed(digits); }

function table(headers, rows, numeric = []) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headers.map((h, j) =>
      el("th", { class: numeric.includes(j) ? "num" : null }, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, j) =>
      el("td", { class: numeric.includes(j) ? "num" : null }, c))))));
}

function summaryView(doc) {
  const s = doc.summary;
  if (!s) return [el("p", { class: "muted" }, "No ratings yet.")];
  const out = [el("p", { class: "muted" }, `${s.scale}: ${s.n_used} of ${s.n_records} ratings ` +
    `counted; ${s.raters.kept.length} raters kept, ${s.raters.excluded.length} excluded.`)];
  if (s.conditions.length) {
    out.push(table(["condition", "n", "raters", "mean", "95 % t-CI", "95 % bootstrap CI"],
      s.conditions.map((c) => [c.condition, c.n, c.n_raters, fmt(c.mean),
        `${fmt(c.ci95_t_low)}–${fmt(c.ci95_t_high)}`,
        `${fmt(c.ci95_bootstrap_low)}–${fmt(c.ci95_bootstrap_high)}`]), [1, 2, 3, 4, 5]));
  } else if (s.preferences.length) {
    const ties = s.ci.ties_allowed;
    out.push(table(["A", "B", "A votes", "B votes", ...(ties ? ["ties"] : []), "share A",
      "95 % Wilson", "p (binomial)"],
    s.preferences.map((p) => [p.condition_a, p.condition_b, p.votes_a, p.votes_b,
      ...(ties ? [p.ties] : []), fmt(p.share_a), `${fmt(p.wilson95_low)}–${fmt(p.wilson95_high)}`,
      p.p_value.toPrecision(3)]), ties ? [2, 3, 4, 5, 6, 7] : [2, 3, 4, 5, 6]));
  } else out.push(el("p", {}, "No rating left after screening."));
  out.push(el("p", { class: "muted" }, `${s.intervals} Recomputed at most every ` +
    `${doc.every_s} s.`));
  return out;
}

function screeningView(sc) {
  const out = [el("p", { class: "muted" }, sc.headphone_test
    ? `Headphone test: ${sc.headphone_test}, ${sc.attempts_allowed} attempt(s) allowed.`
    : "No headphone test in this study (made before it existed): only the tone count.")];
  out.push(el("h3", {}, `Screened out at the check (${sc.rejected_at_check.length})`));
  out.push(sc.rejected_at_check.length
    ? table(["rater", "participant", "reason"], sc.rejected_at_check.map((r) =>
      [r.rater, r.participant_id || "–", r.reason]))
    : el("p", { class: "muted" }, "None."));
  out.push(el("h3", {}, `Excluded from the statistics (${sc.excluded_from_statistics.length})`));
  out.push(sc.excluded_from_statistics.length
    ? table(["rater", "rule", "detail"], sc.excluded_from_statistics.map((e) =>
      [e.rater, e.reason, e.detail]))
    : el("p", { class: "muted" }, "None."));
  return out;
}

function ratersView(p) {
  return table(["rater", "participant", "stage", "pages rated", "practice", "started",
    "completed"], p.raters.map((r) => [r.rater, r.participant_id || "–", r.stage,
    `${r.rated}/${r.pages}`, `${r.training_rated}/${r.training_pages}`,
    r.created_at.slice(0, 19), r.completed_at ? r.completed_at.slice(0, 19) : "–"]), [3, 4]);
}

async function main() {
  const head = el("div");
  const summary = el("section");
  const screening = el("section");
  const raters = el("section");
  const link = el("p");
  const error = el("p", { class: "error", role: "alert" });
  const invite = el("button", { onclick: async () => {
    try {
      const r = await call("POST", "/admin/api/raters");
      link.replaceChildren("New rater link: ", el("code", {}, location.origin + r.link));
    } catch (e) { error.textContent = e.message; }
  } }, "Create a rater link");
  const logout = el("form", { method: "post", action: "/admin/logout" },
    el("button", { class: "ghost small", type: "submit" }, "Log out"));
  app.replaceChildren(el("div", { class: "page-head" }, el("h1", {}, "Study dashboard")), head,
    el("p", {}, el("a", { href: "/admin/api/export.csv" }, "Export CSV"), " · ",
      el("a", { href: "/admin/api/export.json" }, "Export JSON")),
    el("div", { class: "actions" }, invite, logout), link, error,
    el("h2", {}, "Results so far"), summary, el("h2", {}, "Screening"), screening,
    el("h2", {}, "Raters"), raters);
  const refresh = async () => {
    try {
      const [p, s] = await Promise.all([call("GET", "/admin/api/progress"),
        call("GET", "/admin/api/summary")]);
      head.replaceChildren(el("p", {}, `${p.study} (${p.test_type.toUpperCase()})`),
        el("div", { class: "stats" },
          el("div", {}, el("b", {}, p.raters.length), "raters"),
          el("div", {}, el("b", {}, p.completed), "completed"),
          el("div", {}, el("b", {}, p.rejected), "screened out"),
          el("div", {}, el("b", {}, p.ratings), "ratings stored")));
      summary.replaceChildren(...summaryView(s));
      screening.replaceChildren(...screeningView(s.screening));
      raters.replaceChildren(ratersView(p));
      error.textContent = "";
    } catch (e) { error.textContent = e.message; }
  };
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
