#!/usr/bin/env python3
"""Jupyter kernel-machinery baseline for Runyard's README comparison table.

Measures, on the local machine, what the stock Jupyter stack (jupyter_client's
KernelManager/KernelClient driving an ipykernel process) costs for:

  1. start -> usable kernel (start_kernel() + client wait_for_ready()),
     next to a bare `python -c pass` measured in the same run;
  2. a `1+1` round trip (execute_request -> execute_reply + IOPub idle);
  3. a cell printing 200,000 lines, until reply + idle with all output received;
  4. kernel SIGKILLed -> noticed, by polling KernelManager.is_alive() every
     10 ms, and by the default AsyncIOLoopKernelRestarter;
  5. managing process SIGKILLed -> orphaned kernel gone;
  6. idle kernel RSS and CPU use;
  7. `plt.plot(range(10)); plt.show()` with matplotlib already imported: from
     sending execute_request until the display_data with the PNG arrives
     (ipykernel's default inline backend). `--only plot` runs only this one
     and prints one JSON line (prefixed with "JSON ").
  8. `--only kernel`: what Runyard's kernel figures compare with, in one
     JSON line: start -> first kernel_info_reply and -> wait_for_ready(),
     start -> first `1+1` result, the `1+1` round trip (execute_interactive
     and raw zmq+Session), and kernel SIGKILL -> is_alive() False.

Usage (use a real interpreter, not a pyenv shim, for stable start-up numbers):

    /path/to/python3 benches/jupyter_baseline.py [--python /path/to/python3]

The kernel is started from a private, temporary kernelspec whose argv[0] is
--python (default: the interpreter running this script), and the script checks
/proc/<pid>/exe to make sure the kernel really runs that interpreter.  IPython
state (profile, history database) and connection files live in a temporary
directory, so the user's IPython startup files/extensions do not affect the
numbers.  Prints a table and one JSON line (prefixed with "JSON ").

Requires Linux (/proc) and: python3 -m pip install ipykernel jupyter_client
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import ipykernel
    import jupyter_client
    import zmq
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
except ImportError as exc:  # pragma: no cover - environment check
    sys.stderr.write(
        f"jupyter_baseline.py: missing dependency ({exc.name or exc}).\n"
        "Install the Jupyter kernel machinery first:\n\n"
        "    python3 -m pip install ipykernel jupyter_client\n"
    )
    sys.exit(2)

KERNEL_NAME = "runyard-bench-python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")
now = time.perf_counter


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


LOAD_SAMPLES: list[dict] = []


def note_load(label: str) -> None:
    la = loadavg()
    LOAD_SAMPLES.append({"at": label, "1m": la[0], "5m": la[1], "15m": la[2]})


def proc_stat(pid: int) -> dict | None:
    """Parse /proc/<pid>/stat; None if the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = raw[raw.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state)
    return {
        "state": rest[0],
        "ppid": int(rest[1]),
        "utime": int(rest[11]),
        "stime": int(rest[12]),
        "starttime": int(rest[19]),
    }


def proc_status_field(pid: int, field: str) -> str | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        return None
    return None


def vmrss_kib(pid: int) -> int:
    return int(proc_status_field(pid, "VmRSS").split()[0])


def cpu_ns(pid: int) -> int:
    """Sum of on-CPU time (ns) over all threads, from /proc/<pid>/task/*/schedstat."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # thread exited meanwhile
    return total


def gone(pid: int, starttime: int) -> bool:
    st = proc_stat(pid)
    return st is None or st["state"] in ("Z", "X") or st["starttime"] != starttime


def med(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def ms(x):
    return None if x is None else round(x * 1000.0, 3)


def summary_ms(xs):
    return {
        "median_ms": ms(med(xs)),
        "min_ms": ms(min(xs)) if xs else None,
        "max_ms": ms(max(xs)) if xs else None,
        "n": len(xs),
    }


def kernel_pid(km) -> int:
    return km.provisioner.process.pid


# --------------------------------------------------------------------------- #
# kernel start/stop
# --------------------------------------------------------------------------- #


class Env:
    def __init__(self, python: str):
        self.python = python
        self.tmp = tempfile.mkdtemp(prefix="runyard-jupyter-bench-")
        # Isolated IPython/Jupyter state: fresh profile, no user startup files.
        os.environ["IPYTHONDIR"] = os.path.join(self.tmp, "ipython")
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(self.tmp, "runtime")
        os.makedirs(os.environ["JUPYTER_RUNTIME_DIR"], exist_ok=True)
        self.kernel_dirs = os.path.join(self.tmp, "kernels")
        spec_dir = os.path.join(self.kernel_dirs, KERNEL_NAME)
        os.makedirs(spec_dir)
        spec = get_kernel_dict()  # the same spec `ipykernel install` writes
        spec["argv"][0] = python
        spec["display_name"] = "Runyard bench (ipykernel)"
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=1)
        self.spec_argv = spec["argv"]
        self.log_path = os.path.join(self.tmp, "kernel.log")
        self.log = open(self.log_path, "ab")
        self.ksm = KernelSpecManager(kernel_dirs=[self.kernel_dirs])
        self.ctx = zmq.Context()

    def manager(self, cls=KernelManager, **kw):
        return cls(kernel_spec_manager=self.ksm, kernel_name=KERNEL_NAME, **kw)

    def close(self):
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_timed(env: Env):
    """start_kernel() + start_channels() + wait_for_ready(); returns timings.

    wait_for_ready() returns only after the IOPub channel has been quiet for
    0.2 s, so the moment the first kernel_info_reply was handled is recorded
    separately (by wrapping the client's reply handler).
    """
    km = env.manager(context=env.ctx)
    t0 = now()
    km.start_kernel(stdout=env.log, stderr=env.log)
    t_launched = now()
    kc = km.client()
    got = {}
    orig = kc._handle_kernel_info_reply

    def handler(msg, _orig=orig):
        got.setdefault("t", now())
        return _orig(msg)

    kc._handle_kernel_info_reply = handler
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    t_ready = now()
    return km, kc, {
        "start_kernel": t_launched - t0,
        "first_kernel_info_reply": got["t"] - t0,
        "wait_for_ready_return": t_ready - t0,
    }


def stop(km, kc):
    try:
        if kc is not None:
            kc.stop_channels()
    finally:
        try:
            km.shutdown_kernel(now=True)
        except Exception:
            pass


def check_interpreter(env: Env, pid: int) -> dict:
    exe = os.path.realpath(f"/proc/{pid}/exe")
    want = os.path.realpath(env.python)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmd = [a.decode() for a in f.read().split(b"\0") if a]
    if exe != want:
        raise SystemExit(f"kernel runs {exe}, expected {want} (cmdline {cmd})")
    return {"kernel_exe": exe, "kernel_cmdline": cmd}


def timed_cmd(argv) -> float:
    t0 = now()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    return now() - t0


# --------------------------------------------------------------------------- #
# execute paths
# --------------------------------------------------------------------------- #


def execute_interactive(kc, code, timeout=300):
    """Stock BlockingKernelClient.execute_interactive; returns (reply, iopub msgs)."""
    msgs = []
    reply = kc.execute_interactive(code, output_hook=msgs.append, timeout=timeout, allow_stdin=False)
    return reply, msgs


class RawClient:
    """Lean client: raw zmq sockets + jupyter_client.Session, no asyncio/run_sync
    wrappers.  This is the cheapest way to drive the Jupyter protocol from
    Python, i.e. the most favourable number for Jupyter."""

    def __init__(self, km):
        self.session = km.session
        self.shell = km.connect_shell()
        self.iopub = km.connect_iopub()
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        self._wait_iopub_subscribed()

    def _wait_iopub_subscribed(self, timeout=30):
        # SUB sockets miss messages until the subscription has propagated:
        # ping with kernel_info until IOPub traffic is seen.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.send(self.shell, "kernel_info_request", {})
            end = time.monotonic() + 0.3
            seen = False
            while time.monotonic() < end:
                ev = dict(self.poller.poll(50))
                if self.shell in ev:
                    self.session.recv(self.shell, mode=zmq.NOBLOCK)
                if self.iopub in ev:
                    while self.session.recv(self.iopub, mode=zmq.NOBLOCK)[1] is not None:
                        seen = True
            if seen:
                return
        raise RuntimeError("IOPub never delivered a message")

    def execute(self, code, on_iopub=None, timeout=300):
        msg = self.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        mid = msg["header"]["msg_id"]
        self.session.send(self.shell, msg)
        reply, idle = None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                raise TimeoutError("no execute_reply/idle")
            ev = dict(self.poller.poll(left))
            if self.shell in ev:
                _, m = self.session.recv(self.shell, mode=zmq.NOBLOCK)
                if m is not None and m["parent_header"].get("msg_id") == mid:
                    reply = m
            if self.iopub in ev:
                while True:
                    _, m = self.session.recv(self.iopub, mode=zmq.NOBLOCK)
                    if m is None:
                        break
                    if m["parent_header"].get("msg_id") != mid:
                        continue
                    if on_iopub is not None:
                        on_iopub(m)
                    if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                        idle = True
        return reply

    def close(self):
        self.shell.close(linger=0)
        self.iopub.close(linger=0)


def result_text(msgs):
    for m in msgs:
        if m["msg_type"] == "execute_result":
            return m["content"]["data"].get("text/plain")
    return None


# --------------------------------------------------------------------------- #
# benchmarks
# --------------------------------------------------------------------------- #


def bench_start(env: Env, runs: int, info: dict) -> dict:
    note_load("start:begin")
    py = env.python
    # warm-up: page cache, IPython profile creation, .pyc files
    km, kc, _ = start_timed(env)
    info.update(check_interpreter(env, kernel_pid(km)))
    stop(km, kc)
    for _ in range(3):
        timed_cmd([py, "-c", "pass"])
    bare, imp, k_launch, k_info, k_ready = [], [], [], [], []
    for _ in range(runs):  # interleaved so load swings hit both equally
        bare.append(timed_cmd([py, "-c", "pass"]))
        km, kc, t = start_timed(env)
        stop(km, kc)
        bare.append(timed_cmd([py, "-c", "pass"]))
        imp.append(timed_cmd([py, "-c", "import ipykernel.kernelapp"]))
        k_launch.append(t["start_kernel"])
        k_info.append(t["first_kernel_info_reply"])
        k_ready.append(t["wait_for_ready_return"])
    note_load("start:end")
    r = {
        "wait_for_ready": summary_ms(k_ready),
        "first_kernel_info_reply": summary_ms(k_info),
        "start_kernel_call": summary_ms(k_launch),
        "bare_python_c_pass": summary_ms(bare),
        "python_c_import_ipykernel_kernelapp": summary_ms(imp),
    }
    r["ratio_wait_for_ready_vs_bare"] = round(med(k_ready) / med(bare), 1)
    r["ratio_first_reply_vs_bare"] = round(med(k_info) / med(bare), 1)
    return r


def bench_rtt_interactive(kc, warmup, runs) -> dict:
    for _ in range(warmup):
        execute_interactive(kc, "1+1")
    xs = []
    for _ in range(runs):
        t0 = now()
        reply, msgs = execute_interactive(kc, "1+1")
        xs.append(now() - t0)
        assert reply["content"]["status"] == "ok" and result_text(msgs) == "2", (reply, msgs)
    return dict(summary_ms(xs), p10_ms=ms(pct(xs, 10)), p90_ms=ms(pct(xs, 90)))


def bench_rtt_raw(raw: RawClient, warmup, runs) -> dict:
    for _ in range(warmup):
        raw.execute("1+1")
    xs = []
    for _ in range(runs):
        msgs = []
        t0 = now()
        reply = raw.execute("1+1", on_iopub=msgs.append)
        xs.append(now() - t0)
        assert reply["content"]["status"] == "ok" and result_text(msgs) == "2"
    return dict(summary_ms(xs), p10_ms=ms(pct(xs, 10)), p90_ms=ms(pct(xs, 90)))


PRINT_LINES = 200_000
PRINT_CODE = f"for i in range({PRINT_LINES}): print(i)"
PRINT_BYTES = sum(len(str(i)) + 1 for i in range(PRINT_LINES))


def _count_stream(counter):
    def hook(m):
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout":
            counter[0] += len(m["content"]["text"].encode())
            counter[1] += 1

    return hook


def bench_print(run_one, runs) -> dict:
    xs, nmsgs = [], []
    for i in range(runs + 1):  # first run is warm-up
        counter = [0, 0]
        t0 = now()
        status = run_one(_count_stream(counter))
        dt = now() - t0
        if counter[0] != PRINT_BYTES or status != "ok":
            raise RuntimeError(f"200k print: got {counter[0]} of {PRINT_BYTES} bytes, status {status}")
        if i:
            xs.append(dt)
            nmsgs.append(counter[1])
    return dict(summary_ms(xs), bytes=PRINT_BYTES, stream_msgs_median=med(nmsgs))


def bench_kill_is_alive(env: Env, runs) -> dict:
    note_load("kill_is_alive:begin")
    xs = []
    for _ in range(runs):
        km, kc, _ = start_timed(env)
        pid = kernel_pid(km)
        time.sleep(0.3)
        t0 = now()
        os.kill(pid, signal.SIGKILL)
        while km.is_alive():
            time.sleep(0.010)
        xs.append(now() - t0)
        stop(km, kc)
    return summary_ms(xs)


async def _restarter_runs(env: Env, runs, rng) -> tuple[list, dict]:
    from jupyter_client.ioloop import AsyncIOLoopKernelManager
    from traitlets.config import Config

    cfg = Config()
    # Defaults otherwise (time_to_dead=3.0 s poll period).  With the default
    # restart_limit the first detection fires 'restart' and respawns the kernel;
    # restart_limit=0 makes that same first detection fire 'dead' instead.
    cfg.KernelRestarter.restart_limit = 0
    xs, params = [], {}
    for _ in range(runs):
        km = env.manager(AsyncIOLoopKernelManager, config=cfg)
        await km.start_kernel(stdout=env.log, stderr=env.log)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        r = km._restarter
        params = {
            "restarter": type(r).__name__,
            "time_to_dead_s": r.time_to_dead,
            "restart_limit": r.restart_limit,
        }
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def cb(fut=fut):
            if not fut.done():
                fut.set_result(now())

        km.add_restart_callback(cb, "dead")
        km.add_restart_callback(cb, "restart")
        # kill at a random phase of the restarter's poll period
        await asyncio.sleep(rng.uniform(0, r.time_to_dead))
        t0 = now()
        os.kill(kernel_pid(km), signal.SIGKILL)
        t1 = await asyncio.wait_for(fut, 60)
        xs.append(t1 - t0)
        kc.stop_channels()
        try:
            await km.shutdown_kernel(now=True)
        except Exception:
            pass
    return xs, params


def bench_kill_restarter(env: Env, runs, rng) -> dict:
    note_load("kill_restarter:begin")
    xs, params = asyncio.run(_restarter_runs(env, runs, rng))
    return dict(summary_ms(xs), samples_ms=[ms(x) for x in xs], **params)


HELPER = r"""
import sys, time
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
kdirs, name, log = sys.argv[1:4]
km = KernelManager(kernel_spec_manager=KernelSpecManager(kernel_dirs=[kdirs]), kernel_name=name)
with open(log, "ab") as f:
    km.start_kernel(stdout=f, stderr=f)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
print(km.provisioner.process.pid, flush=True)
time.sleep(3600)
"""


def bench_orphan(env: Env, runs, rng, limit=10.0) -> dict:
    note_load("orphan:begin")
    xs, details = [], []
    for _ in range(runs):
        helper = subprocess.Popen(
            [env.python, "-c", HELPER, env.kernel_dirs, KERNEL_NAME, env.log_path],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        ready, _, _ = select.select([helper.stdout], [], [], 120)
        if not ready:
            helper.kill()
            raise RuntimeError("helper did not report a kernel pid")
        kpid = int(helper.stdout.readline())
        st = proc_stat(kpid)
        assert st is not None and st["ppid"] == helper.pid, (st, helper.pid)
        start = st["starttime"]
        # random phase relative to the kernel's 1 s parent-poll loop
        time.sleep(0.3 + rng.uniform(0, 1.0))
        t0 = now()
        os.kill(helper.pid, signal.SIGKILL)
        helper.wait()
        new_ppid = None
        while now() - t0 < limit:
            st = proc_stat(kpid)
            if st is not None and st["starttime"] == start and new_ppid is None and st["ppid"] != helper.pid:
                new_ppid = st["ppid"]
            if gone(kpid, start):
                break
            time.sleep(0.005)
        dt = now() - t0
        st = proc_stat(kpid)
        if not gone(kpid, start):
            details.append({"gone": False, "after_s": round(dt, 3), "reparented_to": new_ppid})
            os.kill(kpid, signal.SIGKILL)  # our own (grand)child
            xs.append(float("inf"))
        else:
            details.append(
                {
                    "gone": True,
                    "after_ms": ms(dt),
                    "left_as": "zombie" if (st and st["starttime"] == start) else "reaped",
                    "reparented_to": new_ppid,
                }
            )
            xs.append(dt)
        helper.stdout.close()
    m = med(xs)
    return {
        "median_ms": None if m == float("inf") else ms(m),
        "n": len(xs),
        "limit_s": limit,
        "runs": details,
    }


def bench_kernel(env: Env, starts, rtt_runs, kill_runs) -> dict:
    """Item 8: the figures Runyard's Jupyter-kernel bench sets beside its own."""
    km, kc, _ = start_timed(env)  # warm-up: page cache, .pyc, IPython profile
    stop(km, kc)
    ready, reply, first = [], [], []
    for _ in range(starts):
        km, kc, t = start_timed(env)
        t0 = now()
        r, msgs = execute_interactive(kc, "1+1")
        took = now() - t0
        assert result_text(msgs) == "2", (r, msgs)
        reply.append(t["first_kernel_info_reply"])
        ready.append(t["wait_for_ready_return"])
        first.append(t["wait_for_ready_return"] + took)
        stop(km, kc)
    km, kc, _ = start_timed(env)
    try:
        interactive = bench_rtt_interactive(kc, 20, rtt_runs)
        kc.stop_channels()
        raw = RawClient(km)
        try:
            raw_rtt = bench_rtt_raw(raw, 20, rtt_runs)
        finally:
            raw.close()
    finally:
        stop(km, None)
    return {
        "first_kernel_info_reply": summary_ms(reply),
        "wait_for_ready": summary_ms(ready),
        "first_result": summary_ms(first),
        "rtt_execute_interactive": interactive,
        "rtt_raw_zmq": raw_rtt,
        "kill_is_alive_10ms": bench_kill_is_alive(env, kill_runs),
    }


PLOT_CODE = "plt.plot(range(10)); plt.show()"


def bench_plot(env: Env, warmup, runs) -> dict:
    km, kc, _ = start_timed(env)
    try:
        kc.stop_channels()
        raw = RawClient(km)
        try:
            raw.execute("import matplotlib.pyplot as plt")
            times, sizes = [], []
            for i in range(warmup + runs):
                t0 = now()
                seen = []

                def hook(m, t0=t0, seen=seen):
                    if m["msg_type"] == "display_data" and "image/png" in m["content"]["data"] and not seen:
                        seen.append(now() - t0)
                        sizes.append(len(m["content"]["data"]["image/png"]))

                raw.execute(PLOT_CODE, on_iopub=hook)
                if not seen:
                    raise RuntimeError("no image/png display_data from the kernel")
                if i >= warmup:
                    times.append(seen[0])
            d = summary_ms(times)
            d["png_base64_bytes"] = sizes[-1]
            return d
        finally:
            raw.close()
    finally:
        stop(km, None)


def bench_idle(km, seconds) -> dict:
    pid = kernel_pid(km)
    time.sleep(1.0)  # settle after start / kernel_info
    rss = vmrss_kib(pid)
    threads = int(proc_status_field(pid, "Threads"))
    s0, c0 = proc_stat(pid), cpu_ns(pid)
    time.sleep(seconds)
    s1, c1 = proc_stat(pid), cpu_ns(pid)
    ticks = (s1["utime"] + s1["stime"]) - (s0["utime"] + s0["stime"])
    return {
        "rss_kib": rss,
        "rss_mib": round(rss / 1024, 1),
        "threads": threads,
        "idle_seconds": seconds,
        "cpu_ticks": ticks,
        "clk_tck": CLK_TCK,
        "cpu_ms_from_ticks": ticks * 1000 / CLK_TCK,
        "cpu_ms_schedstat": round((c1 - c0) / 1e6, 2),
    }


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable, help="interpreter for the kernel and `-c pass` (default: this one)")
    ap.add_argument("--start-runs", type=int, default=10)
    ap.add_argument("--rtt-runs", type=int, default=300)
    ap.add_argument("--rtt-warmup", type=int, default=50)
    ap.add_argument("--print-runs", type=int, default=5)
    ap.add_argument("--kill-runs", type=int, default=5)
    ap.add_argument("--orphan-runs", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plot-runs", type=int, default=20)
    ap.add_argument("--only", choices=["plot", "kernel"], help="run only this item and print its JSON line")
    args = ap.parse_args()
    if not sys.platform.startswith("linux"):
        sys.exit("jupyter_baseline.py needs Linux (/proc)")

    rng = random.Random(args.seed)
    env = Env(os.path.abspath(args.python))
    t_all = now()
    note_load("begin")
    info = {
        "python": platform.python_version(),
        "python_path": env.python,
        "ipykernel": ipykernel.__version__,
        "jupyter_client": jupyter_client.__version__,
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "nproc": os.cpu_count(),
        "kernel_argv": env.spec_argv,
    }
    try:
        import IPython
        import tornado

        info["ipython"] = IPython.__version__
        info["tornado"] = tornado.version
    except ImportError:
        pass
    res = {}
    if args.only == "kernel":
        try:
            res["kernel"] = bench_kernel(env, args.start_runs, args.rtt_runs, args.kill_runs)
        finally:
            env.close()
        print("JSON " + json.dumps({"bench": "jupyter_baseline", "info": info, "results": res}))
        return
    if args.only == "plot":
        try:
            res["plot"] = bench_plot(env, 3, args.plot_runs)
        finally:
            env.close()
        print("JSON " + json.dumps({"bench": "jupyter_baseline", "info": info, "results": res}))
        return
    try:
        print("item 1: kernel start ...", file=sys.stderr, flush=True)
        res["start"] = bench_start(env, args.start_runs, info)

        print("item 6: idle RSS/CPU ...", file=sys.stderr, flush=True)
        note_load("idle:begin")
        km, kc, _ = start_timed(env)
        try:
            res["idle"] = bench_idle(km, args.idle_seconds)

            print("item 2: 1+1 round trip ...", file=sys.stderr, flush=True)
            note_load("rtt:begin")
            res["rtt_execute_interactive"] = bench_rtt_interactive(kc, args.rtt_warmup, args.rtt_runs)

            print("item 3: 200k-line print ...", file=sys.stderr, flush=True)
            note_load("print:begin")

            def via_interactive(hook):
                return kc.execute_interactive(PRINT_CODE, output_hook=hook, timeout=600, allow_stdin=False)[
                    "content"
                ]["status"]

            res["print_execute_interactive"] = bench_print(via_interactive, args.print_runs)

            # lean path: only one client subscribed to IOPub at a time
            kc.stop_channels()
            raw = RawClient(km)
            try:
                res["rtt_raw_zmq"] = bench_rtt_raw(raw, args.rtt_warmup, args.rtt_runs)
                res["print_raw_zmq"] = bench_print(
                    lambda hook: raw.execute(PRINT_CODE, on_iopub=hook, timeout=600)["content"]["status"],
                    args.print_runs,
                )
            finally:
                raw.close()
            res["idle"]["rss_mib_after_workload"] = round(vmrss_kib(kernel_pid(km)) / 1024, 1)
        finally:
            stop(km, None)

        print("item 4: kernel SIGKILL -> noticed ...", file=sys.stderr, flush=True)
        res["kill_is_alive_10ms"] = bench_kill_is_alive(env, args.kill_runs)
        res["kill_restarter"] = bench_kill_restarter(env, args.kill_runs, rng)

        print("item 5: manager SIGKILL -> kernel gone ...", file=sys.stderr, flush=True)
        res["orphan"] = bench_orphan(env, args.orphan_runs, rng)
        note_load("end")
    finally:
        env.close()
    info["total_s"] = round(now() - t_all, 1)
    one = [s["1m"] for s in LOAD_SAMPLES]
    info["loadavg_1m"] = {"min": min(one), "max": max(one), "begin": one[0], "end": one[-1]}
    report(info, res)


def report(info, r):
    s, i = r["start"], r["idle"]
    la = info["loadavg_1m"]
    print()
    print(
        f"Jupyter baseline — ipykernel {info['ipykernel']}, jupyter_client {info['jupyter_client']}, "
        f"pyzmq {info['pyzmq']} (libzmq {info['libzmq']}), Python {info['python']}, {info['nproc']} CPUs"
    )
    print(f"kernel: {' '.join(info['kernel_argv'])}")
    print(
        f"load avg (1 min) during run: {la['begin']:.2f} at start, {la['end']:.2f} at end, "
        f"range {la['min']:.2f}–{la['max']:.2f}; total {info['total_s']} s"
    )
    rows = []

    def row(label, d, extra=""):
        rng = f"n={d['n']}, {d['min_ms']:.2f}–{d['max_ms']:.2f}" if d.get("min_ms") is not None else ""
        rows.append((label, f"{d['median_ms']:.2f} ms" if d.get("median_ms") is not None else "n/a", rng + extra))

    row("1 start → usable: start_kernel()+wait_for_ready()", s["wait_for_ready"])
    row("  … first kernel_info_reply received", s["first_kernel_info_reply"])
    row("  … start_kernel() call alone", s["start_kernel_call"])
    row("  bare `python -c pass`", s["bare_python_c_pass"])
    row("  `python -c 'import ipykernel.kernelapp'`", s["python_c_import_ipykernel_kernelapp"])
    rows.append(
        (
            "  ratio kernel/bare (wait_for_ready | first reply)",
            f"{s['ratio_wait_for_ready_vs_bare']}x | {s['ratio_first_reply_vs_bare']}x",
            "",
        )
    )
    for key, label in (("rtt_execute_interactive", "execute_interactive"), ("rtt_raw_zmq", "raw zmq+Session")):
        d = r[key]
        row(f"2 `1+1` round trip, {label}", d, f", p10 {d['p10_ms']:.2f} p90 {d['p90_ms']:.2f}")
    for key, label in (("print_execute_interactive", "execute_interactive"), ("print_raw_zmq", "raw zmq+Session")):
        d = r[key]
        row(f"3 200k-line print → reply+idle, {label}", d, f", {d['bytes']} B in ~{d['stream_msgs_median']:.0f} msgs")
    row("4 kernel SIGKILL → is_alive() False (10 ms poll)", r["kill_is_alive_10ms"])
    k = r["kill_restarter"]
    row(
        f"  kernel SIGKILL → {k['restarter']} callback",
        k,
        f"; time_to_dead={k['time_to_dead_s']} s, random kill phase",
    )
    o = r["orphan"]
    outcomes = ", ".join(
        f"{d['after_ms']:.0f} ms ({d['left_as']})" if d["gone"] else f">{o['limit_s']:.0f} s (still running)"
        for d in o["runs"]
    )
    rows.append(
        (
            "5 manager SIGKILL → orphaned kernel gone",
            f"{o['median_ms']:.2f} ms" if o["median_ms"] is not None else f">{o['limit_s']:.0f} s",
            f"n={o['n']}: {outcomes}",
        )
    )
    rows.append(
        (
            "6 idle kernel RSS (VmRSS, 1 s after ready)",
            f"{i['rss_mib']} MiB",
            f"{i['threads']} threads; {i['rss_mib_after_workload']} MiB after items 2–3",
        )
    )
    rows.append(
        (
            f"  idle CPU over {i['idle_seconds']:.0f} s",
            f"{i['cpu_ticks']} ticks",
            f"= {i['cpu_ms_from_ticks']:.0f} ms @ {i['clk_tck']} Hz; schedstat {i['cpu_ms_schedstat']:.1f} ms",
        )
    )
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    print(f"{'metric':<{w0}}  {'median':>{w1}}  detail")
    print("-" * (w0 + w1 + 40))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}")
    print()
    print("JSON " + json.dumps({"bench": "jupyter_baseline", "info": info, "results": r, "load": LOAD_SAMPLES}))


if __name__ == "__main__":
    main()
