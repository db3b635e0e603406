#!/usr/bin/env bash
# Mutation testing of the numeric core with mutmut 3 (issue 17). Too slow for CI: run it by hand.
#
#   bash scripts/mutation.sh                                  # the five core modules
#   bash scripts/mutation.sh dashapp/analytics/metrics.py     # one module (or several)
#
# mutmut works on a copy of the package in mutants/ (git-ignored) and, per mutant, runs only the
# targeted tests ([tool.mutmut] in pyproject.toml) that call the mutated function. A module
# passed by name must be listed in only_mutate there.
#
# Prints the survivors (file:line, mutant, mutated line), then exactly one line per module:
#   module=PATH mutants=N killed=K survived=S score=X
# killed counts mutants a test failed on (a timeout counts: the tests noticed); survived counts
# the others, less the equivalent mutants listed in scripts/mutation-equivalents.md (which no
# behaviour can tell apart). score = (mutants - survived) / mutants.
# Environment: MUTATION_CHILDREN (parallel workers, default 2), MUTATION_KEEP=1 to reuse the
# previous run's work directory (mutants/<modules>/) and test again only its survivors (quick,
# while adding tests; a clean run is the one to quote).
# To look at one mutant afterwards: cd mutants/<modules> && ../../.venv/bin/mutmut show NAME.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-$root/.venv/bin/python}
MUTMUT=${MUTMUT:-$root/.venv/bin/mutmut}
CHILDREN=${MUTATION_CHILDREN:-2}

if [[ $# -gt 0 ]]; then
    modules=("$@")
else
    modules=(
        dashapp/analytics/metrics.py
        dashapp/analytics/holdings.py
        dashapp/analytics/performance.py
        dashapp/analytics/shadow_portfolios.py
        dashapp/market/freshness.py
    )
fi

patterns=()
names=()
for module in "${modules[@]}"; do
    if [[ ! -f "$module" ]]; then
        echo "mutation.sh: no such module: $module" >&2
        exit 2
    fi
    dotted=${module%.py}
    patterns+=("${dotted//\//.}.*")
    names+=("$(basename "$dotted")")
done

# mutmut works in ./mutants of its working directory: give each set of modules a directory of
# its own (links to the package and tests, a copy of pyproject.toml), so that runs on different
# modules at the same time do not overwrite each other's results.
set_name=$(IFS=-; echo "${names[*]}")
work=mutants/$set_name
mkdir -p mutants
exec 9>"mutants/$set_name.lock"
if ! flock -n 9; then
    echo "mutation.sh: a run on $set_name is already under way" >&2
    exit 1
fi
if [[ "${MUTATION_KEEP:-0}" != 1 ]]; then
    rm -rf "$work"
fi
mkdir -p "$work"
ln -sfn "$root/dashapp" "$work/dashapp"
ln -sfn "$root/tests" "$work/tests"
cp pyproject.toml "$work/pyproject.toml"
export MUTATION_EQUIVALENTS=$root/scripts/mutation-equivalents.md
cd "$work"

# Lists the mutants of the modules that no test killed (or, with "unchecked", the ones never
# tested) according to the results in ./mutants.
not_killed() {
    "$PYTHON" - "$1" "${modules[@]}" <<'PY'
import json
import os
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

which = sys.argv[1]
# Listed equivalent mutants survive every run: testing them again only costs time.
listed = Path(os.environ["MUTATION_EQUIVALENTS"]).read_text()
for module in sys.argv[2:]:
    meta = Path("mutants") / f"{module}.meta"
    if meta.exists():
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            retest = which == "all" and status not in ("killed", "timeout")
            if status == "not checked" or (retest and f"`{name.rsplit('.', 1)[-1]}`" not in listed):
                print(name)
PY
}

run_mutmut() {
    # mutmut exits non-zero when its clean run fails; show why instead of a bare exit code.
    if ! "$MUTMUT" run --max-children "$CHILDREN" "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "mutation.sh: mutmut run failed (see $work/mutation-run.log)" >&2
        exit 1
    fi
}

log=$root/$work/mutation-run.log
: >"$log"
echo "mutation.sh: mutmut on ${modules[*]} in $work (log: $work/mutation-run.log)" >&2
# On a kept directory, test again only the mutants that no test killed last time: a kill stands
# while the function's code is the same. mutmut regenerates the mutants of changed functions
# as it starts, so a second pass tests those.
if [[ "${MUTATION_KEEP:-0}" == 1 ]] && compgen -G "mutants/dashapp/*/*.meta" >/dev/null; then
    for which in all unchecked; do
        mapfile -t again < <(not_killed "$which")
        if [[ ${#again[@]} -gt 0 ]]; then
            run_mutmut "${again[@]}"
        fi
    done
else
    run_mutmut "${patterns[@]}"
fi

"$PYTHON" - "${modules[@]}" <<'PY'
"""Read mutmut's per-file results and report them, counting listed equivalent mutants."""

import ast
import json
import os
import re
import sys
from pathlib import Path

import libcst as cst
from mutmut.mutation.diff_apply import (
    read_functions_from_index,
    read_mutant_function,
    read_mutants_module,
    read_original_function,
)
from mutmut.stats import status_by_exit_code

# - `path:line` `mutant name` `mutated line` why
EQUIVALENT = re.compile(r"^- `([^`]+):(\d+)` `([^`]+)` `([^`]*)`")
DETECTED = {"killed", "timeout"}
DEF = re.compile(r"\s*(async\s+)?def\s")


def equivalents() -> dict[str, str]:
    """Listed equivalent mutants: mutant name -> the mutated line it was checked against."""
    listed = {}
    path = Path(os.environ["MUTATION_EQUIVALENTS"])
    for line in path.read_text().splitlines() if path.exists() else []:
        match = EQUIVALENT.match(line)
        if match:
            listed[match.group(3)] = match.group(4).strip()
    return listed


def function_lines(path: str) -> dict[str, int]:
    """Line of each function's `def`, keyed as mutmut names them (x_f, xǁClassǁmethod)."""
    lines = {}
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines[f"x_{node.name}"] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
    return lines


def function_texts(path: str, name: str) -> tuple[list[str], list[str]]:
    """The original and the mutated function, as mutmut renders them for `mutmut show`."""
    functions = read_functions_from_index(name, path)
    if functions is None:
        module = read_mutants_module(path)
        functions = (read_original_function(module, name), read_mutant_function(module, name))
    return [cst.Module([f]).code.strip().splitlines() for f in functions]


def locate(path: str, name: str, def_lines: dict[str, int]) -> tuple[int, str]:
    """The source line a mutant changes, and that line as mutated. The rendered function is
    the source's text line for line, so the first differing line is an offset from its `def`."""
    orig, mutant = function_texts(path, name)
    changed = next(
        (i for i, (a, b) in enumerate(zip(orig, mutant, strict=False)) if a != b),
        min(len(orig), len(mutant)) - 1,
    )
    def_index = next(i for i, line in enumerate(orig) if DEF.match(line))
    function = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    line = def_lines[function] + changed - def_index
    return line, mutant[changed].strip() if changed < len(mutant) else ""


listed = equivalents()
summary = []
for module in sys.argv[1:]:
    meta = Path("mutants") / f"{module}.meta"
    results = json.loads(meta.read_text())["exit_code_by_key"]
    def_lines = function_lines(module)
    killed = survived = 0
    for name, code in sorted(results.items()):
        status = status_by_exit_code[code]
        if status in DETECTED:
            killed += 1
            continue
        line, mutated = locate(module, name, def_lines)
        short = name.rsplit(".", 1)[-1]
        if listed.get(short) == mutated:
            print(f"  equivalent {module}:{line} {short}: {mutated}")
            continue
        survived += 1
        print(f"  {status} {module}:{line} {short}: {mutated}")
    total = len(results)
    score = (total - survived) / total if total else 0.0
    summary.append(
        f"module={module} mutants={total} killed={killed} survived={survived} score={score:.3f}"
    )
print("\n".join(summary))
PY
