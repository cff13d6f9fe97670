#!/usr/bin/env bash
# Prints crates whose feature set differs between `-p X` and `--workspace` selections.
cd "$(dirname "$0")/.."
for sel in "--workspace" "-p ghostline-model" "-p ghostline-train" "-p ghostline"; do
  cargo tree $sel -e normal,build,dev --prefix none -f '{p} [{f}]' 2>/dev/null | sort -u > "/tmp/tree$(echo $sel|tr -d ' -').txt"
done
python3 - <<'PY'
import re
# A crate can appear twice with different features: once for the target and once as a host
# build-dependency (resolver 2 keeps them apart, e.g. tree-sitter's build script uses serde_json
# with preserve_order). So compare the set of distinct feature sets per crate, not their union.
def load(f):
    d={}
    for l in open(f):
        m=re.match(r'(\S+ v\S+)(?: \(.*?\))?(?: \(proc-macro\))? \[(.*?)\]',l.strip())
        if m: d.setdefault(m.group(1),set()).add(frozenset(x for x in m.group(2).split(',') if x))
    return d
ws=load('/tmp/treeworkspace.txt'); bad=0
for sel in ['treepghostlinemodel.txt','treepghostlinetrain.txt','treepghostline.txt']:
    s=load('/tmp/'+sel)
    for k in s:
        for feats in s[k]:
            if feats not in ws.get(k,set()): bad=1; print(sel, k, sorted(feats), 'not built by --workspace, which has', [sorted(f) for f in ws.get(k,set())])
print('ok' if not bad else 'DIFFERENT')
PY
