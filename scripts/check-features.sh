#!/usr/bin/env bash
# Prints crates whose feature set differs between `-p X` and `--workspace` selections.
cd "$(dirname "$0")/.."
for sel in "--workspace" "-p ghostline-model" "-p ghostline-train" "-p ghostline"; do
  cargo tree $sel -e normal,build,dev --prefix none -f '{p} [{f}]' 2>/dev/null | sort -u > "/tmp/tree$(echo $sel|tr -d ' -').txt"
done
python3 - <<'PY'
import re
def load(f):
    d={}
    for l in open(f):
        m=re.match(r'(\S+ v\S+)(?: \(.*?\))?(?: \(proc-macro\))? \[(.*?)\]',l.strip())
        if m: d.setdefault(m.group(1),set()).update(x for x in m.group(2).split(',') if x)
    return d
ws=load('/tmp/treeworkspace.txt'); bad=0
for sel in ['treepghostlinemodel.txt','treepghostlinetrain.txt','treepghostline.txt']:
    s=load('/tmp/'+sel)
    for k in s:
        if ws.get(k)!=s[k]: bad=1; print(sel, k, 'workspace adds', sorted(ws[k]-s[k]))
print('ok' if not bad else 'DIFFERENT')
PY
