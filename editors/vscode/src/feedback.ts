//! Tracks the suggestion VS Code shows and reports its fate to the server: shown, accepted, partially accepted
//! (accept word / line, with the accepted length), rejected (Escape, or typing something that does not match).
//!
//! VS Code's stable API has no show / partial-accept / dismiss hooks, so: the accept rides on the item's command,
//! partial accepts and Escape go through ghostline's own keybindings that wrap VS Code's commands, and typing is
//! compared with the ghost text in onDidChangeTextDocument.
import * as vscode from "vscode";

/** What the server needs to identify a suggestion: the LSP item as it was sent, and its id. */
export interface WireItem {
  id: unknown;
  lsp: { insertText: string; range?: unknown; command?: { title: string; command: string; arguments?: unknown[] } };
}

/** The transport to the server (the language client), kept abstract so this file stays testable. */
export interface FeedbackSink {
  show(item: WireItem): void;
  accept(item: WireItem): void;
  partialAccept(item: WireItem, acceptedLength: number): void;
  reject(item: WireItem): void;
}

interface Shown {
  uri: string;
  /** Where the ghost text starts now (moves as the user types through it or accepts parts). */
  offset: number;
  items: { wire: WireItem; remaining: string; accepted: string }[];
  index: number;
  partiallyAccepted: boolean;
}

/** Number of UTF-16 code units: JavaScript string length is exactly that. */
export function utf16Length(text: string): number {
  return text.length;
}

export class FeedbackTracker implements vscode.Disposable {
  private shown: Shown | undefined;
  /** The last suggestion whose text was fully typed or inserted, waiting for its accept command. */
  private completed: WireItem | undefined;
  private partialInProgress = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly sink: FeedbackSink) {
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /**
   * Called with the items the provider returns for `document` at `position`: the first one is what VS Code shows.
   * `typed` is the text between each item's range start and the cursor, already in the document.
   */
  offered(document: vscode.TextDocument, position: vscode.Position, items: { wire: WireItem; typed: string }[]): void {
    const usable = items.filter((i) => i.wire.lsp.insertText.startsWith(i.typed) && i.wire.lsp.insertText.length > i.typed.length);
    if (usable.length === 0) return;
    const sameSuggestion = this.shown && usable.some((i) => i.wire.id === this.current()?.wire.id);
    if (sameSuggestion) return;
    this.shown = {
      uri: document.uri.toString(),
      offset: document.offsetAt(position),
      items: usable.map((i) => ({ wire: i.wire, remaining: i.wire.lsp.insertText.slice(i.typed.length), accepted: i.typed })),
      index: 0,
      partiallyAccepted: false,
    };
    this.sink.show(usable[0].wire);
  }

  private current() {
    return this.shown ? this.shown.items[this.shown.index] : undefined;
  }

  /** The id of the suggestion shown now (for tests and the status bar). */
  currentId(): unknown {
    return this.current()?.wire.id;
  }

  /** The item's command ran: VS Code accepted the whole suggestion. */
  accepted(id: unknown): void {
    const item = this.shown?.items.find((i) => i.wire.id === id)?.wire ?? (this.completed?.id === id ? this.completed : undefined);
    this.sink.accept(item ?? { id, lsp: { insertText: "" } });
    this.shown = undefined;
    this.completed = undefined;
  }

  /** Escape (or ghostline.dismiss): report the shown suggestion as rejected. */
  dismissed(): void {
    const item = this.current();
    if (item && this.shown && !this.shown.partiallyAccepted) this.sink.reject(item.wire);
    this.shown = undefined;
  }

  /** Runs a VS Code partial-accept command; the document change it causes is reported as a partial accept. */
  async partialAccept(command: string): Promise<void> {
    this.partialInProgress = true;
    try {
      await vscode.commands.executeCommand(command);
    } finally {
      this.partialInProgress = false;
    }
  }

  /** next/previous alternative: VS Code cycles its list; follow it and report the newly shown item. */
  cycled(step: 1 | -1): void {
    if (!this.shown || this.shown.items.length < 2) return;
    const n = this.shown.items.length;
    this.shown.index = (this.shown.index + step + n) % n;
    this.sink.show(this.shown.items[this.shown.index].wire);
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    const shown = this.shown;
    if (!shown || event.document.uri.toString() !== shown.uri || event.contentChanges.length === 0) return;
    const item = this.current();
    if (!item) return;
    const change = event.contentChanges[0];
    const insertsAtGhost = event.contentChanges.length === 1 && change.rangeLength === 0 && change.rangeOffset === shown.offset;
    // VS Code may insert the accepted text replacing an auto-closed bracket right of the cursor: allow a replaced
    // range that starts at the ghost text.
    const replacesFromGhost = event.contentChanges.length === 1 && change.rangeOffset === shown.offset;
    if ((insertsAtGhost || replacesFromGhost) && item.remaining.startsWith(change.text) && change.text.length > 0) {
      item.accepted += change.text;
      item.remaining = item.remaining.slice(change.text.length);
      shown.offset += change.text.length;
      shown.items = [item];
      shown.index = 0;
      if (this.partialInProgress) {
        shown.partiallyAccepted = true;
        if (item.remaining.length > 0) this.sink.partialAccept(item.wire, utf16Length(item.accepted));
      }
      if (item.remaining.length === 0) {
        this.completed = item.wire;
        this.shown = undefined;
      }
      return;
    }
    if (this.partialInProgress) return;
    // Typed something the suggestion did not predict (or deleted): it is gone.
    if (!shown.partiallyAccepted) this.sink.reject(item.wire);
    this.shown = undefined;
  }
}
