#!/usr/bin/env python3
"""Stand-alone checks for python_agent.py, started exactly as the Rust manager starts it.

usage: drive_python_agent.py [INTERPRETER ...]      (default: the interpreter running this script)
       drive_python_agent.py --bench-start [N] INTERPRETER ...

Prints PASS/FAIL per check plus timings; exits 1 if anything failed.
"""
import json, os, select, signal, statistics, subprocess, sys, time

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'python_agent.py')
SRC = open(AGENT).read()
FAILS = []


class Agent:
    def __init__(self, py, node='python-test1', token='0123456789abcdef0123456789abcdef'):
        self.t0 = time.perf_counter()
        kw = {'process_group': 0} if sys.version_info >= (3, 11) else {'preexec_fn': os.setpgrp}
        self.p = subprocess.Popen([py, '-c', SRC, node, token], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        self.buf = b''
        self.stray = b''
        self.frames = []
        self.hello = self.recv(10)
        self.t_hello = time.perf_counter() - self.t0
        self.n = 0

    def send_raw(self, b):
        self.p.stdin.write(b)
        self.p.stdin.flush()

    def send(self, **m):
        self.send_raw(b'\x1e' + json.dumps(m).encode() + b'\n')

    def recv(self, timeout=10):
        """Next frame (dict), or None on timeout / EOF."""
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while True:
            i = self.buf.find(b'\n')
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                j = line.find(b'\x1e')
                if j != 0:
                    self.stray += line[:j] if j > 0 else line
                if j < 0:
                    continue
                m = json.loads(line[j + 1:].decode())
                self.frames.append(m)
                return m
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            d = os.read(fd, 1 << 20)
            if not d:
                return None
            self.buf += d

    def evaluate(self, code, prev=None, container='c', ref=None, file=None, timeout=30):
        """Returns (result, outputs) where outputs are the output frames seen before the result."""
        self.n += 1
        ref = ref or 'r%d' % self.n
        self.send(type='evaluate', container=container, ref=ref, prev=prev, code=code,
                  file=file or 'cell %d' % self.n)
        return self.wait_result(ref, timeout)

    def wait_result(self, ref, timeout=30):
        outs = []
        end = time.monotonic() + timeout
        while True:
            m = self.recv(max(0, end - time.monotonic()))
            if m is None:
                return None, outs
            if m['type'] == 'result' and m['ref'] == ref:
                return m, outs
            if m['type'] == 'output':
                outs.append(m)

    def close(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except OSError:
            pass
        self.p.wait()


def text(outs, stream='stdout', ref=None):
    return ''.join(o['text'] for o in outs if o['stream'] == stream and (ref is None or o['ref'] == ref))


def check(name, ok, detail=''):
    print('%s  %-55s %s' % ('PASS' if ok else 'FAIL', name, detail))
    if not ok:
        FAILS.append(name)


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def gone_within(pids, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.005)
    return False


def run_checks(py):
    a = Agent(py)
    h = a.hello or {}
    ver = subprocess.check_output([py, '-c', 'import sys; print(sys.version.split()[0], sys.executable)']).split()
    check('hello', h.get('type') == 'hello' and h.get('token') == '0123456789abcdef0123456789abcdef'
          and h.get('protocol') == 1 and h.get('pid') == a.p.pid and h.get('language') == 'python'
          and h.get('language_version') == ver[0].decode() and h.get('executable') == ver[1].decode()
          and h.get('node') == 'python-test1', '%s (%.1f ms)' % (h, a.t_hello * 1e3))

    r, o = a.evaluate('1+1')
    check('first evaluate', r and r['status'] == 'ok' and r['value'] == '2' and r['error'] is None,
          'start->first result %.1f ms' % ((time.perf_counter() - a.t0) * 1e3))
    r, o = a.evaluate('import sys, os\nsys.argv, os.read(0, 10)')
    check('argv is [""] and stdin is /dev/null', r['value'] == "([''], b'')", r['value'])

    # chaining
    r, _ = a.evaluate('x = 1', ref='A')
    check('no value for a statement', r['status'] == 'ok' and r['value'] is None, str(r['value']))
    r, _ = a.evaluate('y = x + 1\ny', prev='A', ref='B')
    check('chain: B sees A', r['value'] == '2', str(r))
    r, _ = a.evaluate("x = 10\n'y' in globals()", prev=None, ref='A')
    check('re-evaluated A does not see B', r['value'] == 'False', str(r['value']))
    r, _ = a.evaluate('x', prev='A', ref='C')
    check('chain from re-evaluated A', r['value'] == '10', str(r['value']))
    r, _ = a.evaluate('x, y', prev='B', ref='D')
    check('B snapshot intact', r['value'] == '(1, 2)', str(r['value']))
    r, _ = a.evaluate('def f():\n    return x * 2\nclass K:\n    pass', prev='A', ref='F')
    r, _ = a.evaluate('a1 = f()\nx = 7\nimport pickle\na1, f(), pickle.loads(pickle.dumps(f)) is f, '
                      'type(pickle.loads(pickle.dumps(K()))).__name__', prev='F', ref='G')
    check('function from earlier cell (same globals), pickle', r['value'] == "(20, 14, True, 'K')", str(r))
    r, _ = a.evaluate('print(1); None', prev='G', ref='H')
    check('value None -> null', r['status'] == 'ok' and r['value'] is None, str(r['value']))

    # errors
    r, _ = a.evaluate('def g(d):\n    return 1 / d\n', prev='G', ref='E1', file='cell E1')
    r, _ = a.evaluate('z = 5\ng(0)', prev='E1', ref='E2', file='cell E2')
    e = r['error'] or {}
    fr = [(f['file'], f['line'], f['name'], f['text']) for f in e.get('frames', [])]
    check('runtime error: frames are cells only', r['status'] == 'error' and e['kind'] == 'ZeroDivisionError'
          and fr == [('cell E2', 2, '<module>', 'g(0)'), ('cell E1', 2, 'g', 'return 1 / d')]
          and e['line'] == 2 and e['message'] == 'division by zero', str(fr))
    check('formatted traceback shows earlier cell source', 'File "cell E1", line 2, in g\n    return 1 / d' in
          e.get('formatted', '') and 'runyard' not in e.get('formatted', '') and
          e['formatted'].startswith('Traceback (most recent call last):\n  File "cell E2", line 2, in <module>'),
          repr(e.get('formatted')))
    r, _ = a.evaluate('z', prev='E2')
    check('errored evaluation is stored (chain from it)', r['value'] == '5', str(r['value']))
    r, _ = a.evaluate('x = 1\ny = (2 +\n', prev=None, file='cell S')
    e = r['error'] or {}
    check('syntax error line/column', e.get('kind') == 'SyntaxError' and e.get('line') == 2 and
          isinstance(e.get('column'), int) and e.get('frames') == [] and 'cell S' in e.get('formatted', ''),
          '%s:%s %r' % (e.get('line'), e.get('column'), e.get('formatted')))
    r, _ = a.evaluate('import json\n\njson.loads("{")', file='cell J')
    e = r['error'] or {}
    files = [f['file'] for f in e.get('frames', [])]
    check('library error: qualified kind, library frames kept', e.get('kind') == 'json.decoder.JSONDecodeError'
          and files[0] == 'cell J' and any('json' in f for f in files[1:]) and e.get('line') == 3, str(files))
    r, _ = a.evaluate('class E(Exception): pass\ntry:\n    1/0\nexcept Exception as x:\n    raise E("boom") from x')
    e = r['error'] or {}
    check('chained exception rendered', e.get('kind') == 'E' and 'direct cause' in e.get('formatted', '')
          and 'ZeroDivisionError' in e['formatted'] and e['formatted'].rstrip().endswith('E: boom'),
          repr(e.get('formatted')))
    r, _ = a.evaluate('class R:\n    def __repr__(self):\n        raise ValueError("bad repr")\nR()')
    e = r['error'] or {}
    check('repr raising is the error', r['status'] == 'error' and e.get('kind') == 'ValueError'
          and e.get('frames', [{}])[-1].get('name') == '__repr__', str(e.get('frames')))
    r, _ = a.evaluate("'x' * 3000000")
    check('value cut at 1,000,000 chars', r['status'] == 'ok' and len(r['value']) <= 1000000 and
          r['value'].startswith("'xxx"), str(len(r['value'] or '')))

    r, _ = a.evaluate('raise ValueError("m" * 5000000)')
    e = r['error'] or {}
    check('huge error message cut', r['status'] == 'error' and len(e['message']) <= 1000000 and
          len(e['formatted']) <= 1000000, '%d / %d chars' % (len(e['message']), len(e['formatted'])))
    r, _ = a.evaluate('def r(n): return r(n + 1)\nr(0)')
    e = r['error'] or {}
    check('deep recursion: frames bounded', e.get('kind') == 'RecursionError' and len(e['frames']) <= 200,
          '%d frames' % len(e.get('frames', [])))

    # unknown prev, forget, drop
    r, _ = a.evaluate('1', prev='nope')
    check('unknown prev -> RunyardError', r['status'] == 'error' and r['error']['kind'] == 'RunyardError'
          and 'nope' in r['error']['message'] and "'c'" in r['error']['message'], r['error']['message'])
    a.send(type='forget', container='c', ref='B')
    r, _ = a.evaluate('1', prev='B')
    r2, _ = a.evaluate('x', prev='A')
    check('forget frees one context only', r['status'] == 'error' and r2['value'] == '10')
    r, _ = a.evaluate('f()', prev='F', container='c2', ref='X')
    check('containers are separate', r['status'] == 'error' and r['error']['kind'] == 'RunyardError')
    r, _ = a.evaluate('q = 3', container='c2', ref='X')
    a.send(type='drop_container', container='c')
    r, _ = a.evaluate('1', prev='F')
    r2, _ = a.evaluate('q', prev='X', container='c2')
    check('drop_container', r['status'] == 'error' and r['error']['kind'] == 'RunyardError' and r2['value'] == '3')

    # output capture and order
    code = ('import os, subprocess, sys\nprint("a", flush=True)\nos.write(1, b"b\\n")\n'
            'subprocess.run(["echo", "c"])\nos.write(1, "\\u00e9".encode()[:1]); os.write(1, "\\u00e9".encode()[1:])\n'
            'print("d")\nprint("e", file=sys.stderr, flush=True)\nos.write(2, b"f\\n")\n'
            'subprocess.run(["sh", "-c", "echo g >&2"])\n"v"')
    r, o = a.evaluate(code)
    ref = r['ref']
    check('os.write / subprocess / split UTF-8 captured before result, in order',
          text(o) == 'a\nb\nc\n\u00e9d\n' and text(o, 'stderr') == 'e\nf\ng\n' and
          all(x['ref'] == ref for x in o) and r['value'] == "'v'",
          '%r %r' % (text(o), text(o, 'stderr')))
    check('no stray bytes on the protocol channel', a.stray == b'', repr(a.stray[:100]))

    # background thread prints between evaluations -> ref null
    r, o = a.evaluate('import threading, time\ndef bg():\n    time.sleep(0.2)\n    print("from thread")\n'
                      'threading.Thread(target=bg).start()')
    m = a.recv(3)
    check('background output between evaluations has ref null', m and m['type'] == 'output' and
          m['ref'] is None and m['text'] == 'from thread\n', str(m))

    # throughput
    best = None
    for _ in range(3):
        t = time.perf_counter()
        r, o = a.evaluate('for i in range(200000): print(i)')
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
        ok = text(o) == ''.join('%d\n' % i for i in range(200000)) and r['status'] == 'ok'
    check('200k prints: every byte in order', ok, 'best of 3: %.1f ms, %d messages, largest %d chars' % (
        best * 1e3, len(o), max(len(x['text']) for x in o)))
    check('200k prints under 0.15 s', best < 0.15, '%.1f ms' % (best * 1e3))
    t = time.perf_counter()
    r, o = a.evaluate('for i in range(1000000): print(i)')
    dt = time.perf_counter() - t
    check('1M prints: bounded messages', text(o).count('\n') == 1000000 and len(o) < 500 and
          max(len(x['text']) for x in o) <= 65536, '%.1f ms, %d messages' % (dt * 1e3, len(o)))
    t = time.perf_counter()
    r, o = a.evaluate('import os\nfor i in range(100000): os.write(1, b"%d\\n" % i)')
    dt = time.perf_counter() - t
    check('100k os.write lines: coalesced, in order', text(o) == ''.join('%d\n' % i for i in range(100000))
          and len(o) < 2000, '%.1f ms, %d messages' % (dt * 1e3, len(o)))
    # latency of output during a long evaluation
    a.n += 1
    a.send(type='evaluate', container='c', ref='late', prev=None, code='import time\nprint("now")\ntime.sleep(0.5)',
           file='cell late')
    t = time.perf_counter()
    m = a.recv(2)
    lat = time.perf_counter() - t
    a.wait_result('late')
    check('buffered print is at most ~50 ms late', m and m['type'] == 'output' and lat < 0.06, '%.1f ms' % (lat * 1e3))

    # round trip
    rts = []
    for i in range(300):
        t = time.perf_counter()
        a.send(type='evaluate', container='rt', ref='rt', prev=None, code='1+1', file='rt')
        r, _ = a.wait_result('rt')
        rts.append(time.perf_counter() - t)
    check('evaluate 1+1 round trip', r['value'] == '2', 'median %.0f us (min %.0f us)' % (
        statistics.median(rts) * 1e6, min(rts) * 1e6))

    # memory
    a.send(type='memory')
    m = a.recv(2)
    check('memory', m and m['type'] == 'memory' and m['total'] > 1e6 and m['parts'] == [['rss', m['total']]],
          '%.1f MiB' % (m['total'] / 2 ** 20) if m else '')

    # interrupts
    a.evaluate('keep = 42', ref='K')
    for name, code, limit in (('busy loop', 'n = 0\nwhile True:\n    n += 1', 0.1),
                              ('time.sleep(1000)', 'import time\ntime.sleep(1000)', 0.1),
                              # CPython's subprocess waits 0.25 s for the child after a KeyboardInterrupt
                              ('subprocess.run(sleep)', 'import subprocess\nsubprocess.run(["sleep", "1000"])', 0.4)):
        a.n += 1
        ref = 'int%d' % a.n
        a.send(type='evaluate', container='c', ref=ref, prev='K', code=code, file='cell I')
        time.sleep(0.3)
        t = time.perf_counter()
        a.send(type='interrupt')
        r, _ = a.wait_result(ref, 5)
        lat = time.perf_counter() - t
        e = (r or {}).get('error') or {}
        check('interrupt %s within %d ms' % (name, limit * 1e3), r and r['status'] == 'interrupted' and
              e['kind'] == 'KeyboardInterrupt' and e['frames'] and e['frames'][0]['file'] == 'cell I' and
              e['line'] is not None and lat < limit, '%.1f ms, line %s' % (lat * 1e3, e.get('line')))
    last = 'int%d' % a.n
    r, _ = a.evaluate('keep', prev='K')
    r2, _ = a.evaluate('keep', prev=last)
    check('contexts survive interrupts', r['value'] == '42' and r2['value'] == '42')
    # an interrupt sent right behind its evaluate still stops it; the one queued after it runs
    a.send(type='evaluate', container='c', ref='q1', prev='K', code='import time\ntime.sleep(1000)', file='q1')
    a.send(type='interrupt')
    a.send(type='evaluate', container='c', ref='q2', prev='K', code='keep + 1', file='q2')
    r, _ = a.wait_result('q1', 2)
    r2, _ = a.wait_result('q2', 2)
    check('interrupt right behind evaluate; next one unaffected', r and r['status'] == 'interrupted' and
          r2 and r2['value'] == '43', '%s / %s' % (r and r['status'], r2 and r2['value']))
    worst, lost = 0, 0
    for i in range(40):  # the SIGINT may land just before time.sleep starts: the agent must repeat it
        a.send(type='evaluate', container='c', ref='race', prev='K', code='import time\ntime.sleep(1000)', file='race')
        time.sleep(i * 0.0001)
        t = time.perf_counter()
        a.send(type='interrupt')
        r, _ = a.wait_result('race', 1)
        worst = max(worst, time.perf_counter() - t)
        if not r or r['status'] != 'interrupted':
            lost += 1
            a.send(type='interrupt')
            a.wait_result('race', 2)
    check('interrupt at every moment of start-up (40x)', lost == 0 and worst < 0.1,
          '%d lost, worst %.1f ms' % (lost, worst * 1e3))
    a.send(type='interrupt')  # idle interrupt is harmless
    time.sleep(0.05)
    r, _ = a.evaluate('import time\ntime.sleep(0.2)\n"slept"')
    check('idle interrupt is ignored', r['status'] == 'ok' and r['value'] == "'slept'", str(r))

    # malformed commands
    a.send_raw(b'\x1e{not json\n')
    a.send_raw(b'\x1e{"type":"frobnicate"}\n')
    a.send_raw(b'\x1e{"type":"evaluate","container":"c"}\n')
    a.send_raw(b'\x1e[1,2]\n')
    logs = [a.recv(2) for _ in range(4)]
    r, _ = a.evaluate('"still fine"')
    check('malformed commands -> log warn, carry on', all(m and m['type'] == 'log' and m['level'] == 'warn'
                                                           for m in logs) and r['value'] == "'still fine'",
          ' | '.join(m['message'][:40] for m in logs if m))

    # idle: no thread wakes up
    pid = a.p.pid

    def switches():
        n = 0
        for t in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/status' % (pid, t)) as f:
                for line in f:
                    if 'ctxt_switches' in line:
                        n += int(line.split()[1])
        return n
    time.sleep(0.2)
    s0 = switches()
    time.sleep(1.0)
    s1 = switches()
    check('idle: no wake-ups', s1 - s0 == 0, '%d context switches in 1 s, %d threads' % (
        s1 - s0, len(os.listdir('/proc/%d/task' % pid))))
    a.close()

    # idle RSS of a fresh agent after one evaluation
    a = Agent(py)
    a.evaluate('1')
    a.send(type='memory')
    m = a.recv(2)
    check('idle RSS', m['total'] < 15 * 2 ** 20, '%.1f MiB' % (m['total'] / 2 ** 20))
    a.close()

    # lifetime
    for how in ('stop', 'EOF', 'SIGTERM', 'SIGHUP'):
        a = Agent(py)
        r, _ = a.evaluate('import subprocess\np = subprocess.Popen(["sleep", "1000"])\np.pid')
        child = int(r['value'])
        if how in ('SIGTERM', 'SIGHUP'):  # while the main thread is stuck in a blocking call
            a.send(type='evaluate', container='c', ref='z', prev=None, code='import time\ntime.sleep(1000)', file='z')
            time.sleep(0.2)
        t = time.perf_counter()
        if how == 'stop':
            a.send(type='stop')
        elif how == 'EOF':
            a.p.stdin.close()
        else:
            os.kill(a.p.pid, getattr(signal, how))
        rc = a.p.wait(5)
        ok = gone_within([child], 2)
        check('%s kills agent and its subprocess' % how, ok and rc == -9, 'rc %s, %.1f ms' % (
            rc, (time.perf_counter() - t) * 1e3))
        a.close()

    # the manager SIGKILLed: stdin EOF and PR_SET_PDEATHSIG(SIGTERM), as the manager sets it up
    r = subprocess.run([sys.executable, '-c', MANAGER, py, AGENT], stdout=subprocess.PIPE, timeout=30)
    agent_pid, child, gone_ms = r.stdout.split()
    check('manager SIGKILLed -> agent and grandchild gone', gone_ms != b'-1', '%s ms' % gone_ms.decode())

    a = Agent(py)
    a.send(type='evaluate', container='c', ref='x', prev=None, code='print("bye")\nimport sys\nsys.exit(3)', file='x')
    rc = a.p.wait(5)
    outs = []
    while True:
        m = a.recv(1)
        if m is None:
            break
        outs.append(m)
    check('sys.exit(3) exits 3 after delivering output', rc == 3 and text(outs) == 'bye\n' and
          not any(m['type'] == 'result' for m in outs), 'rc %s %s' % (rc, outs))
    a.close()

    a = Agent(py)
    a.send(type='evaluate', container='c', ref='x', prev=None, code='import os\nos._exit(5)', file='x')
    check('os._exit(5)', a.p.wait(5) == 5)
    a.close()

    a = Agent(py)
    a.send(type='evaluate', container='c', ref='x', prev=None, code='import ctypes\nctypes.string_at(0)', file='x')
    rc = a.p.wait(5)
    err = a.p.stderr.read().decode(errors='replace')
    check('segfault: Python traceback on the real stderr', rc == -signal.SIGSEGV and 'File "x", line 2' in err,
          'rc %s, %r' % (rc, err[-120:]))
    a.close()


# A stand-in manager: starts the agent with a parent-death signal and its own process group, has it spawn a
# grandchild and block in time.sleep, then gets SIGKILLed. Prints agent pid, grandchild pid and the ms until
# both are gone (-1: not within 2 s).
MANAGER = r"""
import ctypes, json, os, signal, subprocess, sys, time
py, agent = sys.argv[1], sys.argv[2]
r, w = os.pipe()
mgr = os.fork()
if mgr == 0:
    os.close(r)
    libc = ctypes.CDLL(None)
    def pre():
        os.setpgid(0, 0)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    p = subprocess.Popen([py, '-c', open(agent).read(), 'n', 't'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, preexec_fn=pre)
    p.stdout.readline()
    code = 'import subprocess, time\nprint(subprocess.Popen(["sleep", "1000"]).pid, flush=True)\ntime.sleep(1000)'
    p.stdin.write(b'\x1e' + json.dumps({'type': 'evaluate', 'container': 'c', 'ref': 'r', 'prev': None,
                                        'file': 'x', 'code': code}).encode() + b'\n')
    p.stdin.flush()
    child = json.loads(p.stdout.readline()[1:])['text'].strip()
    os.write(w, ('%d %s' % (p.pid, child)).encode())
    time.sleep(1000)
os.close(w)
pids = [int(x) for x in os.read(r, 100).split()]
time.sleep(0.1)

def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False

t = time.perf_counter()
os.kill(mgr, signal.SIGKILL)
os.waitpid(mgr, 0)
while any(alive(x) for x in pids) and time.perf_counter() < t + 2:
    time.sleep(0.0005)
print(pids[0], pids[1], -1 if any(alive(x) for x in pids) else '%.1f' % ((time.perf_counter() - t) * 1e3))
"""


def bench_start(py, n):
    base, hello, first = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([py, '-c', 'pass'])
        base.append(time.perf_counter() - t)
        a = Agent(py)
        hello.append(a.t_hello)
        a.send(type='evaluate', container='c', ref='r', prev=None, code='1+1', file='x')
        a.wait_result('r')
        first.append(time.perf_counter() - a.t0)
        a.close()
    b, h, f = statistics.median(base), statistics.median(hello), statistics.median(first)
    print('%s: `-c pass` %.2f ms | start->hello %.2f ms (ratio %.3f) | start->first 1+1 result %.2f ms (ratio %.3f)'
          % (py, b * 1e3, h * 1e3, h / b, f * 1e3, f / b))


if __name__ == '__main__':
    args = sys.argv[1:]
    if args and args[0] == '--bench-start':
        n = int(args[1]) if len(args) > 1 and args[1].isdigit() else 50
        for py in [x for x in args[1:] if not x.isdigit()] or [sys.executable]:
            bench_start(py, n)
        sys.exit(0)
    for py in args or [sys.executable]:
        print('== %s' % py)
        run_checks(py)
    print('%d failed: %s' % (len(FAILS), ', '.join(FAILS)) if FAILS else 'all passed')
    sys.exit(1 if FAILS else 0)
