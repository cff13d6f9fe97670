//! End-to-end test of the VS Code extension: code-server (VS Code in a browser, with the .vsix installed) driven in
//! headless Chromium by playwright-core. Types in a Rust file, waits for ghost text from the real server, accepts it
//! with Tab, checks the file and the server log; types again, dismisses with Escape, checks the reject.
//! "ghostline: Show Stats" is run before and after the accept: the stored `accepted` count it shows goes up by one.
//!
//! Environment: CODE_URL (code-server's address with ?folder=), PROJECT (that folder), GHOSTLINE_LOG_FILE,
//! CHROMIUM, ARTIFACTS, READY_TIMEOUT_MS, SUGGESTION_TIMEOUT_MS, AUTO_WAIT_MS, TYPED, REQUIRE_AUTOMATIC (1: no
//! trigger fallback).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const codeUrl = env("CODE_URL");
const project = env("PROJECT");
const logFile = env("GHOSTLINE_LOG_FILE");
const artifacts = env("ARTIFACTS", ".");
const readyTimeout = Number(env("READY_TIMEOUT_MS", "180000"));
const suggestionTimeout = Number(env("SUGGESTION_TIMEOUT_MS", "60000"));
const typed = env("TYPED", "let product = ");

let passed = 0;
let failed = 0;
function check(name, condition, detail) {
  if (condition) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail !== undefined ? `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
  }
  return condition;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Feedback events in the server log: [{ event, id, acceptedLength }]. */
function serverEvents() {
  let text = "";
  try {
    text = fs.readFileSync(logFile, "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/event=(\w+)\s+id=("?)([^\s,"]+)\2(?:\s+accepted_length=(\d+))?/g)]
    .map((m) => ({ event: m[1], id: m[3], acceptedLength: m[4] === undefined ? undefined : Number(m[4]) }));
}
async function waitFor(predicate, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) return value;
    await sleep(intervalMs);
  }
}
const countEvents = (event) => serverEvents().filter((e) => e.event === event).length;
const autoWait = Number(env("AUTO_WAIT_MS", "8000"));

/**
 * Waits for ghost text: first requested automatically while typing; when none comes within AUTO_WAIT_MS (the
 * server may hold back automatic suggestions it is unsure of), asks with ghostline's "Trigger Suggestion".
 */
async function waitGhost(page, selector) {
  const requireAutomatic = process.env.REQUIRE_AUTOMATIC === "1";
  const found = await page.waitForSelector(selector, { timeout: requireAutomatic ? suggestionTimeout : autoWait })
    .catch(() => null);
  if (found || requireAutomatic) return found;
  console.log(`# no automatic suggestion within ${autoWait} ms: running "ghostline: Trigger Suggestion"`);
  await page.keyboard.press("Alt+Backslash");
  const viaKey = await page.waitForSelector(selector, { timeout: 3000 }).catch(() => null);
  if (viaKey) return viaKey;
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget input", { timeout: 10000 });
  await page.keyboard.type("ghostline: Trigger Suggestion", { delay: 10 });
  await sleep(500);
  await page.keyboard.press("Enter");
  return page.waitForSelector(selector, { timeout: suggestionTimeout }).catch(() => null);
}

/** Runs a command from the command palette (F1). */
async function runCommand(page, title) {
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget input", { timeout: 10000 });
  await page.keyboard.type(title, { delay: 10 });
  await sleep(500);
  await page.keyboard.press("Enter");
}

/**
 * "ghostline: Show Stats", then reads the view's text; returns the stored `accepted` count it shows (null when
 * none) and closes the view again (Ctrl+W), back to the file.
 */
async function statsAccepted(page, shot) {
  await runCommand(page, "ghostline: Show Stats");
  const text = await waitFor(async () => {
    // Monaco draws spaces as U+00A0.
    const views = await page.$$eval(".editor-instance .monaco-editor .view-lines",
      (nodes) => nodes.map((n) => n.innerText.replace(/\u00a0/g, " ")));
    return views.find((t) => t.includes("Stored suggestions")) ?? null;
  }, 15000, 250);
  await page.screenshot({ path: path.join(artifacts, shot) });
  const match = /^\s*accepted: (\d+)/m.exec(text ?? "");
  console.log(`# stats view: ${JSON.stringify((text ?? "").split("\n").slice(0, 8))}`);
  await page.keyboard.press("Control+W");
  await sleep(500);
  return match ? Number(match[1]) : null;
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/lib/chromium/chromium"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
let exitCode = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(30000);
  await page.goto(codeUrl);
  await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
  check("code-server workbench loads", true);

  // Open src/lib.rs with Quick Open.
  const editorSelector = ".editor-instance .monaco-editor";
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.keyboard.press("Control+P");
    const input = await page.waitForSelector(".quick-input-widget input", { timeout: 10000 }).catch(() => null);
    if (!input) continue;
    await page.keyboard.type("lib.rs", { delay: 20 });
    await sleep(700);
    await page.keyboard.press("Enter");
    if (await page.waitForSelector(`${editorSelector} .view-lines`, { timeout: 10000 }).catch(() => null)) break;
  }
  check("src/lib.rs opens in an editor", (await page.$(`${editorSelector} .view-lines`)) !== null);

  // The status bar item reports the model loaded.
  const statusItem = page.locator('.statusbar-item[id="ghostline.ghostline.status"], .statusbar-item:has-text("ghostline")').first();
  const ready = await waitFor(async () => {
    const label = (await statusItem.getAttribute("aria-label").catch(() => null)) ?? "";
    return /ready|error|not installed/.test(label) ? label : null;
  }, readyTimeout, 250);
  check(`status bar reports ready (${ready})`, /ready/.test(ready ?? ""), ready ?? "no status bar item");
  const acceptedAtStart = await statsAccepted(page, "vscode-stats-before.png");
  check(`"ghostline: Show Stats" shows the stored accepted count (${acceptedAtStart})`, acceptedAtStart !== null);

  // Type in the body of the function and wait for ghost text.
  const original = fs.readFileSync(path.join(project, "src/lib.rs"), "utf8");
  await page.click(`${editorSelector} .view-lines`);
  // The end of line 9 (`fn mul(...) {`), then a new line in its body.
  await page.keyboard.press("Control+G");
  await page.waitForSelector(".quick-input-widget input", { timeout: 10000 });
  await page.keyboard.type("9", { delay: 20 });
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(typed, { delay: 60 });
  const ghostSelector = `${editorSelector} .ghost-text-decoration, ${editorSelector} .ghost-text`;
  const ghost = await waitGhost(page, ghostSelector);
  await page.screenshot({ path: path.join(artifacts, "vscode-ghost-text.png") });
  if (!check("ghost text appears after typing", ghost !== null)) throw new Error("no ghost text");
  // The inline part of the ghost text (on the cursor line); further lines live in a separate view zone.
  // VS Code draws spaces as U+00A0 and control characters as control pictures (U+2400.., ␡): map them back.
  const inlineGhost = (await page.$$eval(`${editorSelector} .ghost-text-decoration`,
    (nodes) => nodes.map((n) => n.textContent ?? "").join("")))
    .replace(/\u00a0/g, " ")
    .replace(/[\u2400-\u241f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x2400))
    .replace(/\u2421/g, "\u007f");
  console.log(`# inline ghost text: ${JSON.stringify(inlineGhost)}`);
  check("server logged the show", await waitFor(() => countEvents("show") >= 1, 10000));

  // Tab accepts: the text lands in the file and the accept reaches the server.
  const acceptsBefore = countEvents("accept");
  await page.keyboard.press("Tab");
  await waitFor(async () => (await page.$(ghostSelector)) === null, 5000);
  await page.keyboard.press("Control+S");
  const expectedLine = (typed + inlineGhost).trim();
  const saved = await waitFor(() => {
    const text = fs.readFileSync(path.join(project, "src/lib.rs"), "utf8");
    // With inline ghost text: a line starts with what was typed plus that text. Without (the suggestion starts
    // on the next line): the file has more lines than the original plus the typed one.
    if (inlineGhost.trim() !== "") return text.split("\n").some((line) => line.trim().startsWith(expectedLine)) ? text : null;
    return text.includes(typed.trim()) && text.split("\n").length > original.split("\n").length + 1 ? text : null;
  }, 10000);
  check("Tab inserts the suggestion into the file", saved !== null,
    { file: fs.readFileSync(path.join(project, "src/lib.rs"), "utf8"), expectedLine });
  check("server logged the accept", await waitFor(() => countEvents("accept") > acceptsBefore, 10000), serverEvents());
  await page.screenshot({ path: path.join(artifacts, "vscode-after-accept.png") });
  const acceptedAfter = await statsAccepted(page, "vscode-stats-after-accept.png");
  check(`Show Stats counts the accept (${acceptedAtStart} -> ${acceptedAfter})`,
    acceptedAtStart !== null && acceptedAfter === acceptedAtStart + 1);
  // Closing the view gave the focus back to lib.rs with its cursor where the accept left it.

  // Type again, dismiss with Escape: the ghost text goes and the reject reaches the server.
  const rejectsBefore = countEvents("reject");
  const showsBefore = countEvents("show");
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type("let quotient = ", { delay: 60 });
  const second = await waitGhost(page, ghostSelector);
  if (check("ghost text appears after typing again", second !== null)) {
    await waitFor(() => countEvents("show") > showsBefore, 5000);
    await page.keyboard.press("Escape");
    const gone = await waitFor(async () => (await page.$(ghostSelector)) === null, 5000);
    check("Escape hides the ghost text", gone);
    check("server logged the reject", await waitFor(() => countEvents("reject") > rejectsBefore, 10000), serverEvents());
  }
  await page.screenshot({ path: path.join(artifacts, "vscode-after-escape.png") });

  // Accept one word (Ctrl+Right): part of the suggestion lands, the partial accept reaches the server.
  const partialsBefore = countEvents("partial_accept");
  const acceptsBeforeWord = countEvents("accept");
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type("let difference = ", { delay: 60 });
  const third = await waitGhost(page, `${editorSelector} .ghost-text-decoration`);
  if (check("ghost text appears for the accept-word check", third !== null)) {
    const inline = (await page.$$eval(`${editorSelector} .ghost-text-decoration`,
      (nodes) => nodes.map((n) => n.textContent ?? "").join(""))).replace(/\u00a0/g, " ");
    await page.keyboard.press("Control+ArrowRight");
    // One word of a longer suggestion is a partial accept; a one-word suggestion is accepted whole.
    const firstWord = (inline.match(/^\s*\w+|^\s*[^\w\s]+/) ?? [inline])[0];
    const partial = firstWord.length < inline.length;
    const reported = await waitFor(() => partial
      ? countEvents("partial_accept") > partialsBefore
      : countEvents("accept") > acceptsBeforeWord || countEvents("partial_accept") > partialsBefore, 10000);
    check(`Ctrl+Right accepts a word of ${JSON.stringify(inline)} and the server hears it`, reported, serverEvents());
    await page.keyboard.press("Escape");
    // The partial accept's length is what landed in the file after what was typed (saved and read back).
    const partialEvent = serverEvents().filter((e) => e.event === "partial_accept").pop();
    if (partial && partialEvent) {
      await page.keyboard.press("Control+S");
      const typedPrefix = "let difference = ";
      const landed = await waitFor(() => {
        const line = fs.readFileSync(path.join(project, "src/lib.rs"), "utf8").split("\n")
          .find((l) => l.includes(typedPrefix));
        return line !== undefined && line.trim() !== typedPrefix.trim() ? line.slice(line.indexOf(typedPrefix) + typedPrefix.length) : null;
      }, 5000);
      check(`the partial accept reports the accepted length (${partialEvent.acceptedLength} = ${JSON.stringify(landed)}.length)`,
        landed !== null && partialEvent.acceptedLength === landed.length, { partialEvent, landed });
    }
  }

  // Accept one line (Ctrl+Alt+Right, VS Code's acceptNextLine): the ghost text's first line lands, and the server
  // hears a partial accept of exactly that length (a one-line suggestion is accepted whole instead).
  const lastShow = () => serverEvents().filter((e) => e.event === "show").pop();
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  // A blank line in a body: the server suggests a block (several lines), so one line is a part of it.
  const showsBeforeLine = countEvents("show");
  await page.keyboard.press("Enter");
  const fourth = await waitGhost(page, `${editorSelector} .ghost-text-decoration`);
  if (check("ghost text appears for the accept-line check", fourth !== null)) {
    await waitFor(() => countEvents("show") > showsBeforeLine, 5000);
    const lineId = lastShow()?.id;
    const inline = (await page.$$eval(`${editorSelector} .ghost-text-decoration`,
      (nodes) => nodes.map((n) => n.textContent ?? "").join(""))).replace(/\u00a0/g, " ")
      .replace(/[\u2400-\u241f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x2400));
    const multiLine = (await page.$(`${editorSelector} .ghost-text:not(.ghost-text-decoration)`)) !== null;
    await page.keyboard.press("Control+Alt+ArrowRight");
    const reported = await waitFor(() => serverEvents().find((e) => e.id === lineId
      && (e.event === "partial_accept" || e.event === "accept")), 10000);
    console.log(`# accept line: ${JSON.stringify({ inline, multiLine, reported })}`);
    check(`Ctrl+Alt+Right accepts the line ${JSON.stringify(inline)} and the server hears it`, reported !== undefined,
      serverEvents().slice(-5));
    if (reported?.event === "partial_accept") {
      // The accepted length counts the inserted line, and its line break when VS Code inserts one.
      console.log(`# partial accept of ${reported.acceptedLength} chars; first ghost line ${inline.length} chars`);
      check(`the partial accept carries the accepted length (${reported.acceptedLength} for a first line of ${inline.length})`,
        reported.acceptedLength === inline.length || reported.acceptedLength === inline.length + 1, reported);
    } else {
      console.log("# the suggestion was one line: accept-line accepted it whole");
    }
    await page.keyboard.press("Escape");
  }

  // Next / previous alternative (Alt+] / Alt+[) of an invoked suggestion (up to 3 alternatives): each newly shown
  // one is reported as shown.
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type("let modulo = ", { delay: 60 });
  await sleep(1500);
  const showsBeforeInvoke = countEvents("show");
  await runCommand(page, "ghostline: Trigger Suggestion");
  const invoked = await page.waitForSelector(ghostSelector, { timeout: suggestionTimeout }).catch(() => null);
  await waitFor(() => countEvents("show") > showsBeforeInvoke, 5000);
  if (check("an invoked suggestion is shown for the next/previous check", invoked !== null && countEvents("show") > showsBeforeInvoke)) {
    const firstId = lastShow().id;
    const ghostOf = async () => (await page.$$eval(ghostSelector, (nodes) => nodes.map((n) => n.textContent ?? "").join("")));
    const firstGhost = await ghostOf();
    const showsBeforeNext = countEvents("show");
    await page.keyboard.press("Alt+BracketRight");
    const next = await waitFor(() => countEvents("show") > showsBeforeNext ? lastShow() : null, 5000);
    await page.screenshot({ path: path.join(artifacts, "vscode-next-alternative.png") });
    if (next) {
      check("Alt+] shows another alternative and the server hears its show", next.id !== firstId, next);
      check("the ghost text changes to the alternative", (await ghostOf()) !== firstGhost);
      const showsBeforePrevious = countEvents("show");
      await page.keyboard.press("Alt+BracketLeft");
      const back = await waitFor(() => countEvents("show") > showsBeforePrevious ? lastShow() : null, 5000);
      check("Alt+[ goes back and the server hears the first one shown again", back?.id === firstId, back);
    } else {
      // The server deduplicates alternatives: one distinct suggestion leaves nothing to cycle to.
      console.log("# one alternative only: Alt+] has nothing to show");
      check("Alt+] with a single alternative reports nothing new", countEvents("show") === showsBeforeNext);
    }
    await page.keyboard.press("Escape");
  }
  exitCode = failed === 0 ? 0 : 1;
} catch (error) {
  failed++;
  console.log(`not ok - ${error}`);
} finally {
  await browser.close();
}
console.log(`vscode: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
