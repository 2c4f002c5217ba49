// The distrust console: plain ES module, no build. Every call goes to this gateway's own API with the key the
// user signed in with (kept in this tab's session storage only).

const KEY = "distrust-api-key";
const state = { key: sessionStorage.getItem(KEY), job: null, jobAbort: null, points: [], chat: [] };
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

class ApiError extends Error {}

async function api(path, { method = "GET", body, form, raw = false, signal } = {}) {
  const headers = { Authorization: `Bearer ${state.key}` };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, signal });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      const error = (await response.json()).error;
      message = error.param ? `${error.message} (${error.param})` : error.message;
    } catch (_) { /* not an OpenAI error body */ }
    throw new ApiError(message);
  }
  return raw ? response : response.json();
}

// Server-sent events from a fetch response (EventSource cannot send the Authorization header).
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

function showError(error) {
  const box = $("#error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError() {
  $("#error").hidden = true;
}

async function guarded(work) {
  clearError();
  try {
    await work();
  } catch (error) {
    if (error.name !== "AbortError") showError(error);
  }
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "–";
  if (className) td.className = className;
  return td;
}

// ---- sign in / out and navigation

async function signIn(key) {
  state.key = key;
  try {
    await api("/v1/models");
  } catch (error) {
    state.key = null;
    throw new ApiError(`Sign-in failed: ${error.message}`);
  }
  sessionStorage.setItem(KEY, key);
  $("#sign-in").hidden = true;
  $("#nav").hidden = false;
  await show("jobs");
}

function signOut() {
  sessionStorage.removeItem(KEY);
  state.key = null;
  state.jobAbort?.abort();
  $$("[data-view]").forEach((view) => (view.hidden = true));
  $("#nav").hidden = true;
  $("#sign-in").hidden = false;
}

const loaders = {
  jobs: loadJobs,
  chat: () => fillModels($("#chat")),
  compare: () => fillModels($("#compare")),
  files: loadFiles,
  evals: loadEvals,
  models: loadModels,
};

async function show(name) {
  clearError();
  $$("section[data-view]").forEach((view) => (view.hidden = view.id !== name));
  $$("nav button[data-view]").forEach((button) =>
    button.dataset.view === name ? button.setAttribute("aria-current", "page") : button.removeAttribute("aria-current"),
  );
  await guarded(loaders[name]);
}

// ---- pickers

async function fillModels(root) {
  const selects = $$("select[data-models]", root);
  if (!selects.length) return;
  const models = (await api("/v1/models")).data.filter((m) => m.kind !== "embedding");
  for (const select of selects) {
    const kept = select.value;
    select.replaceChildren();
    if (select.hasAttribute("data-optional")) select.add(new Option("(none)", ""));
    for (const model of models) select.add(new Option(`${model.id} · ${model.kind}`, model.id));
    if (kept) select.value = kept;
  }
}

async function fillFiles(root) {
  for (const select of $$("select[data-files]", root)) {
    const files = (await api(`/v1/files?purpose=${select.dataset.files}&limit=100`)).data;
    select.replaceChildren(...files.map((f) => new Option(`${f.filename} (${f.id})`, f.id)));
  }
}

// ---- jobs: list, create, controls, live chart

async function loadJobs() {
  await Promise.all([fillModels($("#jobs")), fillFiles($("#jobs"))]);
  await listJobs();
}

async function listJobs() {
  const jobs = (await api("/v1/fine_tuning/jobs?limit=50")).data;
  const body = $("#job-table tbody");
  body.replaceChildren();
  for (const job of jobs) {
    const row = body.insertRow();
    row.dataset.id = job.id;
    row.tabIndex = 0;
    row.setAttribute("aria-selected", String(job.id === state.job));
    cell(row, job.id, "mono");
    cell(row, job.model, "mono");
    cell(row, job.status, `status-${job.status}`);
    cell(row, job.total_steps ? `${job.step}/${job.total_steps}` : "–");
    cell(row, job.fine_tuned_model, "mono");
    const open = () => guarded(() => openJob(job.id));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => event.key === "Enter" && open());
  }
}

async function createJob(form) {
  const data = new FormData(form);
  const body = {
    model: data.get("model"),
    training_file: data.get("training_file"),
    hyperparameters: { n_epochs: Number(data.get("n_epochs") || 1) },
  };
  if (data.get("suffix")) body.suffix = data.get("suffix");
  if (data.get("alias")) body.alias = data.get("alias");
  const job = await api("/v1/fine_tuning/jobs", { method: "POST", body });
  await openJob(job.id);
  await listJobs();
}

function setControls(job) {
  const status = job.status;
  $("#job-status").textContent = `${status}${job.total_steps ? ` · step ${job.step}/${job.total_steps}` : ""}` +
    (job.fine_tuned_model ? ` · ${job.fine_tuned_model}` : "") + (job.error ? ` · ${job.error.message}` : "");
  $("#job-status").className = `status-${status}`;
  $('[data-control="pause"]').disabled = !["queued", "running"].includes(status);
  $('[data-control="resume"]').disabled = status !== "paused";
  $('[data-control="cancel"]').disabled = ["succeeded", "failed", "cancelled"].includes(status);
}

async function openJob(id) {
  state.jobAbort?.abort();
  state.job = id;
  state.points = [];
  drawChart();
  const job = await api(`/v1/fine_tuning/jobs/${id}`);
  $("#job-detail").hidden = false;
  $("#job-title").textContent = `${job.id} · ${job.model}`;
  setControls(job);
  $("#job-events").replaceChildren();
  $$("#job-table tbody tr").forEach((row) => row.setAttribute("aria-selected", String(row.dataset.id === id)));
  const abort = new AbortController();
  state.jobAbort = abort;
  followJob(id, abort.signal);
}

async function followJob(id, signal) {
  await guarded(async () => {
    const response = await api(`/v1/fine_tuning/jobs/${id}/events?stream=true`, { raw: true, signal });
    for await (const event of events(response)) {
      if (state.job !== id) return;
      const item = document.createElement("li");
      item.textContent = event.message;
      $("#job-events").prepend(item);
      if (event.type === "metrics") {
        state.points.push({ step: event.data.step, loss: event.data.train_loss, val: event.data.val_loss });
        drawChart();
      }
      if (event.status) {
        setControls(await api(`/v1/fine_tuning/jobs/${id}`));
        await listJobs();
      }
    }
  });
}

function drawChart() {
  const canvas = $("#loss-chart");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = 40;
  context.clearRect(0, 0, width, height);
  context.font = "12px system-ui, sans-serif";
  context.fillStyle = "#5b6475";
  canvas.dataset.points = String(state.points.length);
  if (!state.points.length) {
    context.fillText("No metrics yet: the chart follows the job live.", pad, height / 2);
    return;
  }
  const values = state.points.flatMap((p) => [p.loss, p.val]).filter((v) => typeof v === "number");
  const top = Math.max(...values);
  const bottom = Math.min(...values);
  const lastStep = Math.max(...state.points.map((p) => p.step), 1);
  const x = (step) => pad + ((width - 2 * pad) * step) / lastStep;
  const y = (value) => height - pad - ((height - 2 * pad) * (value - bottom)) / (top - bottom || 1);
  context.strokeStyle = "#d5d9e0";
  context.strokeRect(pad, pad, width - 2 * pad, height - 2 * pad);
  context.fillText(top.toFixed(3), 2, pad + 4);
  context.fillText(bottom.toFixed(3), 2, height - pad);
  context.fillText(`step ${lastStep}`, width - pad - 40, height - pad + 16);
  for (const [key, color] of [["loss", "#1f5fbf"], ["val", "#c0392b"]]) {
    const points = state.points.filter((p) => typeof p[key] === "number");
    if (!points.length) continue;
    context.strokeStyle = color;
    context.lineWidth = 2;
    context.beginPath();
    points.forEach((p, i) => (i ? context.lineTo(x(p.step), y(p[key])) : context.moveTo(x(p.step), y(p[key]))));
    context.stroke();
  }
  context.fillStyle = "#1f5fbf";
  context.fillText("training loss", pad + 6, pad - 8);
  if (state.points.some((p) => typeof p.val === "number")) {
    context.fillStyle = "#c0392b";
    context.fillText("validation loss", pad + 100, pad - 8);
  }
}

// ---- chat and compare (streamed)

async function streamChat(model, messages, options, onText) {
  const body = { model, messages, stream: true, ...options };
  const response = await api("/v1/chat/completions", { method: "POST", body, raw: true });
  for await (const chunk of events(response)) {
    const text = chunk.choices?.[0]?.delta?.content;
    if (text) onText(text);
  }
}

function turn(log, who, text = "") {
  const div = document.createElement("div");
  div.className = "turn";
  const name = document.createElement("b");
  name.textContent = `${who}: `;
  const span = document.createElement("span");
  span.textContent = text;
  div.append(name, span);
  log.append(div);
  return span;
}

async function sendChat(form) {
  const data = new FormData(form);
  const message = String(data.get("message"));
  const log = $("#chat-log");
  state.chat.push({ role: "user", content: message });
  turn(log, "you", message);
  const answer = turn(log, data.get("model"));
  answer.dataset.streaming = "true";
  form.elements.message.value = "";
  const messages = data.get("system") ? [{ role: "system", content: data.get("system") }, ...state.chat] : state.chat;
  const options = {
    temperature: Number(data.get("temperature")),
    max_tokens: Number(data.get("max_tokens")),
    top_p: Number(data.get("top_p")),
  };
  try {
    await streamChat(data.get("model"), messages, options, (text) => (answer.textContent += text));
    state.chat.push({ role: "assistant", content: answer.textContent });
  } finally {
    delete answer.dataset.streaming;
  }
}

async function compare(form) {
  const data = new FormData(form);
  const models = data.getAll("model").filter(Boolean);
  if (models.length < 2) throw new ApiError("Pick at least two models to compare");
  const out = $("#compare-out");
  out.replaceChildren();
  const messages = [{ role: "user", content: String(data.get("message")) }];
  await Promise.all(
    models.map(async (model) => {
      const article = document.createElement("article");
      const title = document.createElement("h3");
      title.textContent = model;
      const text = document.createElement("pre");
      text.dataset.streaming = "true";
      article.append(title, text);
      out.append(article);
      try {
        const options = { max_tokens: Number(data.get("max_tokens")), temperature: 0 };
        await streamChat(model, messages, options, (piece) => (text.textContent += piece));
      } finally {
        delete text.dataset.streaming;
      }
    }),
  );
}

// ---- files, evaluations, models

async function loadFiles() {
  const files = (await api("/v1/files?limit=100")).data;
  const body = $("#file-table tbody");
  body.replaceChildren();
  for (const file of files) {
    const row = body.insertRow();
    cell(row, file.id, "mono");
    cell(row, file.filename);
    cell(row, file.purpose);
    cell(row, String(file.bytes));
    cell(row, file.lines == null ? "–" : String(file.lines));
  }
}

async function upload(form) {
  await api("/v1/files", { method: "POST", form: new FormData(form) });
  form.reset();
  await loadFiles();
}

async function loadEvals() {
  const evals = (await api("/v1/evals?limit=50")).data;
  const body = $("#eval-table tbody");
  body.replaceChildren();
  for (const evaluation of evals) {
    const row = body.insertRow();
    row.dataset.id = evaluation.id;
    row.tabIndex = 0;
    cell(row, evaluation.id, "mono");
    cell(row, evaluation.name);
    cell(row, evaluation.status, `status-${evaluation.status}`);
    cell(row, evaluation.models.join(", "), "mono");
    const open = () => guarded(() => openEval(evaluation.id));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => event.key === "Enter" && open());
  }
}

async function openEval(id) {
  const evaluation = await api(`/v1/evals/${id}`);
  $("#eval-detail").hidden = false;
  $("#eval-title").textContent = `${evaluation.id} · ${evaluation.status}`;
  const table = $("#eval-summary");
  table.replaceChildren();
  const summary = evaluation.summary;
  if (summary) {
    const head = table.createTHead().insertRow();
    ["metric", ...summary.models].forEach((name) => (head.insertCell().textContent = name));
    const body = table.createTBody();
    for (const [metric, values] of Object.entries(summary.metrics)) {
      const row = body.insertRow();
      cell(row, metric, "mono");
      for (const model of summary.models) {
        const value = values[model];
        const shown = typeof value === "number" && !Number.isInteger(value) ? value.toFixed(3) : value;
        cell(row, shown == null ? "–" : String(shown));
      }
    }
    const png = await api(`/v1/evals/${id}/charts/accuracy.png`, { raw: true }).catch(() => null);
    const image = $("#eval-chart");
    if (png) image.src = URL.createObjectURL(await png.blob());
    image.hidden = !png;
  }
}

async function loadModels() {
  const [models, jobs, aliases] = await Promise.all([
    api("/v1/models"),
    api("/v1/fine_tuning/jobs?limit=100"),
    api("/v1/aliases"),
  ]);
  const jobOf = new Map(jobs.data.filter((j) => j.fine_tuned_model).map((j) => [j.fine_tuned_model, j]));
  const body = $("#model-table tbody");
  body.replaceChildren();
  for (const model of models.data) {
    const job = jobOf.get(model.id);
    const pointing = aliases.data.filter((a) => a.model === model.id).map((a) => a.id);
    const row = body.insertRow();
    cell(row, model.id, "mono");
    cell(row, model.kind);
    cell(row, model.kind === "alias" ? `→ ${model.parent}` : model.parent ?? (model.kind === "base" ? "—" : null), "mono");
    cell(row, job?.id, "mono");
    cell(row, job?.training_file, "mono");
    cell(row, pointing.join(", ") || null, "mono");
  }
}

// ---- wiring

function on(selector, event, handler) {
  $(selector).addEventListener(event, (e) => {
    e.preventDefault();
    guarded(() => handler(e.currentTarget, e));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  on("#sign-in-form", "submit", (form) => signIn(form.elements.key.value.trim()));
  on("#sign-out", "click", signOut);
  $$("nav button[data-view]").forEach((button) => button.addEventListener("click", () => show(button.dataset.view)));
  on("#job-form", "submit", createJob);
  $$("[data-control]").forEach((button) =>
    button.addEventListener("click", () =>
      guarded(async () => {
        setControls(await api(`/v1/fine_tuning/jobs/${state.job}/${button.dataset.control}`, { method: "POST" }));
        await listJobs();
      }),
    ),
  );
  on("#chat-form", "submit", sendChat);
  on("#compare-form", "submit", compare);
  on("#file-form", "submit", upload);
  drawChart();
  if (state.key) guarded(() => signIn(state.key));
});
