// lendscore officer page: calls the API with the officer key kept in sessionStorage (this tab only).
"use strict";
(function () {
  const KEY = "lendscore.key";
  const $ = (id) => document.getElementById(id);
  let scale = null;

  function key() { return sessionStorage.getItem(KEY); }

  async function api(method, path, body) {
    const headers = { "X-API-Key": key() || "" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401) { signOut("Your key was refused; sign in again."); }
    return { status: res.status, data };
  }

  function fmt(x, digits) {
    if (x === null || x === undefined) return "-";
    return Number(x).toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true;
    $("who").textContent = "";
    $("login-error").textContent = message || "";
  }

  async function signIn(candidate) {
    sessionStorage.setItem(KEY, candidate);
    const r = await api("GET", "/v1/whoami");
    if (r.status !== 200) { signOut("That key was not accepted."); return; }
    if (r.data.role === "scorer") { signOut("This page needs an officer or admin key."); return; }
    $("who").textContent = r.data.name + " (" + r.data.role + ")";
    $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
    const s = await api("GET", "/v1/scale");
    if (s.status === 200) scale = s.data;
    await loadRecent();
  }

  function readForm(form) {
    const body = { applicant: {} };
    for (const el of form.elements) {
      if (!el.name) continue;
      const [group, field] = el.name.includes(".") ? el.name.split(/\.(.*)/s) : [null, el.name];
      let value;
      if (el.type === "checkbox") { value = el.checked; if (!value) continue; }
      else if (el.value.trim() === "") continue;
      else if (el.type === "number") value = Number(el.value);
      else value = el.value.trim();
      if (group === null) body[field] = value;
      else { body[group] = body[group] || {}; body[group][field] = value; }
    }
    return body;
  }

  function drawScale(score) {
    const bar = $("scale");
    for (const b of Array.from(bar.querySelectorAll(".band"))) b.remove();
    if (!scale || scale.basis !== "score") { bar.hidden = true; return; }
    const lo = Math.min(scale.score_min, score), hi = Math.max(scale.score_max, score);
    const span = hi - lo || 1;
    for (const band of scale.bands) {
      // a null edge is unbounded on that side (Math.max(null, lo) would read it as 0)
      const a = band.min === null ? lo : Math.max(band.min, lo), z = band.max === null ? hi : Math.min(band.max, hi);
      if (z <= a) continue;
      const div = document.createElement("div");
      div.className = "band " + band.outcome;
      div.style.width = (100 * (z - a) / span) + "%";
      div.title = band.outcome + " " + fmt(a, 0) + " - " + fmt(z, 0);
      bar.insertBefore(div, $("scale-marker"));
    }
    $("scale-marker").style.left = (100 * (score - lo) / span) + "%";
    $("scale-marker").dataset.score = String(score);
    $("scale-min").textContent = fmt(lo, 0); $("scale-max").textContent = fmt(hi, 0);
  }

  function showDecision(d) {
    $("result").hidden = false;
    $("decision-id").textContent = d.decision_id;
    const out = $("outcome"); out.textContent = d.outcome; out.className = d.outcome;
    $("score").textContent = fmt(d.score, 1); $("grade").textContent = d.grade || "-";
    $("pd").textContent = (100 * d.pd).toFixed(2) + "%";
    drawScale(d.score);
    const ol = $("reasons"); ol.replaceChildren();
    if (d.reasons.length === 0) { const li = document.createElement("li"); li.textContent = "No adverse reasons."; ol.append(li); }
    for (const r of d.reasons) {
      const li = document.createElement("li");
      li.textContent = r.code + ": " + r.text + (r.characteristic ? " (" + r.characteristic + ")" : "");
      ol.append(li);
    }
    showWarnings(d.warnings || []);
    const tbody = $("nth-table").querySelector("tbody"); tbody.replaceChildren();
    const a = d.affordability;
    $("nth-note").textContent = "";
    if (!a) { $("nth-verdict").textContent = "No affordability check (finances or loan not given)."; return; }
    const rows = [["Gross income", a.income], ["- Deductions", a.deductions], ["= Net income", a.net_income],
                  ["- Existing obligations", a.existing_obligations], ["- New instalment", a.new_instalment],
                  ["= Left (NTH)", a.nth]];
    for (const [label, value] of rows) {
      const tr = document.createElement("tr"); const th = document.createElement("th"); const td = document.createElement("td");
      th.textContent = label; td.textContent = fmt(value, 2); td.className = "num"; tr.append(th, td); tbody.append(tr);
    }
    $("nth-verdict").textContent = (a.passed ? "Affordable" : "Not affordable (" + a.failed_rules.join(", ") + ")") +
      "; NTH " + (100 * a.nth_share).toFixed(1) + "% of gross income; largest affordable amount " +
      fmt(a.counter_offer.max_amount, 0) + ".";
    // one NTH: the model derives its NTH inputs from these finances and this loan
    const scored = ($("app").dataset.nthScored || "").split(",").filter((x) => x && x in (d.points || {}));
    if (scored.length) $("nth-note").textContent = "The score used this NTH (" + scored.join(", ") + ").";
  }

  const RULES = {
    unseen_category: "a category not seen in training (scored as unseen)",
    below_training_range: "below the training range (scored in the lowest bin)",
    above_training_range: "above the training range (scored in the highest bin)",
  };

  function showWarnings(warnings) {
    const ul = $("warnings"); ul.replaceChildren();
    if (warnings.length === 0) { const li = document.createElement("li"); li.textContent = "None."; ul.append(li); return; }
    for (const w of warnings) {
      const li = document.createElement("li"); li.className = "warning"; li.dataset.field = w.field;
      const shown = typeof w.value === "number" ? w.value.toLocaleString("en", { maximumFractionDigits: 4 }) : String(w.value);
      li.textContent = w.field + " = " + shown + ": " + (RULES[w.rule] || w.rule);
      ul.append(li);
    }
  }

  async function loadRecent() {
    const r = await api("GET", "/v1/decisions?limit=20");
    const tbody = $("recent").querySelector("tbody"); tbody.replaceChildren();
    if (r.status !== 200) return;
    for (const d of r.data) {
      const tr = document.createElement("tr"); tr.dataset.id = d.decision_id;
      for (const [v, cls] of [[d.created_at.replace("T", " ").slice(0, 19), ""], [d.applicant_id || "", ""],
                              [d.outcome, d.outcome], [fmt(d.score, 1), "num"], [d.grade || "", ""],
                              [d.decision_id.slice(0, 8), "mono"]]) {
        const td = document.createElement("td"); td.textContent = v; if (cls) td.className = cls; tr.append(td);
      }
      tr.addEventListener("click", async () => {
        const one = await api("GET", "/v1/decisions/" + encodeURIComponent(d.decision_id));
        if (one.status === 200) showDecision(one.data);
      });
      tbody.append(tr);
    }
  }

  $("login-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("api-key").value.trim()); $("api-key").value = ""; });
  $("logout").addEventListener("click", () => signOut(""));
  $("refresh").addEventListener("click", loadRecent);
  $("decision-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const errs = $("errors"); errs.replaceChildren();
    $("decide").disabled = true;
    try {
      const r = await api("POST", "/v1/decisions", readForm(ev.target));
      if (r.status === 200) { showDecision(r.data); await loadRecent(); return; }
      const items = (r.data && r.data.errors) ? r.data.errors.map((e) => e.field + ": " + e.message)
                                             : [(r.data && r.data.detail) || ("error " + r.status)];
      for (const text of items) { const li = document.createElement("li"); li.textContent = text; errs.append(li); }
    } finally { $("decide").disabled = false; }
  });
  if (key()) signIn(key()); else signOut("");
})();
