#!/usr/bin/env python3
"""Test double of `ghostline lsp` for developing the editor clients without the model (never used by run.sh).

Answers textDocument/inlineCompletion with a fixed suggestion and appends one line per feedback event to the file
named by --log-file, in the format the real server logs: `feedback event=accept id=ID`.
"""
import json
import sys

if "--version" in sys.argv:
    print("ghostline 0.0.0 (fake)")
    sys.exit(0)
log_path = None
for index, arg in enumerate(sys.argv):
    if arg == "--log-file" and index + 1 < len(sys.argv):
        log_path = sys.argv[index + 1]
counter = 0


def log(line):
    if log_path:
        with open(log_path, "a") as out:
            out.write(line + "\n")


def read():
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            sys.exit(0)
        line = line.decode().strip()
        if not line:
            break
        key, value = line.split(":", 1)
        headers[key.lower()] = value.strip()
    return json.loads(sys.stdin.buffer.read(int(headers["content-length"])))


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


while True:
    message = read()
    method, message_id, params = message.get("method"), message.get("id"), message.get("params") or {}
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": message_id, "result": {"capabilities": {
            "textDocumentSync": 1, "inlineCompletionProvider": True,
            "executeCommandProvider": {"commands": ["ghostline.accept", "ghostline.reject"]}}}})
    elif method == "initialized":
        send({"jsonrpc": "2.0", "method": "ghostline/status", "params": {"state": "ready", "message": "fake"}})
    elif method == "textDocument/inlineCompletion":
        counter += 1
        position = params["position"]
        send({"jsonrpc": "2.0", "id": message_id, "result": {"items": [{
            "insertText": "a + b\n}", "range": {"start": position, "end": position},
            "command": {"title": "accept", "command": "ghostline.accept", "arguments": ["s%d" % counter]}}]}})
    elif method == "workspace/executeCommand":
        log("feedback event=%s id=%s" % (params["command"].split(".")[-1], params["arguments"][0]))
        send({"jsonrpc": "2.0", "id": message_id, "result": None})
    elif method == "ghostline/reject":
        log("feedback event=reject id=%s" % params["id"])
    elif method == "textDocument/didShowCompletion":
        log("feedback event=show id=%s" % params["item"]["command"]["arguments"][0])
    elif method == "textDocument/didPartiallyAcceptCompletion":
        log("feedback event=partial_accept id=%s accepted_length=%d"
            % (params["item"]["command"]["arguments"][0], params["acceptedLength"]))
    elif method == "shutdown":
        send({"jsonrpc": "2.0", "id": message_id, "result": None})
    elif method == "exit":
        sys.exit(0)
    elif message_id is not None and method is not None:
        send({"jsonrpc": "2.0", "id": message_id, "result": None})
