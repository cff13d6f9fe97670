//! The status bar item: server state (starting, model loading, ready, error, not installed), suggestions on/off,
//! and the last suggestion latency; clicking it opens a menu to toggle suggestions globally or per language.
import * as vscode from "vscode";

export type ServerState = "starting" | "loading" | "ready" | "error" | "disabled" | "missing" | "stopped";

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: ServerState = "starting";
  private message: string | undefined;
  private latencyMs: number | undefined;
  private enabled = true;
  private languageEnabled = true;

  constructor() {
    this.item = vscode.window.createStatusBarItem("ghostline.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "ghostline";
    this.item.command = "ghostline.statusMenu";
    this.render();
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }

  setState(state: ServerState, message?: string): void {
    this.state = state;
    this.message = message;
    this.render();
  }

  getState(): ServerState {
    return this.state;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
    this.render();
  }

  setEnabled(enabled: boolean, languageEnabled: boolean): void {
    this.enabled = enabled;
    this.languageEnabled = languageEnabled;
    this.render();
  }

  private render(): void {
    const icons: Record<ServerState, string> = {
      starting: "$(loading~spin)",
      loading: "$(loading~spin)",
      ready: "$(sparkle)",
      error: "$(error)",
      disabled: "$(circle-slash)",
      missing: "$(warning)",
      stopped: "$(debug-disconnect)",
    };
    const off = !this.enabled || !this.languageEnabled;
    const icon = off && this.state === "ready" ? "$(circle-slash)" : icons[this.state];
    let text = `${icon} ghostline`;
    if (this.state === "ready" && !off && this.latencyMs !== undefined) text += ` ${Math.round(this.latencyMs)} ms`;
    this.item.text = text;
    const lines = [`ghostline: ${this.describe()}`];
    if (this.message) lines.push(this.message);
    if (!this.enabled) lines.push("Suggestions are off.");
    else if (!this.languageEnabled) lines.push("Suggestions are off for this language.");
    if (this.latencyMs !== undefined) lines.push(`Last suggestion: ${Math.round(this.latencyMs)} ms`);
    lines.push("Click to toggle suggestions.");
    this.item.tooltip = lines.join("\n");
    this.item.accessibilityInformation = { label: lines.slice(0, -1).join(". ") };
    this.item.backgroundColor =
      this.state === "error" || this.state === "missing"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : undefined;
  }

  private describe(): string {
    switch (this.state) {
      case "starting": return "starting the server";
      case "loading": return "loading the model";
      case "ready": return "ready";
      case "error": return "error";
      case "disabled": return "disabled";
      case "missing": return "server not installed";
      case "stopped": return "server stopped";
    }
  }
}
