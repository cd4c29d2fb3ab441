// The ninjarag page: a key kept in session storage, a collection, a question; the answer streams in
// sentence by sentence with citation chips, then sources and a feedback form. Everything from the
// server is inserted as text (textContent), never as HTML, and no link is made clickable.
"use strict";

const KEY_STORAGE = "ninjarag.apiKey";
const $ = (id) => document.getElementById(id);
let sources = [];
let answerId = null;
let rating = null;

function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ""; }

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function problemOf(response) {
  try {
    const body = await response.json();
    return `${body.type || response.status}: ${body.detail || body.title || ""}`;
  } catch (_) {
    return `HTTP ${response.status}`;
  }
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${apiKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(await problemOf(response));
  return response.status === 204 ? null : response.json();
}

async function loadCollections() {
  const select = $("collection");
  select.replaceChildren();
  if (!apiKey()) { $("key-state").textContent = "no key yet"; return; }
  try {
    const listing = await call("GET", "/v1/collections");
    for (const collection of listing.collections) {
      const option = element("option", "", `${collection.name} (${collection.documents} documents)`);
      option.value = collection.name;
      select.append(option);
    }
    $("key-state").textContent = `key set; ${listing.collections.length} collection(s) readable`;
    showError("");
  } catch (error) {
    $("key-state").textContent = "";
    showError(error.message);
  }
}

function openPassage(n) {
  const source = sources.find((s) => s.n === n);
  if (!source) return;
  $("passage-title").textContent = `[${n}] ${source.title || source.id}`;
  $("passage-text").textContent = source.text;
  $("passage").hidden = false;
}

function addSentence(event) {
  const line = element("p", "sentence", event.text);
  if (event.action === "trimmed" || event.action === "quoted") {
    line.classList.add("corrected");
    line.append(element("span", "action", event.action === "quoted" ? "(corrected: quoted from the source)"
      : "(corrected: unsupported part removed)"));
  }
  for (const n of event.citations) {
    const chip = element("button", "chip", `[${n}]`);
    chip.type = "button";
    chip.title = "Show the cited passage";
    chip.addEventListener("click", () => openPassage(n));
    line.append(chip);
  }
  $("answer").append(line);
}

function showSources() {
  const list = $("sources");
  list.replaceChildren();
  for (const source of sources) {
    const item = element("li");
    const open = element("button", "chip", `[${source.n}]`);
    open.type = "button";
    open.addEventListener("click", () => openPassage(source.n));
    item.append(open, " ", element("strong", "", source.title || source.id), " ");
    item.append(element("span", "snippet", source.text.length > 160 ? `${source.text.slice(0, 160)}…` : source.text));
    list.append(item);
  }
}

function finish(done) {
  const verdict = $("verdict");
  const words = { ok: "Every sentence is supported by its sources.", partial: "Some sentences were corrected or held back.",
    refuse: "Refused: the sources do not support an answer." };
  verdict.textContent = words[done.verdict] || done.verdict;
  verdict.className = `verdict ${done.verdict}`;
  answerId = done.answer_id;
  $("feedback-form").hidden = !answerId;
}

function handle(name, data) {
  if (name === "sources") { sources = data.sources; showSources(); }
  else if (name === "sentence") addSentence(data);
  else if (name === "done") finish(data);
  else if (name === "error") showError(`${data.type}: ${data.message}`);
}

// Server-Sent Events over fetch (EventSource cannot POST or send a key): blank-line separated blocks
// of `event:` and `data:` lines. JSON data never holds a raw carriage return, so dropping them is safe.
async function readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll("\r", "");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) handle(name, JSON.parse(data));
    }
  }
}

async function ask(event) {
  event.preventDefault();
  showError("");
  sources = [];
  answerId = null;
  rating = null;
  $("answer").replaceChildren();
  $("sources").replaceChildren();
  $("verdict").textContent = "Answering…";
  $("verdict").className = "verdict";
  $("passage").hidden = true;
  $("feedback-form").hidden = true;
  $("feedback-state").textContent = "";
  $("feedback-send").disabled = true;
  document.querySelectorAll(".rating").forEach((b) => b.setAttribute("aria-pressed", "false"));
  $("answer-panel").hidden = false;
  $("ask").disabled = true;
  try {
    const response = await fetch("/v1/answer", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey()}`, "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question: $("question").value, collection: $("collection").value || undefined }),
    });
    if (!response.ok) throw new Error(await problemOf(response));
    await readEvents(response);
  } catch (error) {
    $("verdict").textContent = "";
    showError(error.message);
  } finally {
    $("ask").disabled = false;
  }
}

async function sendFeedback(event) {
  event.preventDefault();
  if (!answerId || !rating) return;
  try {
    await call("POST", "/v1/feedback", { answer_id: answerId, rating, comment: $("feedback-comment").value });
    $("feedback-state").textContent = "Thank you: feedback recorded.";
    $("feedback-send").disabled = true;
  } catch (error) {
    $("feedback-state").textContent = error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    loadCollections();
  });
  $("forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORAGE); loadCollections(); });
  $("ask-form").addEventListener("submit", ask);
  $("passage-close").addEventListener("click", () => { $("passage").hidden = true; });
  document.querySelectorAll(".rating").forEach((button) => button.addEventListener("click", () => {
    rating = button.dataset.rating;
    document.querySelectorAll(".rating").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    $("feedback-send").disabled = false;
  }));
  $("feedback-form").addEventListener("submit", sendFeedback);
  loadCollections();
});
