"""Print the table of bad inputs (tests/cli/bad_inputs.py) with the outcome of each on a checkout.

    PYTHONPATH=<checkout> python scripts/bad_input_table.py --label after  > after.tsv
    PYTHONPATH=<old checkout> python scripts/bad_input_table.py --label before > before.tsv
    python scripts/bad_input_table.py --merge before.tsv after.tsv   # Markdown: input | before | after
    PYTHONPATH=<old checkout> python scripts/bad_input_table.py --label before --skip-known before.tsv >> before.tsv

``--skip-known`` runs only the rows not yet in a TSV (rows added to the table later); ``--merge`` matches rows
by surface and input, and marks a row missing from BEFORE as "not run".

Each row runs in this one process (CLI rows through ``cli.main``); a row still running after --timeout
seconds is stopped with SIGALRM and reported as such. Ctrl-C rows get a KeyboardInterrupt 2 s in.
Outcome words: "clear" (CLI: exit 2 and at most 3 lines, the last naming the flag, or exit 130 saying whether a
re-run resumes; API: the package's error naming the argument), "traceback", "accepted" (exit 0: silently wrong),
"unclear" (an error in API terms, or not naming the argument), "left files" (the row's new files are removed
before the next row), "model called" (API: the model ran before the error).
"""
import argparse
import contextlib
import io
import os
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests.cli.bad_inputs from this checkout (last: PYTHONPATH picks tfx_explain)


# How a message in CLI terms starts: a flag, the environment variable, or argparse's own wording.
CLI_TERMS = ("--", "KERAS_BACKEND", "argument ", "the following arguments", "unrecognized arguments")


class Timeout(BaseException):
    pass


def _alarm(seconds, exc):
    def handler(*_):
        raise exc()
    signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)


def _tree(*roots):
    return sorted(str(p) for r in roots if Path(r).exists() for p in Path(r).rglob("*"))


def cli_outcome(row, files, timeout):
    from tfx_explain import cli

    kind, line, expected = row[:3]
    argv = shlex.split(line.format(**files))
    env = {}
    while argv and "=" in argv[0] and not argv[0].startswith("-"):  # VAR=value prefixes set the environment
        name, _, value = argv.pop(0).partition("=")
        env[name] = value
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    before = _tree(files["D"], files["CWD"])
    err, out = io.StringIO(), io.StringIO()
    _alarm(2 if kind == "interrupt" else timeout, KeyboardInterrupt if kind == "interrupt" else Timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                status = cli.main(argv)
            except SystemExit as exit_:
                status = exit_.code
            except KeyboardInterrupt:
                status = "KeyboardInterrupt"
            except Timeout:
                status = "timeout"
            except BaseException:  # noqa: BLE001 - the old code let exceptions through
                import traceback

                traceback.print_exc()
                status = 1
    finally:
        signal.alarm(0)
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    text = err.getvalue()
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    after = _tree(files["D"], files["CWD"])
    left = after != before
    for path in sorted(set(after) - set(before), reverse=True):  # each row starts from the same files
        shutil.rmtree(path, ignore_errors=True) if Path(path).is_dir() else Path(path).unlink(missing_ok=True)
    said = lines[-1].partition("error: ")[2] if lines else ""
    if status == "timeout":
        word = f"still running after {timeout} s (stopped)"
    elif "Traceback" in text or status == "KeyboardInterrupt":
        word = "traceback"
    elif status in (0, None):
        word = "accepted (exit 0)"
    elif status == expected and len(lines) <= 3 and (said.startswith(CLI_TERMS) or (
            status == 130 and ("resum" in lines[-1] or "starts over" in lines[-1]))):
        word = "clear"
    elif status == expected and len(lines) <= 3:
        word = "unclear (not in CLI terms)"
    else:
        word = f"exit {status}, {len(lines)} lines"
    if left:
        word += ", left files"
    return word, (lines[-1][:120] if lines else "")


def api_outcome(row, tmp):
    from tests.cli import test_bad_inputs as t

    if t._Counter is None:
        t._Counter = t._counter_class()
    _, name, kwargs, argument = row
    model = t._tiny_model(counted=True)
    path = Path(tempfile.mkdtemp(dir=tmp))
    try:
        t._api_call(name, kwargs, model, path)
        word, message = "accepted (no error)", ""
    except Exception as err:  # noqa: BLE001
        from tfx_explain.errors import TfxExplainError

        message = " ".join(str(err).split())
        head = message.split(":")[0]
        if not isinstance(err, TfxExplainError):
            word = f"{type(err).__name__}"
        elif argument == head or f" {argument}" in head or head.startswith(argument):
            word = "clear"
        else:
            word = "unclear"
    if float(model.get_layer("counter").n.numpy()) > 0 and word != "accepted (no error)":
        word += ", model called"
    return word, message[:120]


def run(label, timeout, skip_known=None):
    from tests.cli.bad_inputs import API, CLI

    known = set()
    if skip_known:
        known = {tuple(ln.split("\t")[:3:2]) for ln in Path(skip_known).read_text().splitlines()[1:]}

    tmp = tempfile.mkdtemp(prefix="bad_inputs_")
    files = _files(Path(tmp))
    cwd = Path(tmp) / "cwd"
    cwd.mkdir()
    os.chdir(cwd)
    files["CWD"] = str(cwd)
    if not skip_known:
        print(f"surface\tkind\tinput\t{label}\tmessage")
    for row in CLI:
        if ("CLI", _display(row[1])) not in known:
            word, msg = cli_outcome(row, files, timeout)
            print(f"CLI\t{row[0]}\t{_display(row[1])}\t{word}\t{msg}", flush=True)
    for row in API:
        call = f"{row[1]}({', '.join(f'{k}={v!r}' for k, v in row[2].items())})"
        if ("API", call) not in known:
            word, msg = api_outcome(row, tmp)
            print(f"API\t{row[0]}\t{call}\t{word}\t{msg}", flush=True)


def _display(line):
    """``VAR=value cmd ...`` -> ``VAR=value tfx-explain cmd ...``."""
    words = line.split()
    n = 0
    while n < len(words) and "=" in words[n] and not words[n].startswith("-"):
        n += 1
    return " ".join([*words[:n], "tfx-explain", *words[n:]])


def _files(base):
    from tests.cli import test_bad_inputs as t

    fixture = t.files.__wrapped__ if hasattr(t.files, "__wrapped__") else t.files.__pytest_wrapped__.obj

    class Factory:
        def mktemp(self, name):
            path = base / name
            path.mkdir()
            return path

    return fixture(Factory())


def merge(before, after):
    rows_b = {(b[0], b[2]): b for b in (ln.split("\t") for ln in Path(before).read_text().splitlines()[1:])}
    rows_a = [ln.split("\t") for ln in Path(after).read_text().splitlines()][1:]
    print("| # | surface | kind | input | before (bc3bba8) | after |")
    print("|---|---|---|---|---|---|")
    for i, a in enumerate(rows_a, 1):
        b = rows_b.get((a[0], a[2]), [""] * 3 + ["not run on bc3bba8"])
        print(f"| {i} | {a[0]} | {a[1]} | `{a[2]}` | {b[3]} | {a[3]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="outcome")
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--merge", nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--skip-known", metavar="TSV", help="run only the rows missing from this TSV (no header)")
    args = parser.parse_args()
    if args.merge:
        merge(*args.merge)
    else:
        run(args.label, args.timeout, args.skip_known)
