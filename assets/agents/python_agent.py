# Runyard Python runtime agent: speaks docs/protocol.md (version 2) with the manager.
# Started as `python3 -c <this source> <node name> <init token>`; stdlib only, Python 3.8+.
# This whole source is compiled at every start, so it stays compact.
import os, sys, io

# --- Capture first (a few syscalls), then hello as early as possible. ---
try:
    sys.stdout.flush(); sys.stderr.flush()  # start-up prints leave as stray bytes, before hello
except Exception:
    pass
PROTO = os.dup(1)  # protocol channel; os.dup gives close-on-exec fds (PEP 446)
CMD = os.dup(0)    # commands
ERR0 = os.dup(2)   # the manager's stderr: only for fatal errors (a crash dump must not die with our pipe)
_n = os.open(os.devnull, os.O_RDONLY); os.dup2(_n, 0); os.close(_n)
# Runyard's supervisor hands us output pipes at fds 3/4 whose read ends the manager holds, so output written
# just before a crash is never lost; we mark where each evaluation's output begins and ends on them. Started
# some other way (behind ssh), we make our own pipes and forward what they carry as output frames.
CAPK = os.environ.pop('RUNYARD_CAPTURE', '')
if CAPK:
    os.dup2(3, 1); os.dup2(4, 2); os.close(3); os.close(4)
    CAP1 = os.dup(1); CAP2 = os.dup(2)  # for markers: user code may point fds 1/2 elsewhere
    OUT_R = ERR_R = None
else:
    OUT_R, _w1 = os.pipe(); ERR_R, _w2 = os.pipe()
    os.dup2(_w1, 1); os.dup2(_w2, 2); os.close(_w1); os.close(_w2)  # fds 1/2 are inherited by subprocesses
# The manager makes us a process-group leader so that killpg takes what user code spawned. Behind ssh or
# kubectl we may not be one: become one (not at a terminal, where a background group stops on reading).
if os.getpgrp() != os.getpid() and not os.isatty(CMD):
    try:
        os.setpgid(0, 0)
    except OSError:
        pass


def _q(s):  # tiny JSON string encoder for the hello: json is not imported yet
    return '"%s"' % ''.join(c if c >= ' ' and c not in '"\\' else '\\u%04x' % ord(c) for c in s)


def write_all(b):
    b = memoryview(b)
    while b:
        b = b[os.write(PROTO, b):]


_a = sys.argv
write_all(('\x1e{"type":"hello","token":%s,"protocol":2,"pid":%d,"language":"python",'
           '"language_version":%s,"executable":%s,"node":%s}\n' % (
               _q(_a[-1] if len(_a) > 1 else ''), os.getpid(), _q(sys.version.split()[0]),
               _q(sys.executable or ''), _q(_a[1] if len(_a) > 2 else ''))).encode('utf-8', 'replace'))
sys.argv = ['']

# Everything else is compiled only once hello is out (compiling it up front costs 4-6 ms, a third of
# the interpreter's own start-up), and block by block: one big compile leaves ~1 MB more RSS behind.
# So keep top-level blocks apart by exactly two blank lines, and never put two blank lines inside one.
_B = r'''
# C modules only: json, threading, ast and signal.py would cost RSS and time.
import _thread, _signal, _json, _ast, select, time, codecs, faulthandler
from _queue import SimpleQueue
faulthandler.enable(ERR0, all_threads=True)  # a segfault in user C code leaves a trace in the node-down report
G = globals()  # frames whose f_globals is G are the agent's own: dropped from tracebacks
AGENT_MODULE = sys.modules['__main__']  # keep our globals alive once __main__ points at a container
MAIN = _thread.get_ident()
ESC = _json.encode_basestring
WL = _thread.allocate_lock()   # one writer at a time on the protocol fd
OL = _thread.allocate_lock()   # held while reading a capture pipe and forwarding what was read
FM = _thread.allocate_lock()   # guards running/seq/intr_for/fl_awake across main, reader and flusher
GO = _thread.allocate_lock(); GO.acquire()  # released to wake the flusher
Q = SimpleQueue()              # ordered commands for the main thread
running = in_user = fl_awake = False
seq = nq = 0       # evaluations started / queued: an interrupt names its target by number
intr_for = None    # number of the evaluation an interrupt is aimed at
kick = None        # (evaluation number, deadline) while a SIGINT sent to it may still need repeating
cur = 'null'       # JSON of the ref that output read now belongs to
CHUNK = 65536


def die(*_):
    try:
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), _signal.SIGKILL)  # takes what user code spawned, and us
    finally:
        os._exit(1)


def send(b):
    try:
        with WL:
            write_all(b)
    except OSError:  # manager gone
        die()


def enc(o):
    t = type(o)
    if o is None:
        return 'null'
    if t is str:
        return ESC(o)
    if t is bool:
        return 'true' if o else 'false'
    if t is int:
        return str(o)
    if t is dict:
        return '{%s}' % ','.join('%s:%s' % (ESC(k), enc(v)) for k, v in o.items())
    if t is list or t is tuple:
        return '[%s]' % ','.join(map(enc, o))
    return ESC(str(o))


def msg(d):
    send(('\x1e%s\n' % enc(d)).encode('utf-8', 'replace'))


def log(level, text):
    msg({'type': 'log', 'level': level, 'message': text})


# --- Output capture: buffered text streams over fds 1/2, pipes forwarded by one reader thread. ---
def _stream(fd):  # line-buffered while idle (background prints show up), block-buffered while evaluating
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, 'w', closefd=False), CHUNK),
                            'utf-8', 'backslashreplace', line_buffering=True)


sys.stdout = sys.__stdout__ = O1 = _stream(1)
sys.stderr = sys.__stderr__ = O2 = _stream(2)
PIPES = {} if CAPK else {OUT_R: b'"stdout"', ERR_R: b'"stderr"'}
MARK = ('\x1e' + CAPK).encode()
DEC = {}
for _fd in PIPES:
    os.set_blocking(_fd, False)  # the main thread drains them too; nobody may block on an empty pipe
    DEC[_fd] = codecs.getincrementaldecoder('utf-8')('replace')  # keeps a split multibyte char
OPEN = list(PIPES)


def forward(fd):
    """Read what is there (<= 64 KiB) and send it; caller holds OL. Returns bytes read."""
    try:
        b = os.read(fd, CHUNK)
    except BlockingIOError:
        return 0
    if not b:  # every write end closed (user closed fd 1/2): stop watching it
        if fd in OPEN:
            OPEN.remove(fd)
        return 0
    t = DEC[fd].decode(b)
    if t:
        send(b'\x1e{"type":"output","ref":%s,"stream":%s,"text":%s}\n' % (
            cur.encode(), PIPES[fd], ESC(t).encode('utf-8', 'replace')))
    return len(b)


def drain():  # caller holds OL; bounded so that an endless background writer cannot stall us
    for fd in list(OPEN):
        for _ in range(256):
            if forward(fd) < CHUNK:
                break


def mark(kind, ref):  # on the manager's pipes: where an evaluation's output begins (b) or ends (e)
    b = MARK + kind + ESC(ref).encode('utf-8', 'replace') + b'\n'
    try:
        os.write(CAP1, b)
        os.write(CAP2, b)
    except OSError:  # manager gone
        die()


def pump():
    while True:
        try:
            ready = select.select(OPEN, (), ())[0]
            with OL:
                n = max([forward(fd) for fd in ready] or [0])
            if 0 < n < 4096:  # a trickle (e.g. a line per os.write): let it pile up into bigger messages.
                time.sleep(0.004)  # Not after big reads: a writer may be blocked on the full pipe.
        except Exception as e:
            log('error', 'output reader: %r' % (e,))
            time.sleep(0.1)


def flush_all():
    for s in (sys.stdout, sys.stderr, O1, O2):
        try:
            s.flush()
        except Exception:
            pass


def flusher():  # sleeps on GO while idle: no periodic wake-ups
    global fl_awake
    while True:
        GO.acquire()
        while True:
            time.sleep(0.025)
            flush_all()
            with FM:
                if not running:
                    fl_awake = False
                    break


# --- Commands: read by a thread so that interrupt/memory/stop act at once. ---
class _JSONCtx:  # what _json's C scanner reads off json.JSONDecoder
    strict = False
    object_hook = object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float


SCAN = _json.make_scanner(_JSONCtx)
NEED = {'evaluate': ('container', 'ref', 'code', 'file'), 'forget': ('container', 'ref'),
        'drop_container': ('container',)}
PAGE = os.sysconf('SC_PAGE_SIZE')


def rss():
    try:
        with open('/proc/self/statm', 'rb') as f:
            return int(f.read().split()[1]) * PAGE
    except Exception:
        import resource
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == 'darwin' else r * 1024


def command(line):
    global intr_for, nq, kick
    junk, _, line = line.rpartition(b'\x1e')
    line = line.strip()
    if junk.strip():
        log('warn', 'bytes outside a frame: %r' % junk[:200])
    if not line:
        return
    try:
        s = line.decode('utf-8')
        m, end = SCAN(s, 0)
        if end != len(s):
            raise ValueError('extra data at %d' % end)
    except Exception as e:
        return log('warn', 'malformed command (%s): %r' % (e, line[:200]))
    t = m.get('type') if type(m) is dict else None
    if t == 'interrupt':  # aimed at the running evaluation, or the next one if it is queued but not started
        with FM:  # decided under FM: main can't start an evaluation in between and miss the mark
            busy = running
            if busy or nq > seq:
                intr_for = seq if busy else seq + 1
        if busy:  # to the main thread: a blocking call there fails with EINTR and the handler runs
            kick = (intr_for, time.monotonic() + 2)
            _signal.pthread_kill(MAIN, _signal.SIGINT)
    elif t == 'memory':
        n = rss()
        msg({'type': 'memory', 'total': n, 'parts': [['rss', n]]})
    elif t == 'stop':
        die()
    elif t in NEED:
        bad = [k for k in NEED[t] if type(m.get(k)) is not str]
        if t == 'evaluate' and ('prev' not in m or not (m['prev'] is None or type(m['prev']) is str)):
            bad.append('prev')
        if bad:
            return log('warn', 'malformed %s command, missing or invalid: %s' % (t, ', '.join(bad)))
        if t == 'evaluate':
            nq += 1
        Q.put(m)
    else:
        log('warn', 'unknown command: %r' % line[:200])


def rekick():
    """A SIGINT that lands just before the main thread enters a blocking call (time.sleep, ...) is only
    seen when that call ends: until the handler has taken it, repeat it every 20 ms (for 2 s at most)."""
    global kick
    with FM:
        again = running and intr_for == kick[0] == seq
    if again and time.monotonic() < kick[1]:
        _signal.pthread_kill(MAIN, _signal.SIGINT)
    else:
        kick = None


def reader():
    pending = []
    while True:
        try:
            ready = select.select([CMD, WAKE_R], (), (), None if kick is None else 0.02)[0]
            if not ready:
                rekick()
                continue
            if WAKE_R in ready:  # the C-level signal handler wrote the signal number here
                for s in os.read(WAKE_R, 512):
                    if s in (_signal.SIGTERM, _signal.SIGHUP):
                        die()
            if CMD not in ready:
                continue
            d = os.read(CMD, CHUNK)
        except Exception:
            die()
        if not d:
            die()  # EOF: the manager is gone
        if b'\n' not in d:
            pending.append(d)
            continue
        pending.append(d)
        lines = b''.join(pending).split(b'\n')
        pending = [lines.pop()]
        for line in lines:
            try:
                command(line)
            except Exception as e:
                log('error', 'command reader: %r' % (e,))


# --- Signals. Python-level handlers run only in the main thread between bytecodes, so SIGTERM/SIGHUP
# also go through the wakeup fd, which the C handler writes at once and the reader thread watches. ---
def on_sigint(*_):
    global intr_for
    t = intr_for
    if running and not in_user and t == seq:
        return  # aimed at an evaluation whose user code has not started yet: run() raises it there
    intr_for = None
    if in_user and (t is None or t == seq):  # None: a SIGINT from elsewhere (kill, os.kill in user code)
        raise KeyboardInterrupt  # only ever inside user code; the agent's own loop can't be broken


WAKE_R, WAKE_W = os.pipe()
os.set_blocking(WAKE_W, False)
HANDLERS = {_signal.SIGINT: on_sigint, _signal.SIGTERM: die, _signal.SIGHUP: die}
for _s in HANDLERS:
    _signal.signal(_s, HANDLERS[_s])
_signal.set_wakeup_fd(WAKE_W, warn_on_full_buffer=False)

# --- Evaluation (Livebook semantics): one __main__ module per container, snapshots per ref. ---
MODS = {}    # container -> module whose __dict__ is the namespace
SNAP = {}    # (container, ref) -> shallow copy of the namespace it left
FILES = {}   # (container, ref) -> file name its code was compiled under
SRC = {}     # file name -> linecache entry
FRESH = dict(vars(type(sys)('__main__')), __builtins__=sys.modules['builtins'])


def sync_linecache():  # tracebacks and inspect read sources from linecache, if it is loaded
    lc = sys.modules.get('linecache')
    if lc is not None:
        lc.cache.update(SRC)


class LinecacheHook:
    """Hands the cells' sources to linecache as soon as user code first imports it (traceback, inspect,
    warnings): importing it up front would cost ~1 MB and a few ms on 3.8-3.12."""
    def find_spec(self, name, path=None, target=None):
        if name != 'linecache':
            return None
        sys.meta_path.remove(self)
        for f in sys.meta_path:
            spec = f.find_spec(name, path, target) if hasattr(f, 'find_spec') else None
            if spec is not None:
                spec.loader = LinecacheLoader(spec.loader)
                return spec


class LinecacheLoader:
    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        self.real.exec_module(module)
        module.cache.update(SRC)


if 'linecache' not in sys.modules:
    sys.meta_path.insert(0, LinecacheHook())


def forget_files(keys):
    live = set(FILES.values())
    lc = sys.modules.get('linecache')
    for f in set(keys) - live:
        SRC.pop(f, None)
        if lc is not None:
            lc.cache.pop(f, None)


def strip(e, seen):  # unlink the agent's frames from the tracebacks of e and its chain
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        keep, tb = [], e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_globals is not G:
                keep.append(tb)
            tb = tb.tb_next
        for a, b in zip(keep, keep[1:] + [None]):
            a.tb_next = b
        e.__traceback__ = keep[0] if keep else None
        strip(e.__cause__, seen)
        e = e.__context__


def cut(text, limit=1000000):  # every frame must stay well under the manager's 16 MiB
    if len(text) <= limit:
        return text
    note = '\n... [cut: %d characters in all]' % len(text)
    return text[:limit - len(note)] + note


def describe(e, file):
    import traceback
    sync_linecache()
    strip(e, set())
    t = type(e)
    kind = t.__qualname__ if t.__module__ in ('builtins', '__main__') else '%s.%s' % (t.__module__, t.__qualname__)
    try:
        text = str(e)
    except BaseException:
        text = '<exception str() failed>'
    tb = e.__traceback__
    fs = traceback.extract_tb(tb)
    frames = [{'file': f.filename, 'line': f.lineno, 'name': f.name,
               'text': cut((f.line or '').strip(), 1000) or None} for f in fs]
    if len(frames) > 200:  # deep recursion: keep both ends
        frames = frames[:100] + frames[-100:]
    line = col = None
    if isinstance(e, SyntaxError) and e.filename == file:
        line, col = e.lineno, e.offset
    else:
        for f in reversed(fs):
            if f.filename == file:
                line = f.lineno
                break
    try:
        formatted = ''.join(traceback.format_exception(t, e, tb))
    except BaseException:
        formatted = '%s: %s\n' % (kind, text)
    return {'kind': kind, 'message': cut(text), 'line': line, 'column': col, 'frames': frames,
            'formatted': cut(formatted)}


def run(code, file, ns):
    """Compile and run one cell; returns (status, value, error). SystemExit passes through."""
    global in_user, intr_for
    try:
        tree = compile(code, file, 'exec', _ast.PyCF_ONLY_AST, True)
        body = tree.body
        last = body.pop().value if body and isinstance(body[-1], _ast.Expr) else None
        mc = compile(_ast.Module(body, []), file, 'exec', 0, True) if body else None
        ec = None if last is None else compile(_ast.Expression(last), file, 'eval', 0, True)
        value = None
        in_user = True
        try:
            if intr_for == seq:
                intr_for = None
                raise KeyboardInterrupt
            if mc is not None:
                exec(mc, ns)
            if ec is not None:
                v = eval(ec, ns)
                if v is not None:
                    value = repr(v)  # may run user code: interruptible, errors reported
        finally:
            in_user = False
        return 'ok', None if value is None else cut(value), None
    except SystemExit:
        in_user = False
        raise
    except BaseException as e:
        in_user = False
        return 'interrupted' if isinstance(e, KeyboardInterrupt) else 'error', None, describe(e, file)


def begin(ref):
    global cur, running, fl_awake, seq
    with FM:
        seq += 1
        running = True
        if not fl_awake:
            fl_awake = True
            GO.release()
    if CAPK:
        flush_all()  # a partial line from between evaluations is not this one's
        mark(b'b', ref)
    else:
        with OL:
            drain()  # output from between evaluations keeps ref null
            cur = enc(ref)
    for s in (O1, O2):
        try:
            s.reconfigure(line_buffering=False)
        except Exception:  # closed by user code
            pass
    old = _signal.set_wakeup_fd(WAKE_W, warn_on_full_buffer=False)  # asyncio may have reset it to -1
    if old not in (-1, WAKE_W):  # user code (an event loop's signal handlers) owns it now: leave theirs
        _signal.set_wakeup_fd(old)


def finish():  # flush Python buffers; the caller then drains the pipes under OL so nothing slips after
    global running
    flush_all()
    for s in (O1, O2):
        try:
            s.reconfigure(line_buffering=True)
        except Exception:
            pass
    with FM:
        running = False
    for n, h in HANDLERS.items():  # between evaluations these signals are the agent's, whatever a cell set
        if _signal.getsignal(n) is not h:
            _signal.signal(n, h)


def answer(ref, result):  # after finish(): the result goes after every byte the evaluation wrote
    global cur
    if CAPK:
        mark(b'e', ref)
        msg(result)
    else:
        with OL:
            drain()
            cur = 'null'
            msg(result)


def rerr(text):
    return {'kind': 'RunyardError', 'message': text, 'line': None, 'column': None, 'frames': [],
            'formatted': 'RunyardError: %s\n' % text}


def evaluate(m):
    global cur
    t0 = time.perf_counter()
    c, ref, prev, file, code = m['container'], m['ref'], m['prev'], m['file'], m['code']
    begin(ref)
    pc = m.get('prev_container') or c  # a section's first cell chains from the section above
    snap = FRESH if prev is None else SNAP.get((pc, prev))
    if snap is None:
        status, value, err = 'error', None, rerr('no stored context for evaluation %r in container %r '
                                                 '(never evaluated, or forgotten)' % (prev, pc))
    else:
        mod = MODS.get(c)
        if mod is None:
            mod = MODS[c] = type(sys)('__main__')
        ns = mod.__dict__
        ns.clear()
        ns.update(snap)
        sys.modules['__main__'] = mod  # pickle, doctest, ... look for __main__ there
        lines = code.splitlines(True)
        if lines and not lines[-1].endswith('\n'):
            lines[-1] += '\n'
        SRC[file] = (len(code), None, lines, file)
        sync_linecache()
        try:
            status, value, err = run(code, file, ns)
        except SystemExit as e:  # user code ends the runtime: deliver its output, then exit with its code
            rc = e.code
            if rc is not None and not isinstance(rc, int):
                try:
                    sys.stderr.write('%s\n' % (rc,))
                except Exception:
                    pass
                rc = 1
            finish()
            if not CAPK:
                with OL:
                    drain()
            os._exit((rc or 0) & 0xff)
        except BaseException as e:  # an agent bug: still end the evaluation properly
            status, value, err = 'error', None, rerr('agent error: %r' % (e,))
        SNAP[(c, ref)] = ns.copy()  # in every case, so a later cell can chain from an errored one
        FILES[(c, ref)] = file
        sync_linecache()  # the cell may have imported linecache (traceback, inspect): later cells find sources
    finish()
    answer(ref, {'type': 'result', 'ref': ref, 'status': status, 'error': err,
                 'value': None if value is None else {'data': {'text/plain': value}},
                 'duration_us': int((time.perf_counter() - t0) * 1e6)})


def main():
    global cur
    while True:
        m = {}
        try:
            m = Q.get()
            t = m['type']
            if t == 'evaluate':
                evaluate(m)
            elif t == 'forget':
                k = (m['container'], m['ref'])
                SNAP.pop(k, None)
                forget_files([FILES.pop(k)] if k in FILES else [])
            else:
                c = m['container']
                MODS.pop(c, None)
                for k in [k for k in SNAP if k[0] == c]:
                    del SNAP[k]
                forget_files([FILES.pop(k) for k in [k for k in FILES if k[0] == c]])
        except BaseException as e:  # an agent bug must not end the runtime, nor leave a result missing
            log('error', 'agent error on %s: %r' % (m.get('type'), e))
            if m.get('type') == 'evaluate':
                finish()
                answer(m['ref'], {'type': 'result', 'ref': m['ref'], 'status': 'error', 'value': None,
                                  'duration_us': 0, 'error': rerr('agent error: %r' % (e,))})


for _f in (flusher, reader) if CAPK else (pump, flusher, reader):
    _thread.start_new_thread(_f, ())
main()
'''
_n = sys._getframe().f_lineno - 2 - _B.count('\n')  # padding so that agent line numbers are this file's
for _b in _B.split('\n\n\n'):
    exec(compile('\n' * _n + _b, '<runyard-agent>', 'exec'))
    _n += _b.count('\n') + 3
