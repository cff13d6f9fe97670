//! "ghostline: Show Stats": the server's `ghostline/stats` answer — the feedback store's numbers (the same object
//! `ghostline stats --json` prints) and this session's counters — as a read-only text document.
import * as vscode from "vscode";

/** The stored numbers (`ghostline stats --json`). */
export interface FeedbackReport {
  shown: number;
  accepted: number;
  partially_accepted: number;
  rejected: number;
  ignored: number;
  pending: number;
  acceptance_rate: number | null;
  chars_accepted: number;
  latency_ms: { p50: number | null; p95: number | null; samples: number };
  by_language: { name: string; shown: number; acceptance_rate: number | null }[];
  by_model: { name: string; shown: number; acceptance_rate: number | null }[];
  timeline: { bucket: string; points: { label: string; acceptance_rate: number | null; latency_p50_ms: number | null }[] };
  dropped_events: number;
}

/** `ghostline/stats` (the parts shown here). */
export interface ServerStats {
  requests?: number;
  cacheHits?: number;
  shown?: number;
  accepted?: number;
  partiallyAccepted?: number;
  rejected?: number;
  lastLatencyMs?: number | null;
  feedback?: {
    status: { state: "on" | "starting" | "off"; message: string; path?: string; droppedEvents: number };
    report: FeedbackReport | null;
    reportError?: string;
  };
}

export const STATS_SCHEME = "ghostline-stats";

const percent = (rate: number | null | undefined) => (rate == null ? "-" : `${(rate * 100).toFixed(1)} %`);
const ms = (value: number | null | undefined) => (value == null ? "-" : `${Math.round(value)} ms`);
const BARS = "▁▂▃▄▅▆▇█";
function sparkline(values: (number | null)[], max: number): string {
  return values.map((v) => (v == null ? " " : BARS[Math.round(Math.min(1, Math.max(0, max > 0 ? v / max : 0)) * 7)])).join("");
}

/** The text of the stats view. */
export function formatStats(stats: ServerStats): string {
  const lines = ["ghostline stats", ""];
  const feedback = stats.feedback;
  if (!feedback) {
    lines.push("Feedback recording: unknown (the server sent no feedback status)");
  } else {
    lines.push(`Feedback recording: ${feedback.status.state} — ${feedback.status.message}`);
    const report = feedback.report;
    if (!report) {
      lines.push(`No stored numbers: ${feedback.reportError ?? "no database"}`);
    } else {
      lines.push(
        "",
        "Stored suggestions (all time, this machine only):",
        `  shown: ${report.shown}`,
        `  accepted: ${report.accepted}`,
        `  partially accepted: ${report.partially_accepted}`,
        `  rejected: ${report.rejected}`,
        `  ignored: ${report.ignored}`,
        `  undecided: ${report.pending}`,
        `  acceptance rate: ${percent(report.acceptance_rate)}`,
        `  characters accepted: ${report.chars_accepted}`,
        `  latency p50 / p95: ${ms(report.latency_ms.p50)} / ${ms(report.latency_ms.p95)}`,
      );
      if (report.by_language.length) {
        lines.push("", "By language:");
        for (const g of report.by_language) lines.push(`  ${g.name}: ${g.shown} shown, ${percent(g.acceptance_rate)} accepted`);
      }
      if (report.by_model.length) {
        lines.push("", "By model:");
        for (const g of report.by_model) lines.push(`  ${g.name}: ${g.shown} shown, ${percent(g.acceptance_rate)} accepted`);
      }
      const points = report.timeline.points.slice(-60);
      if (points.length) {
        const latencies = points.map((p) => p.latency_p50_ms);
        const top = Math.max(0, ...latencies.filter((v): v is number => v != null));
        lines.push(
          "",
          `Per ${report.timeline.bucket}, ${points[0].label} to ${points[points.length - 1].label}:`,
          `  acceptance  ${sparkline(points.map((p) => p.acceptance_rate), 1)}  (0–100 %)`,
          `  latency p50 ${sparkline(latencies, top)}  (0–${Math.round(top)} ms)`,
        );
      }
    }
  }
  lines.push(
    "",
    "This session:",
    `  requests: ${stats.requests ?? 0}, cache hits: ${stats.cacheHits ?? 0}, last latency: ${ms(stats.lastLatencyMs)}`,
    `  shown: ${stats.shown ?? 0}, accepted: ${stats.accepted ?? 0}, partially accepted: ${stats.partiallyAccepted ?? 0}, rejected: ${stats.rejected ?? 0}`,
    "",
    "The same numbers: `ghostline stats` in a terminal (add --svg FILE for a chart).",
  );
  return lines.join("\n") + "\n";
}

/** The read-only document the stats are shown in; `update` refreshes an open view. */
export class StatsView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  /** Text per document: each "Show Stats" opens a new document (VS Code may keep a closed one's old text). */
  private readonly texts = new Map<string, string>();
  private shown = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? "ghostline stats: run \"ghostline: Show Stats\" again\n";
  }

  async show(stats: ServerStats): Promise<void> {
    this.shown += 1;
    const uri = vscode.Uri.from({ scheme: STATS_SCHEME, path: "ghostline stats", query: String(this.shown) });
    // Keep only the latest few texts.
    if (this.texts.size >= 8) this.texts.delete(this.texts.keys().next().value as string);
    this.texts.set(uri.toString(), formatStats(stats));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    this.texts.clear();
  }
}
