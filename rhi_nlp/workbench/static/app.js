// rhi-nlp labelling workbench: one narrative at a time, keyboard first. Every change is posted
// at once; the server appends it to the journal before answering.
"use strict";

const TOKEN = document.querySelector('meta[name="rhi-token"]').content;
const $ = (id) => document.getElementById(id);
let state = null;      // /api/state
let item = null;       // the narrative shown
let pos = 0;
let lastTheme = null;
let started = Date.now();

async function api(path, body) {
  const opts = { headers: { "X-RHI-Token": TOKEN } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  if (!resp.ok) throw new Error("the server refused the request (" + resp.status + ")");
  return resp.json();
}

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return m >= 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m + " min";
}

function showProgress(p) {
  state.progress = p;
  $("progress").textContent = p.done + " of " + p.total + " done" +
    " \u00b7 time spent " + fmtTime(p.seconds_spent);
}

function saved(ok, what) {
  $("saved").textContent = ok ? "Saved" : "NOT saved: " + what;
  $("saved").className = ok ? "saved" : "saved error";
}

async function post(body) {
  try {
    const p = await api("/api/item/" + pos, body);
    showProgress(p);
    saved(true);
    return true;
  } catch (e) {
    saved(false, e.message);
    return false;
  }
}

function renderText(text, cues) {
  const box = $("narrative");
  box.textContent = "";
  if (!cues || !cues.length) { box.textContent = text; return; }
  let at = 0;
  const sorted = cues.slice().sort((a, b) => a[0] - b[0]);
  for (const [s, e, theme, affirmed] of sorted) {
    if (s < at) continue;
    box.appendChild(document.createTextNode(text.slice(at, s)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(s, e);
    mark.className = affirmed ? "cue" : "cue modified";
    mark.title = theme + (affirmed ? "" : " (negated, advice, hypothetical, historical or someone else)");
    box.appendChild(mark);
    at = e;
  }
  box.appendChild(document.createTextNode(text.slice(at)));
}

function renderThemes() {
  const list = $("theme-list");
  list.textContent = "";
  for (const t of state.themes) {
    const row = document.createElement("div");
    row.className = "theme-row";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "theme";
    b.id = "theme-" + t.id;
    b.dataset.theme = t.id;
    b.setAttribute("aria-pressed", "false");
    const k = document.createElement("kbd");
    k.textContent = t.key;
    b.appendChild(k);
    b.appendChild(document.createTextNode(" " + t.name));
    const extra = document.createElement("span");
    extra.className = "extra";
    b.appendChild(extra);
    b.addEventListener("click", () => toggle(t.id));
    b.addEventListener("focus", () => showRule(t.id));
    row.appendChild(b);
    list.appendChild(row);
  }
  const keys = $("help-keys");
  keys.textContent = "";
  for (const t of state.themes) {
    const li = document.createElement("li");
    const k = document.createElement("kbd");
    k.textContent = t.key;
    li.appendChild(k);
    const strong = document.createElement("strong");
    strong.textContent = " " + t.name + ": ";
    li.appendChild(strong);
    li.appendChild(document.createTextNode(t.definition + (t.exclude ? " Does not count: " + t.exclude + "." : "")));
    keys.appendChild(li);
  }
}

function showRule(id) {
  const t = state.themes.find((x) => x.id === id);
  if (!t) return;
  const box = $("rule");
  box.textContent = "";
  const h = document.createElement("h3");
  h.textContent = t.name;
  box.appendChild(h);
  const p1 = document.createElement("p");
  p1.textContent = t.definition;
  box.appendChild(p1);
  if (t.exclude) {
    const p2 = document.createElement("p");
    p2.textContent = "Does not count: " + t.exclude + ".";
    box.appendChild(p2);
  }
  for (const c of t.clarifications || []) {
    const p = document.createElement("p");
    p.className = "clar";
    p.textContent = c;
    box.appendChild(p);
  }
}

function renderItem() {
  const total = state.progress.total;
  $("pos").textContent = "Narrative " + (pos + 1) + " of " + total + " \u00b7 id " + item.id +
    (item.done ? " \u00b7 done" : "");
  renderText(item.text, state.mode === "training" ? item.cues : null);
  for (const t of state.themes) {
    const b = $("theme-" + t.id);
    const on = item.labels[t.id] === 1;
    b.setAttribute("aria-pressed", on ? "true" : "false");
    const extra = b.querySelector(".extra");
    extra.textContent = "";
    if (state.mode === "training" && item.guess && t.id in item.guess) {
      extra.textContent = " model " + Math.round(item.guess[t.id] * 100) + "%";
    }
    if (state.mode === "adjudicate" && item.others) {
      extra.textContent = " " + Object.entries(item.others)
        .map(([n, l]) => n + ": " + (l[t.id] === 1 ? "yes" : "no")).join(", ");
    }
  }
  $("unsure").checked = item.unsure;
  $("note").value = item.note;
}

async function load(n) {
  if (n < 0 || n >= state.progress.total) return;
  try {
    item = await api("/api/item/" + n);
  } catch (e) {
    saved(false, e.message);
    return;
  }
  pos = n;
  renderItem();
  $("narrative").focus();
}

async function toggle(id) {
  const value = item.labels[id] === 1 ? 0 : 1;
  item.labels[id] = value;
  lastTheme = id;
  $("theme-" + id).setAttribute("aria-pressed", value ? "true" : "false");
  showRule(id);
  await post({ theme: id, value: value });
}

async function done() {
  const labels = {};
  for (const t of state.themes) labels[t.id] = item.labels[t.id] === 1 ? 1 : 0;
  if (await post({ done: true, labels: labels })) {
    item.done = true;
    if (pos + 1 < state.progress.total) await load(pos + 1);
    else renderItem();
  }
}

async function firstNotDone() {
  const p = state.progress;
  if (p.first_unlabelled !== null) await load(p.first_unlabelled);
}

function openHelp() { $("help").showModal(); $("help-title").focus(); }

document.addEventListener("keydown", async (ev) => {
  const inNote = document.activeElement === $("note");
  if ($("help").open) return;  // the dialog closes itself on Esc
  if (inNote) {
    if (ev.key === "Escape") { ev.preventDefault(); $("narrative").focus(); }
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const theme = state && state.themes.find((t) => t.key === ev.key);
  if (theme) { ev.preventDefault(); await toggle(theme.id); return; }
  switch (ev.key) {
    case "Enter":
      if (document.activeElement && document.activeElement.tagName === "BUTTON") return;
      ev.preventDefault(); await done(); break;
    case "ArrowRight": ev.preventDefault(); await load(pos + 1); break;
    case "ArrowLeft": ev.preventDefault(); await load(pos - 1); break;
    case "f": ev.preventDefault(); await firstNotDone(); break;
    case "u": ev.preventDefault(); $("unsure").checked = !$("unsure").checked; item.unsure = $("unsure").checked;
      await post({ unsure: item.unsure }); break;
    case "n": ev.preventDefault(); $("note").focus(); break;
    case "d": if (lastTheme) { ev.preventDefault(); showRule(lastTheme); } break;
    case "?": ev.preventDefault(); openHelp(); break;
  }
});

$("unsure").addEventListener("change", async () => { item.unsure = $("unsure").checked; await post({ unsure: item.unsure }); });
$("note").addEventListener("change", async () => { item.note = $("note").value; await post({ note: item.note }); });
$("note").addEventListener("blur", async () => {
  if ($("note").value !== item.note) { item.note = $("note").value; await post({ note: item.note }); }
});
$("save-next").addEventListener("click", done);
$("skip").addEventListener("click", () => load(pos + 1));
$("back").addEventListener("click", () => load(pos - 1));
$("first").addEventListener("click", firstNotDone);
$("help-open").addEventListener("click", openHelp);
$("help-close").addEventListener("click", () => $("help").close());

setInterval(() => { if (state) showProgress(state.progress); }, 30000);

(async function start() {
  state = await api("/api/state");
  const modes = {
    audit: "Audit: no model output is shown, so it cannot sway the labels.",
    training: "Training labels: the model's guess and cue phrases are shown.",
    adjudicate: "Adjudication: both labellers' labels are shown for each disagreement."
  };
  $("mode").textContent = modes[state.mode] + " Labeller: " + state.labeller + ".";
  renderThemes();
  showProgress(state.progress);
  if (!state.progress.total) {
    $("pos").textContent = state.mode === "adjudicate" ? "No disagreements to adjudicate." : "The file has no rows.";
    return;
  }
  await load(state.progress.first_unlabelled !== null ? state.progress.first_unlabelled : 0);
})();
