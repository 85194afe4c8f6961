"""Trial: a real Ctrl-C (SIGINT) during `tfx-explain explain` and `train-ganmex`, then the same command again.
(A shell script's `cmd &` ignores SIGINT, so this is driven from Python.)"""
import os, signal, subprocess, sys, time, pathlib
T = os.environ.get("T", "/tmp/w47"); M = f"{T}/clf/model.keras"
env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=".")
root = pathlib.Path(__file__).resolve().parents[1]
def tail(s, n=3): return "\n".join(l for l in s.splitlines() if not l.startswith(("I0000", "E0000", "W0000", "WARNING: All")))[-600:]
for name, args, wait in [("explain", ["explain", "--model", M, "--dataset", "digits", "--method", "integrated_gradients",
                                       "--set", "steps=64", "--shard-size", "16", "--limit", "200"], 25),
                         ("ganmex", ["train-ganmex", "--model", M, "--dataset", "digits", "--preset", "cpu", "--steps", "400"], 30)]:
    out = pathlib.Path(T) / f"sig_{name}"; subprocess.run(["rm", "-rf", str(out)])
    cmd = ["nice", "-n", "19", sys.executable, "-m", "tfx_explain.cli"] + args + ["--out", str(out)]
    p = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(wait); p.send_signal(signal.SIGINT); o, _ = p.communicate(timeout=120)
    print(f"== {name}: rc={p.returncode}\n{tail(o)}")
    tmp = [str(f) for f in out.rglob("*") if "tmp" in f.name.lower()]
    print("files:", len(list(out.rglob('*'))), "temp files left:", tmp)
    p = subprocess.run(cmd[:-2] + ["--out", str(out)] + (["--steps", "10"] if name == "ganmex" else []), cwd=root, env=env,
                       capture_output=True, text=True, timeout=300)
    print(f"== {name} again: rc={p.returncode}\n{tail(p.stdout + p.stderr)}")
