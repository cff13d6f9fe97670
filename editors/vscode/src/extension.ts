//! The ghostline VS Code extension: starts `ghostline lsp` with vscode-languageclient (whose native LSP 3.18 inline
//! completion shows the ghost text), reports accept / partial accept / reject, and owns the status bar and commands.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { FeedbackSink, FeedbackTracker, WireItem } from "./feedback";
import { ServerStats, STATS_SCHEME, StatsView } from "./stats";
import { StatusBar } from "./status";

let client: LanguageClient | undefined;
let status: StatusBar;
let tracker: FeedbackTracker;
let output: vscode.LogOutputChannel;
let statsView: StatsView;

/** `ghostline/status` from the server. */
interface StatusParams {
  state: "loading" | "ready" | "error" | "disabled";
  message?: string;
  model?: string;
  device?: string;
  /** Whether the feedback store records (`off` with the reason when its database failed). */
  feedback?: { state: "on" | "starting" | "off"; message: string };
}

const config = () => vscode.workspace.getConfiguration("ghostline");

/** Whether suggestions are on for this language (`ghostline.languages`, `*` as the default). */
function languageEnabled(languageId: string | undefined): boolean {
  const languages = config().get<Record<string, boolean>>("languages") ?? {};
  if (languageId !== undefined && languageId in languages) return languages[languageId] !== false;
  return languages["*"] !== false;
}

function suggestionsEnabled(languageId: string | undefined): boolean {
  return config().get<boolean>("enable", true) && languageEnabled(languageId);
}

/** The settings object the server receives (initializationOptions, and the `ghostline` configuration section). */
function serverSettings(): Record<string, unknown> {
  const c = config();
  return {
    enable: c.get<boolean>("enable", true),
    debounceMs: c.get<number>("debounceMs", 75),
    maxLines: c.get<number>("maxLines", 8),
    modelPath: c.get<string>("modelPath") || null,
    device: c.get<string>("device", "auto"),
    decodeWeights: c.get<string>("decodeWeights", "q8"),
    logLevel: c.get<string>("logLevel", "info"),
    feedback: c.get<boolean>("feedback", true),
    feedbackPath: c.get<string>("feedbackPath") || null,
    feedbackRawPaths: c.get<boolean>("feedbackRawPaths", false),
    adapt: c.get<boolean>("adapt", true),
    tunedWeights: c.get<boolean>("tunedWeights", true),
    // Remote inference backend (docs/remote.md); the API key stays in the environment.
    backend: c.get<string>("backend", "local"),
    endpoint: c.get<string>("endpoint") || null,
    remoteModel: c.get<string>("remoteModel") || null,
    apiKeyEnv: c.get<string>("apiKeyEnv") || null,
    fimTemplate: c.get<string>("fimTemplate") || null,
    connectTimeoutMs: c.get<number>("connectTimeoutMs", 2000),
    totalTimeoutMs: c.get<number>("totalTimeoutMs", 15000),
    fallbackToLocal: c.get<boolean>("fallbackToLocal", false),
    allowInsecureHttp: c.get<boolean>("allowInsecureHttp", false),
  };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The server binary: `ghostline.serverPath`, else `ghostline` on PATH, else ~/.cargo/bin/ghostline. */
export function findServer(): { path?: string; problem?: string } {
  const configured = config().get<string>("serverPath");
  if (configured) {
    const resolved = configured.replace(/^~(?=\/)/, os.homedir());
    return isExecutable(resolved) ? { path: resolved } : { problem: `ghostline.serverPath "${configured}" is not an executable file.` };
  }
  const exe = process.platform === "win32" ? "ghostline.exe" : "ghostline";
  const dirs = (process.env.PATH ?? "").split(path.delimiter).concat(path.join(os.homedir(), ".cargo", "bin"));
  for (const dir of dirs) {
    if (dir && isExecutable(path.join(dir, exe))) return { path: path.join(dir, exe) };
  }
  return { problem: "The ghostline server was not found on PATH." };
}

function sink(): FeedbackSink {
  return {
    show: (item) => void client?.sendNotification("textDocument/didShowCompletion", { item: item.lsp }),
    accept: (item) => {
      const command = item.lsp.command;
      if (command) void client?.sendRequest("workspace/executeCommand", { command: command.command, arguments: command.arguments });
    },
    partialAccept: (item, acceptedLength) =>
      void client?.sendNotification("textDocument/didPartiallyAcceptCompletion", { item: item.lsp, acceptedLength }),
    reject: (item) => void client?.sendNotification("ghostline/reject", { id: item.id }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    outputChannel: output,
    initializationOptions: serverSettings(),
    middleware: {
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (!suggestionsEnabled(document.languageId)) return null;
        const debounceMs = config().get<number>("debounceMs", 75);
        if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic && debounceMs > 0) {
          await sleep(debounceMs);
          if (token.isCancellationRequested) return null;
        }
        const started = Date.now();
        const result = await next(document, position, context, token);
        if (token.isCancellationRequested || !result) return result;
        status.setLatency(Date.now() - started);
        const items = Array.isArray(result) ? result : result.items;
        const offered: { wire: WireItem; typed: string }[] = [];
        for (const item of items) {
          const original = item.command;
          const id = original?.arguments?.[0];
          const insertText = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
          const range = item.range instanceof vscode.Range ? item.range : undefined;
          const wire: WireItem = {
            id,
            lsp: {
              insertText,
              range: range && client ? client.code2ProtocolConverter.asRange(range) : undefined,
              command: original ? { title: original.title, command: original.command, arguments: original.arguments } : undefined,
            },
          };
          // VS Code runs the item's command after an accept: route it through us so the tracker knows.
          if (original) item.command = { title: original.title, command: "ghostline._accepted", arguments: [id] };
          const typed = range && range.start.isBeforeOrEqual(position) ? document.getText(new vscode.Range(range.start, position)) : "";
          offered.push({ wire, typed });
        }
        tracker.offered(document, position, offered);
        return result;
      },
    },
  };
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const found = findServer();
  if (!found.path) {
    status.setState("missing", found.problem);
    const choice = await vscode.window.showErrorMessage(
      `${found.problem} Install it (from the ghostline repository: cargo install --path server) or set ghostline.serverPath.`,
      "Open Settings",
    );
    if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "ghostline.serverPath");
    return;
  }
  const logFile = config().get<string>("logFile");
  const args = ["lsp", ...(logFile ? ["--log-file", logFile] : [])];
  const serverOptions: ServerOptions = { command: found.path, args, transport: TransportKind.stdio };
  client = new LanguageClient("ghostline", "ghostline", serverOptions, clientOptions());
  status.setState("starting", `${found.path} ${args.join(" ")}`);
  context.subscriptions.push(
    client.onNotification("ghostline/status", (params: StatusParams) => {
      const model = params.model && !params.message?.includes(params.model)
        ? `Model: ${params.model}${params.device ? ` on ${params.device}` : ""}` : undefined;
      const feedback = params.feedback && params.feedback.state !== "on" ? `Feedback: ${params.feedback.message}` : undefined;
      status.setState(params.state, [params.message, model, feedback].filter(Boolean).join("\n") || undefined);
      if (params.state === "error") {
        void vscode.window.showErrorMessage(`ghostline: ${params.message ?? "the server reported an error"}`, "Show Logs")
          .then((choice) => choice && output.show());
      }
    }),
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped) status.setState("stopped");
    }),
  );
  try {
    await client.start();
    if (status.getState() === "starting") status.setState("loading");
  } catch (error) {
    status.setState("error", String(error));
    void vscode.window.showErrorMessage(`ghostline: the server failed to start: ${error}`, "Show Logs")
      .then((choice) => choice && output.show());
  }
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) await old.stop().catch(() => undefined);
}

function refreshEnabled(): void {
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  status.setEnabled(config().get<boolean>("enable", true), languageEnabled(languageId));
}

async function toggleLanguage(): Promise<void> {
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  if (!languageId) return;
  const languages = { ...(config().get<Record<string, boolean>>("languages") ?? {}) };
  languages[languageId] = !languageEnabled(languageId);
  await config().update("languages", languages, vscode.ConfigurationTarget.Global);
  vscode.window.setStatusBarMessage(`ghostline: ${languages[languageId] ? "on" : "off"} for ${languageId}`, 3000);
}

async function showStats(): Promise<void> {
  if (!client) return void vscode.window.showWarningMessage("ghostline: the server is not running.");
  try {
    const stats = await client.sendRequest<ServerStats>("ghostline/stats", {});
    output.info(`stats: ${JSON.stringify(stats)}`);
    await statsView.show(stats);
  } catch (error) {
    void vscode.window.showWarningMessage(`ghostline: no stats from the server (${error})`);
  }
}

async function statusMenu(): Promise<void> {
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  const enabled = config().get<boolean>("enable", true);
  const picks: (vscode.QuickPickItem & { command: string })[] = [
    { label: enabled ? "Turn suggestions off" : "Turn suggestions on", command: "ghostline.toggle" },
  ];
  if (languageId) {
    picks.push({ label: `${languageEnabled(languageId) ? "Turn off" : "Turn on"} for ${languageId}`, command: "ghostline.toggleLanguage" });
  }
  picks.push(
    { label: "Show logs", command: "ghostline.showLogs" },
    { label: "Show stats", command: "ghostline.showStats" },
    { label: "Restart server", command: "ghostline.restart" },
  );
  const pick = await vscode.window.showQuickPick(picks, { title: "ghostline" });
  if (pick) await vscode.commands.executeCommand(pick.command);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("ghostline", { log: true });
  status = new StatusBar();
  tracker = new FeedbackTracker(sink());
  statsView = new StatsView();
  const command = (id: string, fn: (...args: any[]) => unknown) => vscode.commands.registerCommand(id, fn);
  context.subscriptions.push(
    output,
    status,
    tracker,
    statsView,
    vscode.workspace.registerTextDocumentContentProvider(STATS_SCHEME, statsView),
    command("ghostline._accepted", (id: unknown) => tracker.accepted(id)),
    command("ghostline.dismiss", async () => {
      tracker.dismissed();
      await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    }),
    command("ghostline.acceptNextWord", () => tracker.partialAccept("editor.action.inlineSuggest.acceptNextWord")),
    command("ghostline.acceptNextLine", () => tracker.partialAccept("editor.action.inlineSuggest.acceptNextLine")),
    command("ghostline.showNext", async () => {
      await vscode.commands.executeCommand("editor.action.inlineSuggest.showNext");
      tracker.cycled(1);
    }),
    command("ghostline.showPrevious", async () => {
      await vscode.commands.executeCommand("editor.action.inlineSuggest.showPrevious");
      tracker.cycled(-1);
    }),
    command("ghostline.trigger", () => vscode.commands.executeCommand("editor.action.inlineSuggest.trigger")),
    command("ghostline.toggle", () => config().update("enable", !config().get<boolean>("enable", true), vscode.ConfigurationTarget.Global)),
    command("ghostline.toggleLanguage", toggleLanguage),
    command("ghostline.showLogs", () => output.show()),
    command("ghostline.showStats", showStats),
    command("ghostline.statusMenu", statusMenu),
    command("ghostline.restart", async () => {
      await stopClient();
      await startClient(context);
    }),
    vscode.window.onDidChangeActiveTextEditor(refreshEnabled),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("ghostline")) return;
      refreshEnabled();
      if (event.affectsConfiguration("ghostline.serverPath") || event.affectsConfiguration("ghostline.logFile")) {
        await stopClient();
        await startClient(context);
      } else if (client?.isRunning()) {
        // Only the keys the server knows (not serverPath, logFile, languages): no restart needed.
        void client.sendNotification("workspace/didChangeConfiguration", { settings: { ghostline: serverSettings() } });
      }
    }),
  );
  refreshEnabled();
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
