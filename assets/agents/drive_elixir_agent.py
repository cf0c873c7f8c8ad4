#!/usr/bin/env python3
"""Standalone test driver for the Runyard Elixir agent (elixir_agent.ex).

Starts the agent exactly as the Rust manager does (see README.md, "Elixir"),
speaks the protocol of docs/protocol.md and prints PASS/FAIL per check plus
timings. Usage:

    python3 drive_elixir_agent.py [--quick] [--no-attach]

Exit status 0 when every check passed.
"""

import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "elixir_agent.ex")
BOOT = os.path.join(HERE, "elixir_boot.exs")
ERL_FLAGS = "+sbwt none +sbwtdcpu none +sbwtdio none -noinput"

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(("PASS" if ok else "FAIL") + "  " + name + (("  -- " + detail) if detail else ""), flush=True)
    return ok


# ---------------------------------------------------------------- manager side


def agent_dir(cache_root):
    """What the manager does: <cache>/<key>/elixir_agent.ex, key = sha256(source)[:16],
    written atomically (temp + rename) when missing."""
    src = open(AGENT, "rb").read()
    key = hashlib.sha256(src).hexdigest()[:16]
    d = os.path.join(cache_root, key)
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "elixir_agent.ex")
    if not os.path.exists(f):
        tmp = f + ".tmp%d" % os.getpid()
        with open(tmp, "wb") as fh:
            fh.write(src)
        os.rename(tmp, f)
    return d


def agent_argv(cache_root, mode_args, token, name=None, long_names=True):
    """No --sname/--name/--cookie: the command line is readable by every local
    user. The agent starts distribution on 127.0.0.1 itself, with the cookie
    from RUNYARD_COOKIE (see agent_env); epmd must be running (ensure_epmd)."""
    name = name or "runyard-" + secrets.token_hex(4)
    if long_names and "@" not in name:
        name += "@127.0.0.1"
    return [
        shutil.which("elixir") or "elixir",
        "--erl", ERL_FLAGS,
        "-e", open(BOOT).read(),
        "--", agent_dir(cache_root),
        "longnames" if long_names else "shortnames", name,
    ] + list(mode_args) + [token]


def agent_env(cookie=None):
    return dict(os.environ, RUNYARD_COOKIE=cookie or secrets.token_hex(16))


def ensure_epmd():
    """What the manager does: an epmd on 127.0.0.1:4369, started on loopback only if none answers."""
    import socket
    try:
        socket.create_connection(("127.0.0.1", 4369), timeout=1).close()
    except OSError:
        subprocess.run(["epmd", "-daemon", "-address", "127.0.0.1"], check=True)
        time.sleep(0.2)


class Agent:
    def __init__(self, cache_root, mode_args=("standalone",), name=None, cookie=None):
        self.token = secrets.token_hex(16)
        ensure_epmd()
        # An attach bridge takes its target's naming mode (short for name@host).
        target = mode_args[1] if len(mode_args) > 1 else ""
        long_names = mode_args[0] == "standalone" or "." in target.partition("@")[2]
        argv = agent_argv(cache_root, mode_args, self.token, name, long_names)
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True, bufsize=0,
                                  env=agent_env(cookie))
        self.frames = queue.Queue()
        self.stray = bytearray()
        self.stderr = bytearray()
        self.hello = None
        self.hello_at = None
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        buf = b""
        out = self.p.stdout
        while True:
            chunk = os.read(out.fileno(), 1 << 16)
            if not chunk:
                self.frames.put(None)
                return
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line, buf = buf[:nl], buf[nl + 1:]
                rs = line.rfind(b"\x1e")
                if rs < 0:
                    self.stray += line + b"\n"
                    continue
                self.stray += line[:rs]
                try:
                    msg = json.loads(line[rs + 1:].decode("utf-8"))
                except Exception as e:  # noqa
                    msg = {"type": "<bad>", "error": str(e), "raw": line[:200]}
                msg["_t"] = time.perf_counter()
                msg["_size"] = len(line)
                self.frames.put(msg)

    def _read_err(self):
        while True:
            chunk = os.read(self.p.stderr.fileno(), 1 << 16)
            if not chunk:
                return
            self.stderr += chunk

    def send(self, **msg):
        self.p.stdin.write(b"\x1e" + json.dumps(msg).encode() + b"\n")

    def next(self, timeout=10):
        try:
            return self.frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_hello(self, timeout=15):
        m = self.next(timeout)
        # A first start says it is compiling first; the wait starts anew.
        while m and m.get("type") == "preparing":
            m = self.next(300)
        self.hello_at = time.perf_counter()
        self.hello = m
        return m

    def eval(self, code, ref, prev=None, container="c1", file="cell", timeout=10):
        """Returns (result, outputs)."""
        self.send(type="evaluate", container=container, ref=ref, prev=prev, code=code, file=file)
        return self.until_result(ref, timeout)

    def until_result(self, ref, timeout=10):
        outs = []
        deadline = time.time() + timeout
        while True:
            m = self.next(max(0.01, deadline - time.time()))
            if m is None:
                return None, outs
            if m.get("type") == "result" and m.get("ref") == ref:
                return m, outs
            outs.append(m)

    def stop(self):
        try:
            self.send(type="stop")
        except Exception:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()


def text_of(outs, stream=None, ref="__any__"):
    return "".join(o["text"] for o in outs if o.get("type") == "output"
                   and (stream is None or o["stream"] == stream)
                   and (ref == "__any__" or o["ref"] == ref))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- standalone


def standalone_checks(cache, quick):
    a = Agent(cache)
    h = a.wait_hello(30)
    ok = (h and h.get("type") == "hello" and h.get("token") == a.token and h.get("protocol") == 1
          and h.get("language") == "elixir" and h.get("pid") == a.p.pid
          and h.get("node", "").startswith("runyard-") and "@" in h.get("node", "")
          and h.get("otp_release") == "25" and h.get("language_version", "").startswith("1.")
          and os.path.exists(h.get("executable", "")) and len(h.get("cookie", "")) > 0)
    check("hello fields (token, protocol, pid = BEAM pid, node, cookie, otp_release, executable)",
          ok, json.dumps({k: v for k, v in (h or {}).items() if not k.startswith("_")}))
    if not h:
        print(a.stderr.decode(errors="replace"))
        return

    # binding + env chaining
    r, _ = a.eval('alias Enum, as: E\nimport String, only: [upcase: 1]\nx = 1', "a1", file="cell 1")
    r, _ = a.eval('y = x + 1\n{E.count([1, 2, 3]), upcase("a"), x, y}', "a2", prev="a1", file="cell 2")
    check("binding and aliases/imports chain across cells", r and r["status"] == "ok"
          and r["value"] == '{3, "A", 1, 2}', str(r and (r["value"], r["error"])))
    r, _ = a.eval("x = 10\nx", "a1b", prev=None, file="cell 1")
    r, _ = a.eval("{x, y}", "a3", prev="a1", file="cell 2")
    check("prev = P sees exactly P's bindings (not later cells')", r and r["status"] == "error"
          and r["error"]["kind"] == "CompileError", str(r and r["error"] and r["error"]["message"]))
    r, _ = a.eval("{x, y}", "a4", prev="a2", file="cell 3")
    check("older context still intact", r and r["value"] == "{1, 2}", str(r and r["value"]))
    r, _ = a.eval("1", "a5", prev="nope", file="cell 3")
    check("unknown prev -> RunyardError", r and r["status"] == "error" and r["error"]["kind"] == "RunyardError")
    r, _ = a.eval("", "a6", file="cell 3")
    check("empty cell -> value null", r and r["status"] == "ok" and r["value"] is None, str(r and r["value"]))

    # modules
    warn = ""
    r, outs = a.eval("defmodule M do\n  def f, do: 1\nend", "m1", file="cell 4")
    warn += text_of(outs)
    r, outs = a.eval("M.f()", "m2", prev="m1", file="cell 5")
    warn += text_of(outs)
    ok1 = r and r["value"] == "1"
    for i in range(3):
        r, outs = a.eval("defmodule M do\n  def f, do: %d\nend" % (i + 2), "m1", file="cell 4")
        warn += text_of(outs)
    r, outs = a.eval("M.f()", "m2", prev="m1", file="cell 5")
    warn += text_of(outs)
    time.sleep(0.1)
    check("module defined in a cell works in the next; redefinition replaces it without warnings",
          ok1 and r and r["value"] == "4" and "redefin" not in warn and b"redefin" not in a.stderr,
          repr(warn[:200]))

    # errors
    cases = [
        ("raise", 'x = 1\nraise ArgumentError, "bad"', "ArgumentError", 2),
        ("arith in a cell function", "defmodule D do\n  def f(x), do: 1 / x\nend\nD.f(0)", "ArithmeticError", 2),
        ("throw", "throw :ball", "throw", 1),
        ("exit", "exit(:boom)", "exit", 1),
        ("compile error", "1 + 1\nundefined_thing + 1", "CompileError", 2),
        ("syntax error", "1 +\n(", None, None),
    ]
    for name, code, kind, line in cases:
        r, outs = a.eval(code, "e-" + name, file="cell 6")
        e = r and r["error"]
        ok = r and r["status"] == "error" and e and (kind is None or e["kind"] == kind) and e["formatted"]
        if kind is None:
            ok = ok and e["kind"] in ("SyntaxError", "TokenMissingError") and e["line"] and e["column"]
        elif line is not None:
            ok = ok and e["line"] == line
        if ok and kind not in (None, "CompileError"):
            ok = any(f["file"] == "cell 6" for f in e["frames"]) and "cell 6:" in e["formatted"]
        check("error: " + name, ok, json.dumps(e and {k: e[k] for k in ("kind", "message", "line", "column")})
              + " " + json.dumps(e and e["frames"]))
        if name == "arith in a cell function":
            print("      formatted: " + repr(e and e["formatted"]))
    r, _ = a.eval("Process.exit(self(), :kill)", "e-kill", file="cell 6")
    r2, _ = a.eval("spawn_link(fn -> exit(:linked_crash) end)\nProcess.sleep(200)", "e-link", file="cell 6")
    check("evaluation process killed / taken down by a linked crash -> error kind exit",
          r and r["status"] == "error" and r["error"]["kind"] == "exit" and r2 and r2["status"] == "error"
          and "linked_crash" in r2["error"]["message"], str((r and r["error"]["message"], r2 and r2["error"]["message"])))
    r, _ = a.eval("1 + 1", "after-errors")
    check("runtime carries on after errors", r and r["value"] == "2")

    # output
    r, outs = a.eval('spawn(fn -> IO.puts("from child") end)\nProcess.sleep(30)\n:ok', "o1")
    check("output from a spawned process, tagged with the ref, before the result",
          "from child\n" == text_of(outs, "stdout", "o1"), repr(outs))
    r, outs = a.eval('require Logger\nLogger.warning("careful")\nIO.puts(:stderr, "to stderr")\nIO.puts("to stdout")', "o2")
    err = text_of(outs, "stderr", "o2")
    check("Logger and IO.puts(:stderr) arrive as stream stderr", "careful" in err and "to stderr" in err
          and text_of(outs, "stdout", "o2") == "to stdout\n", repr(outs))
    r, outs = a.eval('IO.write("é"); :io.put_chars(:standard_io, \'ü\'); IO.binwrite("x"); IO.gets("prompt")', "o3")
    check("I/O protocol: unicode, latin1, get_line -> :eof", r and r["value"] == ":eof"
          and text_of(outs, "stdout", "o3") == "éüx", repr((r and r["value"], text_of(outs))))

    n = 20000 if quick else 200000
    t = time.perf_counter()
    r, outs = a.eval("for i <- 1..%d, do: IO.puts(\"line #{i}\")\n:done" % n, "big", timeout=120)
    dt = time.perf_counter() - t
    txt = text_of(outs, "stdout", "big")
    expect = "".join("line %d\n" % i for i in range(1, n + 1))
    maxlen = max((len(o["text"].encode()) for o in outs), default=0)
    check("%d IO.puts lines: every byte in order, <= 64 KiB per output message" % n,
          txt == expect and maxlen <= 65536, "%.3f s, %d messages, largest %d bytes" % (dt, len(outs), maxlen))

    t0 = time.perf_counter()
    r, outs = a.eval('IO.write("early"); Process.sleep(300); :ok', "lat")
    first = [o for o in outs if o.get("type") == "output"]
    lat = (first[0]["_t"] - t0) if first else None
    check("output batched at most ~50 ms late", lat is not None and lat < 0.150, "first output after %s" %
          (lat and "%.1f ms" % (lat * 1000)))

    r, outs = a.eval('IO.puts("\U0001F600 \\u00e9")\n"\U0001F600"', "uni")
    check("unicode both ways (surrogate pairs in JSON escapes)", r and r["value"] == '"\U0001F600"'
          and text_of(outs) == "\U0001F600 \u00e9\n", repr((r and r["value"], text_of(outs))))
    r, outs = a.eval('spawn(fn -> Process.sleep(100); IO.puts("late") end)\n:ok', "bg")
    late = a.next(2)
    check("output after the evaluation ended has ref null", late and late.get("type") == "output"
          and late["ref"] is None and late["text"] == "late\n", repr(late))
    r, outs = a.eval('spawn(fn -> raise "crash in a child" end)\nProcess.sleep(100)\n'
                     'defmodule W do\n  def f(x), do: 1\nend\n:ok', "crash")
    err = text_of(outs, "stderr", "crash")
    check("crash report of a spawned process and compiler warnings come back as stderr",
          "crash in a child" in err and "unused" in err, repr(err[:300]))
    r, outs = a.eval('Task.start(fn -> Process.group_leader(self(), Process.whereis(:user))\n'
                     'require Logger\nLogger.error("not from a cell")\nend)\nProcess.sleep(100)', "nocell")
    time.sleep(0.1)
    check("Logger output of a non-evaluation process goes to the real stderr, not stdout",
          b"not from a cell" in a.stderr and len(a.stray) == 0, repr(bytes(a.stray[:100])))
    r, _ = a.eval('String.duplicate("a", 2_000_000)', "huge")
    check("value cut at 1,000,000 characters", r and len(r["value"]) == 1000000, str(r and len(r["value"])))

    # memory
    a.send(type="memory")
    m = a.next(5)
    names = [p[0] for p in (m or {}).get("parts", [])]
    check("memory parts", m and m["type"] == "memory" and names == ["processes", "atom", "binary", "code", "ets", "other"]
          and m["total"] == sum(p[1] for p in m["parts"]), json.dumps(m and m.get("parts")))

    # interrupt
    a.eval("keep = :me", "k1", file="cell 7")
    for name, code in [("busy loop", "f = fn f -> f.(f) end\nf.(f)"),
                       ("Process.sleep(:infinity)", "Process.sleep(:infinity)"),
                       ("receive with no match", "receive do\n  :never -> 1\nend")]:
        a.send(type="evaluate", container="c1", ref="int", prev="k1", code="x = 1\n" + code, file="cell 8")
        time.sleep(0.3)
        a.send(type="memory")  # out of band while evaluating
        mm = a.next(2)
        t = time.perf_counter()
        a.send(type="interrupt")
        r, _ = a.until_result("int", 5)
        dt = (time.perf_counter() - t) * 1000
        e = r and r["error"]
        check("interrupt %s within 100 ms" % name, r and r["status"] == "interrupted" and e["kind"] == "interrupt"
              and dt < 100 and mm and mm["type"] == "memory",
              "%.1f ms, line %s, frames %s" % (dt, e and e["line"], e and [f["name"] for f in e["frames"]]))
    r, _ = a.eval("keep", "k2", prev="k1", file="cell 9")
    r2, _ = a.eval("x", "k3", prev="int", file="cell 9")
    check("contexts kept after interrupts", r and r["value"] == ":me" and r2 and r2["status"] == "error",
          str(r and r["value"]))

    # forget / drop_container
    a.send(type="forget", container="c1", ref="k1")
    r, _ = a.eval("keep", "k4", prev="k1")
    ok = r and r["error"] and r["error"]["kind"] == "RunyardError"
    a.eval("z = 5", "d1", container="c2")
    a.send(type="drop_container", container="c2")
    r, _ = a.eval("z", "d2", prev="d1", container="c2")
    check("forget and drop_container free contexts", ok and r and r["error"]["kind"] == "RunyardError")

    # round trip (through the reader thread and queue of this driver)
    rts = []
    for i in range(300 if quick else 2000):
        t = time.perf_counter()
        a.send(type="evaluate", container="rt", ref="rt%d" % i, prev=None, code="1+1", file="cell")
        m = a.next(5)
        rts.append((time.perf_counter() - t) * 1e6)
        assert m and m["type"] == "result" and m["value"] == "2", m
    rts.sort()
    print("      1+1 round trip via this driver's reader thread: median %.0f us, p90 %.0f us, "
          "agent-side eval %s us" % (statistics.median(rts), rts[len(rts) * 9 // 10], m["duration_us"]))

    # stray output check: nothing outside frames so far
    check("nothing written to stdout outside frames", len(a.stray) == 0, repr(bytes(a.stray[:200])))

    # stop takes OS child processes along
    r, _ = a.eval('port = Port.open({:spawn_executable, System.find_executable("sleep")}, args: ["1000"])\n'
                  '{:os_pid, pid} = Port.info(port, :os_pid)\npid', "os1")
    sleepers = [int(r["value"])] if r and r["status"] == "ok" else []
    t = time.perf_counter()
    a.send(type="stop")
    a.p.wait(5)
    dt = (time.perf_counter() - t) * 1000
    time.sleep(0.1)
    check("stop: BEAM exits at once and its OS child processes go too",
          not pid_alive(a.p.pid) and sleepers and not any(pid_alive(p) for p in sleepers),
          "%.1f ms, exit status %s, children %s" % (dt, a.p.returncode, sleepers))

    # EOF during a long evaluation
    b = Agent(cache)
    b.wait_hello(10)
    b.send(type="evaluate", container="c", ref="busy", prev=None, code="f = fn f -> f.(f) end\nf.(f)", file="cell")
    time.sleep(0.2)
    t = time.perf_counter()
    b.p.stdin.close()
    while pid_alive(b.p.pid) and time.perf_counter() - t < 5:
        time.sleep(0.001)
    dt = (time.perf_counter() - t) * 1000
    b.p.wait(5)
    check("EOF on stdin -> BEAM gone (while evaluating)", not pid_alive(b.p.pid), "%.1f ms" % dt)


# ---------------------------------------------------------------- round trip


def roundtrip_direct(cache, n):
    """1+1 round trip with the pipes read directly (no thread hand-off)."""
    ensure_epmd()
    argv = agent_argv(cache, ["standalone"], "tok")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=agent_env(),
                         start_new_session=True)
    rfd, wfd = p.stdout.fileno(), p.stdin.fileno()
    buf = b""

    def frame():
        nonlocal buf
        while b"\n" not in buf:
            buf += os.read(rfd, 65536)
        i = buf.index(b"\n")
        line, buf = buf[:i], buf[i + 1:]
        return json.loads(line[line.rindex(b"\x1e") + 1:])

    frame()
    ts = []
    for i in range(n):
        msg = b'\x1e{"type":"evaluate","container":"c","ref":"r%d","prev":null,"code":"1+1","file":"cell"}\n' % i
        t = time.perf_counter()
        os.write(wfd, msg)
        m = frame()
        ts.append((time.perf_counter() - t) * 1e6)
        assert m["value"] == "2", m
    os.write(wfd, b'\x1e{"type":"stop"}\n')
    p.wait(5)
    ts = sorted(ts[n // 5:])
    med = statistics.median(ts)
    check("1+1 round trip <= 150 us (median, direct pipe reads)", med <= 150,
          "median %.0f us, p10 %.0f, p90 %.0f" % (med, ts[len(ts) // 10], ts[len(ts) * 9 // 10]))


# ---------------------------------------------------------------- start-up timing


def timing(cache_root, quick):
    n = 5 if quick else 10

    def bare():
        t = time.perf_counter()
        subprocess.run(["elixir", "-e", ""], check=True)
        return (time.perf_counter() - t) * 1000

    def start(cache):
        a = Agent(cache)
        h = a.wait_hello(30)
        dt = (a.hello_at - a.t0) * 1000
        assert h and h["type"] == "hello", (h, a.stderr)
        a.stop()
        return dt

    bare_t, cold_t, cached_t = [], [], []
    for i in range(n):
        bare_t.append(bare())
        cold = tempfile.mkdtemp(prefix="runyard-cold-")
        cold_t.append(start(cold))
        shutil.rmtree(cold)
        cached_t.append(start(cache_root))
    mb, mc, mw = statistics.median(bare_t), statistics.median(cold_t), statistics.median(cached_t)
    print("      start -> hello, median of %d: elixir -e '' %.0f ms; agent cold (compiles) %.0f ms; "
          "agent cached %.0f ms (%.2fx)" % (n, mb, mc, mw, mw / mb))
    check("cached start -> hello <= 1.5x elixir -e ''", mw <= 1.5 * mb, "%.0f vs %.0f ms" % (mw, mb))


# ---------------------------------------------------------------- attached


def start_target(name, cookie):
    p = subprocess.Popen(["elixir", "--sname", name, "--cookie", cookie, "-e", "Process.sleep(:infinity)"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    for _ in range(200):
        out = subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout
        if ("name %s at" % name) in out:
            return p
        time.sleep(0.05)
    raise RuntimeError("target did not start")


def probe(target, cookie, expr):
    out = subprocess.run(["elixir", "--sname", "probe-" + secrets.token_hex(3), "--cookie", cookie, "-e",
                          "true = Node.connect(:'%s'); IO.puts(inspect(:rpc.call(:'%s', Code, :eval_string, [%s]) |> elem(0)))"
                          % (target, target, json.dumps(expr))], capture_output=True, text=True, timeout=20)
    return out.stdout.strip() + out.stderr.strip()


def attached_checks(cache):
    host = socket.gethostname().split(".")[0]
    tname = "target-" + secrets.token_hex(3)
    target = "%s@%s" % (tname, host)
    cookie = "secret" + secrets.token_hex(4)
    tp = start_target(tname, cookie)
    try:
        a = Agent(cache, ("attach", target), cookie=cookie)
        ha = a.wait_hello(10)
        b = Agent(cache, ("attach", target), cookie=cookie)
        hb = b.wait_hello(10)
        check("attach: two bridges say hello with node = target", ha and hb and ha.get("type") == "hello"
              and ha.get("node") == target and hb.get("node") == target,
              "%s / %s %s" % (ha, hb, (a.stderr + b.stderr).decode(errors="replace")[-300:]))
        if not (ha and hb and ha.get("type") == "hello" and hb.get("type") == "hello"):
            return
        print("      attach start -> hello: %.0f ms" % ((a.hello_at - a.t0) * 1000))
        r, outs = a.eval('IO.puts("hi from #{node()}")\nnode()', "n1")
        check("attach: evaluation runs on the target, output relayed", r and r["value"] == ":\"%s\"" % target
              and text_of(outs) == "hi from %s\n" % target, str((r and r["value"], text_of(outs))))
        r, outs = b.eval('require Logger\nLogger.error("oops")\nIO.puts(:stderr, "e")\n'
                         'Process.register(spawn(fn -> Process.sleep(:infinity) end), :runyard_probe_proc)\n'
                         'x = 41', "n1")
        check("attach: Logger and stderr on the target come back as stderr",
              "oops" in text_of(outs, "stderr") and "e\n" in text_of(outs, "stderr"), repr(outs))
        r, _ = b.eval("x + 1", "n2", prev="n1")
        check("attach: contexts chain on the target", r and r["value"] == "42")
        r, _ = a.eval("defmodule AttachedM do\n def f, do: :a\nend\nAttachedM.f()", "n3")
        check("attach: modules defined on the target", r and r["value"] == ":a")

        a.send(type="evaluate", container="c", ref="sl", prev=None, code="Process.sleep(:infinity)", file="cell")
        time.sleep(0.2)
        t = time.perf_counter()
        a.send(type="interrupt")
        r, _ = a.until_result("sl", 5)
        check("attach: interrupt", r and r["status"] == "interrupted", "%.1f ms" % ((time.perf_counter() - t) * 1000))

        t = time.perf_counter()
        a.stop()
        r, _ = b.eval("1 + 1", "n4")
        check("attach: one bridge leaves, the other still works", r and r["value"] == "2" and tp.poll() is None)
        alive = probe(target, cookie, "Process.whereis(:runyard_probe_proc) |> is_pid()")
        loaded = probe(target, cookie, "for {m, _} <- :code.all_loaded(), String.contains?(Atom.to_string(m), \"Runyard\"), do: m")
        check("attach: the other's processes and modules remain", alive == "true" and "RunyardAgent.Node_" in loaded,
              alive + " " + loaded)

        b.stop()
        time.sleep(0.3)
        alive = probe(target, cookie, "Process.whereis(:runyard_probe_proc)")
        loaded = probe(target, cookie, "for {m, _} <- :code.all_loaded(), String.contains?(Atom.to_string(m), \"Runyard\"), do: m")
        se = probe(target, cookie, "{Process.whereis(:standard_error) |> Process.info(:registered_name), "
                                   ":logger.get_handler_ids(), Code.get_compiler_option(:ignore_module_conflict)}")
        check("attach: last bridge gone -> Runyard's processes and modules gone, node restored, target alive",
              alive == "nil" and loaded == "[]" and tp.poll() is None and "runyard" not in se
              and se.endswith("false}"), "%s %s %s" % (alive, loaded, se))

        # node down
        c = Agent(cache, ("attach", target), cookie=cookie)
        hc = c.wait_hello(10)
        r, _ = c.eval("1", "z")
        t = time.perf_counter()
        os.killpg(tp.pid, signal.SIGKILL)
        tp.wait()
        try:
            c.p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        dt = (time.perf_counter() - t) * 1000
        time.sleep(0.05)
        check("attach: target killed -> bridge exits with status 3 and says the node went down",
              c.p.returncode == 3 and b"went down" in c.stderr,
              "%.1f ms, status %s, stderr %r" % (dt, c.p.returncode, bytes(c.stderr[-200:])))
    finally:
        if tp.poll() is None:
            os.killpg(tp.pid, signal.SIGKILL)

    # init errors
    tname2 = "target-" + secrets.token_hex(3)
    tp = start_target(tname2, "right")
    try:
        for name, tgt, ck, reason in [
            ("wrong cookie", "%s@%s" % (tname2, host), "wrong", "wrong_cookie"),
            ("unreachable (no such node)", "nosuchnode-%s@%s" % (secrets.token_hex(2), host), "right", "unreachable"),
            ("no such host", "x@no-such-host-%s" % secrets.token_hex(3), "right", "no_host"),
        ]:
            t = time.perf_counter()
            d = Agent(cache, ("attach", tgt), cookie=ck)
            m = d.wait_hello(10)
            d.p.wait(10)
            dt = (time.perf_counter() - t)
            check("attach error: %s -> init_error %s, exit 1, < 5 s" % (name, reason),
                  m and m.get("type") == "init_error" and m.get("reason") == reason and d.p.returncode == 1 and dt < 5,
                  "%.2f s: %s" % (dt, m and m.get("message")))
    finally:
        os.killpg(tp.pid, signal.SIGKILL)


def main():
    quick = "--quick" in sys.argv
    cache = tempfile.mkdtemp(prefix="runyard-cache-")
    try:
        subprocess.run(["epmd", "-daemon"], check=False)
        standalone_checks(cache, quick)
        roundtrip_direct(cache, 1000 if quick else 5000)
        timing(cache, quick)
        if "--no-attach" not in sys.argv:
            attached_checks(cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    failed = [n for n, ok in RESULTS if not ok]
    print("\n%d checks, %d failed%s" % (len(RESULTS), len(failed), (": " + "; ".join(failed)) if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
