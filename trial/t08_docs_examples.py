"""Trial: run the code examples of README.md, docs/getting-started.md and docs/guide/one-vs-one.md verbatim
(sizes reduced only where marked), in a scratch directory holding tfx_explain_demo/classifier.keras
(a 1-epoch digits classifier from `tfx-explain train-classifier --dataset digits --epochs 1 --out $T/clf`)."""
import os, re, shutil, sys, tempfile, traceback, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = os.environ.get("T", "/tmp/w47")
def blocks(path):
    return re.findall(r"```python\n(.*?)```", open(os.path.join(ROOT, path)).read(), re.S)
work = tempfile.mkdtemp(prefix="w47docs"); os.chdir(work)
os.makedirs("tfx_explain_demo"); shutil.copy(f"{T}/clf/model.keras", "tfx_explain_demo/classifier.keras")
def run(name, code, reduce=()):
    for a, b in reduce:
        assert a in code, (name, a); code = code.replace(a, b)
    print(f"===== {name}")
    ns = {}
    lines = code.splitlines()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for i, line in enumerate(lines):  # statement by statement, echoing bare expressions (as a notebook would)
            pass
        try:
            import ast
            tree = ast.parse(code)
            for node in tree.body:
                src = ast.get_source_segment(code, node)
                if isinstance(node, ast.Expr):
                    print(f"  >>> {src.strip()[:90]}\n      {eval(compile(ast.Expression(node.value), name, 'eval'), ns)!r}"[:600])
                else:
                    exec(compile(ast.Module([node], []), name, "exec"), ns)
            print("  OK")
        except Exception as ex:
            print("  FAILED:", type(ex).__name__, str(ex)[:400])
    for ww in w: print("  WARN:", str(ww.message)[:200])
    return ns
run("README: explain your own", blocks("README.md")[0])
run("getting-started: explain your own", blocks("docs/getting-started.md")[0])
run("getting-started: with GANMEX (epochs 30->1, steps 1500->3)", blocks("docs/getting-started.md")[1],
    reduce=[("epochs=30", "epochs=1"), ("steps=1500", "steps=3")])
run("one-vs-one", blocks("docs/guide/one-vs-one.md")[0])
print("files:", sorted(os.listdir(work)))
