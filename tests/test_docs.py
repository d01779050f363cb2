"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

How the blocks are run
  * One fresh Python process per Markdown file, started in the repository
    root with MPLBACKEND=Agg (matplotlib draws without a display).
  * The file's blocks run in order, in ONE namespace: a later block may use
    what an earlier block defined, as a reader going down the page would.
  * A block whose first line starts with `>>>` is a doctest: its statements
    run in the same namespace and its printed output must match what the
    block shows (doctest's rules, with NORMALIZE_WHITESPACE and ELLIPSIS).
  * Only blocks fenced as ```python are run; ```sh, ```text and plain ```
    blocks are left alone.

Leaving a block out
  Put the marker on the line right before the opening fence, with a reason:

      <!-- no-test: needs a GPU -->
      ```python
      ...

  The reason is required, and the marker must be followed by a python block.
  Use it sparingly: a block that cannot run is a block that can rot.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^\s*<!--\s*no-test:(.*?)-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
TIMEOUT = 600            # seconds for one file's blocks

# Files whose blocks are known not to run yet, each with the reason. The test
# is then an expected failure, and a STRICT one: once the file is fixed the
# test reports XPASS as a failure, so the entry gets removed.
KNOWN_BROKEN = {}


def markdown_files():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def extract_blocks(text):
    """-> list of dicts (line, code, skip_reason) for the ```python blocks of `text`.

    `line` is the 1-based line of the first code line. Raises ValueError for a
    no-test marker without a reason or not followed by a python block, and
    for an unclosed fence.
    """
    blocks, lines, i, pending = [], text.splitlines(), 0, None
    while i < len(lines):
        marker = MARKER.match(lines[i])
        if marker:
            reason = marker.group(1).strip()
            if not reason:
                raise ValueError(f"line {i + 1}: a no-test marker needs a reason: <!-- no-test: why -->")
            pending = (i + 1, reason)
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if not fence:
            if pending and lines[i].strip():
                raise ValueError(f"line {pending[0]}: a no-test marker must come right before a ```python block")
            i += 1
            continue
        indent, ticks, language = fence.groups()
        start, i = i + 1, i + 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            i += 1
        if i == len(lines):
            raise ValueError(f"line {start}: code fence {ticks} is never closed")
        if language == "python":
            code = "\n".join(line[len(indent):] if line.startswith(indent) else line
                             for line in lines[start:i])
            blocks.append({"line": start + 1, "code": code, "skip": pending[1] if pending else None})
        elif pending:
            raise ValueError(f"line {pending[0]}: a no-test marker must come right before a ```python block, "
                             f"not a ```{language} one")
        pending = None
        i += 1
    if pending:
        raise ValueError(f"line {pending[0]}: a no-test marker at the end of the file")
    return blocks


# Runs inside the child process: reads {"path", "blocks"} as JSON on stdin.
RUNNER = r'''
import doctest, json, sys, traceback
job = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for block in job["blocks"]:
    where = f"{job['path']}, block at line {block['line']}"
    if block["skip"]:
        print(f"skipped {where}: {block['skip']}")
        continue
    try:
        if block["code"].lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(block["code"], namespace, where, job["path"], block["line"] - 1)
            runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
            runner.run(test, clear_globs=False)
            if runner.failures:
                print(f"FAILED {where}: the doctest output above does not match", file=sys.stderr)
                sys.exit(1)
        else:
            exec(compile(block["code"], where, "exec"), namespace)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        print(f"FAILED {where}", file=sys.stderr)
        sys.exit(1)
    print(f"ran {where}")
'''


def run_blocks(path, blocks):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    job = json.dumps({"path": str(path.relative_to(ROOT)), "blocks": blocks})
    return subprocess.run([sys.executable, "-c", RUNNER], input=job, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=TIMEOUT)


def file_params():
    params = []
    for path in markdown_files():
        if "```python" not in path.read_text(encoding="utf-8"):
            continue                      # prose only (e.g. architecture.md): nothing to run
        name = str(path.relative_to(ROOT))
        marks = []
        if name in KNOWN_BROKEN:
            marks.append(pytest.mark.xfail(reason=KNOWN_BROKEN[name], strict=True))
        params.append(pytest.param(path, id=name, marks=marks))
    return params


@pytest.mark.parametrize("path", file_params())
def test_markdown_python_blocks_run(path):
    blocks = extract_blocks(path.read_text(encoding="utf-8"))
    result = run_blocks(path, blocks)
    assert result.returncode == 0, (
        f"a python block in {path.relative_to(ROOT)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")


def test_the_docs_we_promise_exist():
    for name in ("docs/batchnorm.md", "docs/tutorial.md", "docs/results.md"):
        assert (ROOT / name).is_file(), name
        assert extract_blocks((ROOT / name).read_text(encoding="utf-8")) is not None


# ------------------------------------------------------------ the extractor itself

def test_extract_blocks_languages_order_and_lines():
    text = "\n".join([
        "# Title",                       # 1
        "```python",                     # 2
        "a = 1",                         # 3
        "```",                           # 4
        "```sh",                         # 5
        "echo no",                       # 6
        "```",                           # 7
        "```",                           # 8
        "plain",                         # 9
        "```",                           # 10
        "- item",                        # 11
        "  ```python",                   # 12
        "  b = a + 1",                   # 13
        "  ```",                         # 14
    ])
    blocks = extract_blocks(text)
    assert [(b["line"], b["code"], b["skip"]) for b in blocks] == [(3, "a = 1", None), (13, "b = a + 1", None)]


def test_no_test_marker_skips_one_block_and_needs_a_reason():
    text = "<!-- no-test: downloads data -->\n```python\nimport nothing_here\n```\n```python\nx = 2\n```\n"
    blocks = extract_blocks(text)
    assert [b["skip"] for b in blocks] == ["downloads data", None]
    with pytest.raises(ValueError, match="needs a reason"):
        extract_blocks("<!-- no-test: -->\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match="right before"):
        extract_blocks("<!-- no-test: why -->\nsome prose\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match="never closed"):
        extract_blocks("```python\nx = 1\n")


def test_runner_shares_a_namespace_checks_doctests_and_reports_failures(tmp_path):
    path = ROOT / "docs" / "example.md"      # only used as a label; nothing is written there
    good = [{"line": 2, "code": "x = 20", "skip": None},
            {"line": 5, "code": ">>> print(x + 1)\n21", "skip": None},
            {"line": 9, "code": "raise SystemExit('skipped block ran')", "skip": "demo"}]
    assert run_blocks(path, good).returncode == 0
    wrong_output = [{"line": 2, "code": ">>> print(1 + 1)\n3", "skip": None}]
    result = run_blocks(path, wrong_output)
    assert result.returncode != 0 and "does not match" in result.stderr
    error = [{"line": 7, "code": "undefined_name", "skip": None}]
    result = run_blocks(path, error)
    assert result.returncode != 0 and "block at line 7" in result.stderr and "NameError" in result.stderr
