# Runyard Python runtime agent: speaks docs/protocol.md (version 4) with the manager.
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


W = os.write  # the real one: os.write itself becomes write() below, which flushes print()'s buffers first


def write_all(b):
    b = memoryview(b)
    while b:
        b = b[W(PROTO, b):]


_a = sys.argv
write_all(('\x1e{"type":"hello","token":%s,"protocol":4,"pid":%d,"language":"python",'
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
INPUT = SimpleQueue()          # answers to input(), from the reader thread
ref_now = None                 # the running evaluation's ref, for input requests
running = in_user = fl_awake = False
seq = nq = 0       # evaluations started / queued: an interrupt names its target by number
intr_for = None    # number of the evaluation an interrupt is aimed at
kick = None        # (evaluation number, deadline) while a SIGINT sent to it may still need repeating
cur = 'null'       # JSON of the ref that output read now belongs to
CHILD = 0          # process group of the shell command a cell runs (IPython syntax), or 0
hold = 0           # 1 while a shell command starts: an interrupt then waits (2) until its pid is known
CHUNK = 65536


def die(*_):
    try:
        if CHILD:  # a cell's shell command (! or %%bash) runs in a process group of its own
            try:
                os.killpg(CHILD, _signal.SIGKILL)
            except OSError:
                pass
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


class RawJSON(str):  # JSON text that enc() sends as it is (a bundle the display block encoded)
    pass


def enc(o):
    t = type(o)
    if t is RawJSON:
        return o
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
        W(CAP1, b)
        W(CAP2, b)
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


# Output in program order: print() fills the buffers above, while os.write(1, ...), os.system and
# subprocesses write to fds 1/2 at once. Each of those flushes the buffers first, so the pipes carry the
# bytes in the order the program wrote them, and a print() still costs no system call of its own.
# (ipykernel gets the same order by merging what its fds carry into its stream buffer, in process.)
FLUSHING = []  # not empty while flushing: a user stream whose flush() writes to fd 1 must not recurse


def flush_first():
    if not FLUSHING:
        FLUSHING.append(1)
        try:
            flush_all()
        finally:
            FLUSHING.clear()


def flushing(f):
    def call(*a, **k):
        flush_first()
        return f(*a, **k)
    call.__name__, call.__qualname__, call.__doc__ = f.__name__, f.__qualname__, f.__doc__
    return call


def write(fd, data, /):
    if fd == 1 or fd == 2:
        flush_first()
    return W(fd, data)


write.__doc__ = W.__doc__
os.write = write
for _f in ('system', 'posix_spawn', 'posix_spawnp'):
    if hasattr(os, _f):
        setattr(os, _f, flushing(getattr(os, _f)))
os.register_at_fork(before=flush_first)  # os.fork, pty.fork, multiprocessing's fork


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
    elif t == 'input_reply':  # the line the user typed for the pending input(), or None: end of input
        v = m.get('value')
        INPUT.put(v if type(v) is str else None)
    elif t == 'complete' or t == 'inspect':
        query(m)
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


# --- Completion and documentation (complete / inspect) are answered by a helper thread: never queued behind a
# running evaluation, and never keeping this reader from an interrupt. Its code is the _C block, which that thread
# compiles at the first request, into a namespace of its own: start-up and evaluations pay nothing for it. ---
ASKED = SimpleQueue()
helper = None


def query(m):
    global helper
    ASKED.put(m)
    if helper is None:
        helper = _thread.start_new_thread(assist, ())


def assist():
    ns = dict(G)  # the agent's names, read-only from there on; _C's own do not clobber G's
    try:
        n = _CN
        for b in unpack(_C).split('\n\n\n'):
            exec(compile('\n' * n + b, '<runyard-agent>', 'exec'), ns)
            n += b.count('\n') + 3
    except BaseException as e:  # an agent bug: the manager answers every request empty after its timeout
        return log('error', 'completion is not available: %r' % (e,))
    ns['serve']()


# --- Signals. Python-level handlers run only in the main thread between bytecodes, so SIGTERM/SIGHUP
# also go through the wakeup fd, which the C handler writes at once and the reader thread watches. ---
def on_sigint(*_):
    global intr_for, hold
    t = intr_for
    if running and not in_user and t == seq:
        return  # aimed at an evaluation whose user code has not started yet: run() raises it there
    intr_for = None
    if in_user and (t is None or t == seq):  # None: a SIGINT from elsewhere (kill, os.kill in user code)
        if hold:  # spawn() raises it once it knows what to stop
            hold = 2
            return
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


# --- Rich outputs (display(), rich values, matplotlib, IPython): only these stubs are compiled at start; the
# machinery is the _R source below, compiled on first need so that start-up and 1+1 pay nothing for it. ---
PLAIN = {int, float, bool, complex, str, bytes, bytearray, range}  # repr only, never a rich repr
BOXES = {dict, list, tuple, set, frozenset}  # repr, or pprint when longer than the width
OPTS = {}     # the running evaluation's display options
WIDTH = 100
MPL_ON = False  # matplotlib was imported with our backend selected
RICH = _thread.allocate_lock()
rich_ready = False
magic_ready = False


def unpack(block):
    """A block compiled on first need, as written (it starts with a newline) or as Runyard sends it: zlib-compressed
    and base64-encoded, with its line count kept (src/runtime/python.rs: every character of `-c` costs memory)."""
    if block[:1] == '\n':
        return block
    import zlib, binascii
    return zlib.decompress(binascii.a2b_base64(block)).decode('utf-8')


def rich():
    global rich_ready
    with RICH:
        if not rich_ready:
            n = _RN
            for b in unpack(_R).split('\n\n\n'):
                exec(compile('\n' * n + b, '<runyard-agent>', 'exec'), G)
                n += b.count('\n') + 3
            rich_ready = True


def display(*objs, **kw):
    """Shows objects as rich outputs of the running cell, in their place among its printed text
    (IPython's display: include, exclude, metadata, display_id, raw, update)."""
    rich()
    return show_objects(objs, **kw)


def update_display(obj, *, display_id, **kw):
    """Replaces every output shown with this display_id by obj."""
    rich()
    return show_objects((obj,), display_id=display_id, update=True, **kw)


sys.modules['builtins'].display = display  # in every container, as IPython has it
sys.modules['builtins'].update_display = update_display


class ImportHook:
    """Runs agent code around the first import of matplotlib (our backend) and of IPython's display
    functions (routed to ours), without importing them ourselves."""
    def find_spec(self, name, path=None, target=None):
        hooks = HOOKS.get(name)
        if hooks is None:
            return None
        for f in sys.meta_path:
            spec = f.find_spec(name, path, target) if f is not self and hasattr(f, 'find_spec') else None
            if spec is not None:
                if spec.loader is not None:
                    del HOOKS[name]
                    spec.loader = HookLoader(spec.loader, hooks)
                return spec


class HookLoader(LinecacheLoader):
    def __init__(self, real, hooks):
        self.real, self.hooks = real, hooks

    def exec_module(self, module):
        before, after = self.hooks
        state = before() if before else None
        ok = False
        try:
            self.real.exec_module(module)
            ok = True
        finally:
            after(module, ok, state)


def mpl_before():
    """matplotlib reads MPLBACKEND once, when imported. Set only around that import, so that a child Python
    (subprocess) never inherits a module:// backend it cannot import; a user's own MPLBACKEND wins."""
    old = os.environ.get('MPLBACKEND')
    if not old:
        os.environ['MPLBACKEND'] = 'module://runyard_matplotlib'
    return old


def mpl_after(module, ok, old):
    global MPL_ON
    if old:
        return
    if old is None:
        os.environ.pop('MPLBACKEND', None)
    else:
        os.environ['MPLBACKEND'] = old
    if ok:
        rich()
        mpl_install()
        MPL_ON = True


def subprocess_after(module, ok, _):  # subprocess starts every child through fork_exec: flush before
    if ok:
        module.fork_exec = flushing(module.fork_exec)


def ipython_after(module, ok, _):
    if ok:
        rich()
        ipython_install(module)


HOOKS = {k: v for k, v in (('matplotlib', (mpl_before, mpl_after)),
                           ('IPython.core.display_functions', (None, ipython_after)),
                           ('_posixsubprocess', (None, subprocess_after))) if k not in sys.modules}
sys.meta_path.insert(0, ImportHook())


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


def silenced(code, node):
    """IPython's habit: a `;` after the last expression (`plt.plot(x);`) hides its value. Only closing
    parentheses (not part of the node), `;`, blanks and comments can follow it; AST columns count UTF-8 bytes."""
    lines = code.split('\n')
    tail = [lines[node.end_lineno - 1].encode('utf-8')[node.end_col_offset:].decode('utf-8', 'replace')]
    tail += lines[node.end_lineno:]
    return any(t.split('#', 1)[0].lstrip(') \t').startswith(';') for t in tail)


def magic(code):
    """IPython syntax (!cmd, %magic, %%magic): the _M block, compiled on first need like _R. The cell
    translated line for line, or None if it has none."""
    global magic_ready
    if not magic_ready:  # main thread only
        n = _MN
        for b in unpack(_M).split('\n\n\n'):
            exec(compile('\n' * n + b, '<runyard-agent>', 'exec'), G)
            n += b.count('\n') + 3
        magic_ready = True
    return translate(code)


def run(code, file, ns):
    """Compile and run one cell; returns (status, value, error). SystemExit (sys.exit(), exit(3)) is the cell's
    error, whatever its code, and the runtime stays: IPython's way (its execute_reply is an error too)."""
    global in_user, intr_for
    try:
        try:
            tree = compile(code, file, 'exec', _ast.PyCF_ONLY_AST, True)
        except SyntaxError:  # IPython syntax never compiles as Python: cells without it pay nothing more
            alt = magic(code) if '%' in code or '!' in code else None
            if alt is None:
                raise
            code = alt
            tree = compile(code, file, 'exec', _ast.PyCF_ONLY_AST, True)
        body = tree.body
        last = body.pop().value if body and isinstance(body[-1], _ast.Expr) else None
        mc = compile(_ast.Module(body, []), file, 'exec', 0, True) if body else None
        ec = None if last is None else compile(_ast.Expression(last), file, 'eval', 0, True)
        value = v = None
        in_user = True
        try:
            if intr_for == seq:
                intr_for = None
                raise KeyboardInterrupt
            if mc is not None:
                exec(mc, ns)
            if ec is not None:
                v = eval(ec, ns)
                if v is not None and not silenced(code, last):  # repr may run user code: interruptible
                    t = type(v)
                    r = repr(v) if t in PLAIN or t in BOXES else None
                    if r is None or (len(r) > WIDTH and t in BOXES):  # rich reprs, pprint: the display block
                        rich()
                        value = value_bundle(v, r)
                    else:
                        value = {'data': {'text/plain': cut(r)}}
            if MPL_ON and 'matplotlib.pyplot' in sys.modules:  # figures still open are shown, then closed
                rich()
                figures_shown(v)
        finally:
            in_user = False
        return 'ok', value, None
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
        cur = enc(ref)  # for displays
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
        cur = 'null'
        msg(result)
    else:
        with OL:
            drain()
            cur = 'null'
            msg(result)


def rerr(text):
    return {'kind': 'RunyardError', 'message': text, 'line': None, 'column': None, 'frames': [],
            'formatted': 'RunyardError: %s\n' % text}


def ask(prompt=''):
    """input() for cells: the window asks the user (a headless run answers end of input). Interruptible:
    SimpleQueue.get wakes for signals, so an interrupt raises KeyboardInterrupt here."""
    flush_all()
    while True:  # an answer that came after its request was interrupted is not this one's
        try:
            INPUT.get(False)
        except Exception:
            break
    msg({'type': 'input_request', 'ref': ref_now, 'prompt': str(prompt), 'password': False})
    v = INPUT.get()
    if v is None:
        raise EOFError('EOF when reading a line')
    return v


sys.modules['builtins'].input = ask


def evaluate(m):
    global cur, OPTS, WIDTH, ref_now
    t0 = time.perf_counter()
    c, ref, prev, file, code = m['container'], m['ref'], m['prev'], m['file'], m['code']
    if code[:1] == '\ufeff':  # a byte-order mark (a script saved by Notepad): Python's own reader skips it
        code = code[1:]
    ref_now = ref
    OPTS = m.get('options')
    if type(OPTS) is not dict:
        OPTS = {}
    WIDTH = OPTS.get('width')
    if type(WIDTH) is not int or WIDTH < 1:
        WIDTH = 100
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
        except BaseException as e:  # an agent bug: still end the evaluation properly
            status, value, err = 'error', None, rerr('agent error: %r' % (e,))
        SNAP[(c, ref)] = ns.copy()  # in every case, so a later cell can chain from an errored one
        FILES[(c, ref)] = file
        sync_linecache()  # the cell may have imported linecache (traceback, inspect): later cells find sources
    finish()
    answer(ref, {'type': 'result', 'ref': ref, 'status': status, 'error': err,
                 'value': value,
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
_R = r'''
# The display machinery, compiled by rich() into the agent's globals on first need (first display(), first
# value that is not a plain builtin, first matplotlib or IPython display import). Same layout rules as _B.
import json, binascii
DUMPS = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode
METHODS = (('text/html', '_repr_html_'), ('text/markdown', '_repr_markdown_'), ('image/svg+xml', '_repr_svg_'),
           ('image/png', '_repr_png_'), ('image/jpeg', '_repr_jpeg_'), ('text/latex', '_repr_latex_'),
           ('application/json', '_repr_json_'))
BINARY = ('image/png', 'image/jpeg', 'image/gif', 'image/webp')  # base64 in a bundle
TABLE = 'application/vnd.dataresource+json'
MPL = 'module://runyard_matplotlib'
MIB = 1 << 20


def warn(text):  # to the cell's stderr, where the user sees it next to the output concerned
    try:
        sys.stderr.write('runyard: %s\n' % text)
    except Exception:
        pass


def option(name, default, least=1):
    v = OPTS.get(name)
    return v if type(v) is int and v >= least else default


def b64(b):
    return binascii.b2a_base64(bytes(b), newline=False).decode('ascii')


def is_a(t, module, name):  # by name: never import a library to recognise its objects
    for c in getattr(t, '__mro__', ()):
        if c.__name__ == name and c.__module__ == module:
            return True
    return False


def size_text(n):
    for unit, f in (('MiB', MIB), ('KiB', 1024)):
        if n >= f:
            return ('%.1f' % (n / f)).replace('.0', '') + ' ' + unit
    return '%d bytes' % n


def text_plain(v, r=None):
    r = repr(v) if r is None else r
    t = type(v)
    # pprint is pure Python: only for a container longer than a line, and not for a huge one (cut anyway).
    if WIDTH < len(r) < 200000 and (t in BOXES or t.__module__ == 'collections'):
        import pprint
        r = pprint.pformat(v, width=WIDTH, compact=True, sort_dicts=False)
    return cut(r)


def call(v, name, **kw):  # a repr method's answer; one that raises is left out with a warning
    try:
        m = getattr(v, name, None)
        return m(**kw) if callable(m) else None
    except Exception as e:
        warn('%s.%s() raised %s: %s; its output is left out' % (type(v).__name__, name, type(e).__name__, e))


def put(data, md, mime, r, origin):
    if type(r) is tuple and len(r) == 2:  # (data, metadata)
        r, m = r
        if m and r is not None:
            md[mime] = m
    if r is None:
        return
    if mime in BINARY and isinstance(r, (bytes, bytearray, memoryview)):
        r = b64(r)
    elif not isinstance(r, str) and not (mime == 'application/json' or mime.endswith('+json')):
        return warn('%s returned %s, not text: %s left out' % (origin, type(r).__name__, mime))
    data[mime] = r


def fmt(v, include=None, exclude=None, r=None):
    """Jupyter's formatters: (data, metadata) of v. text/plain is always there."""
    data, md = {}, {}
    t = type(v)
    try:  # a class (its repr methods are unbound), or an object that answers every attribute, has none
        rich_ok = not isinstance(v, type) and getattr(v, '_ipython_canary_method_should_not_exist_', None) is None
    except Exception:
        rich_ok = False
    if rich_ok and not special(v, t, data, md):
        b = call(v, '_repr_mimebundle_', include=include, exclude=exclude)
        if b is not None:
            bd, bm = b if type(b) is tuple and len(b) == 2 else (b, None)
            for k, x in dict(bd or {}).items():
                put(data, md, k, x, '_repr_mimebundle_')
            md.update(bm or {})
        for mime, name in METHODS:
            if mime not in data and (not include or mime in include) and not (exclude and mime in exclude):
                r2 = call(v, name)
                if r2 is not None:
                    put(data, md, mime, r2, '%s.%s()' % (t.__name__, name))
    if type(data.get('text/plain')) is not str:
        data['text/plain'] = text_plain(v, r)
    if include:
        data = {k: x for k, x in data.items() if k in include or k == 'text/plain'}
    if exclude:
        data = {k: x for k, x in data.items() if k not in exclude or k == 'text/plain'}
    return data, md


def special(v, t, data, md):
    """Figures, tables and images that have no rich repr of their own (or a costly one). True: v is done."""
    if is_a(t, 'matplotlib.figure', 'Figure'):
        figure_png(v, data, md)
        return True
    if t.__module__.split('.')[0] == 'pandas' and any(  # pandas 3 names its classes' module 'pandas'
            c.__name__ in ('DataFrame', 'Series') and c.__module__.split('.')[0] == 'pandas' for c in t.__mro__):
        try:  # only the first rows, whatever the length: ms for a million-row frame
            s = v.head(option('table_rows', 1000, 0)).to_json(orient='table').rstrip()
            data[TABLE] = RawJSON('%s,"total_rows":%d}' % (s[:-1], len(v)))
        except Exception as e:
            warn('no table for this %s: %s: %s' % (t.__name__, type(e).__name__, e))
        return False  # and pandas' own _repr_html_
    if is_a(t, 'PIL.Image', 'Image'):
        size = {'width': v.width, 'height': v.height}
        if hasattr(t, '_repr_png_'):  # Pillow 9+: its own PNG and JPEG, as Jupyter shows them
            md['image/png'] = md['image/jpeg'] = size
            return False
        b = io.BytesIO()
        try:
            try:
                v.save(b, format='PNG')
            except (OSError, ValueError, KeyError):  # a mode PNG cannot hold (CMYK, ...)
                b = io.BytesIO()
                v.convert('RGBA').save(b, format='PNG')
            data['image/png'] = b64(b.getbuffer())
            md['image/png'] = size
        except Exception as e:
            warn('could not make a PNG of this image: %s: %s' % (type(e).__name__, e))
        return True
    return False


def figure_png(fig, data, md):  # 2x pixel density; metadata gives the logical size
    b = io.BytesIO()
    try:  # zlib level 1: a plot's PNG in about half the encoding time, at 1.5x its size (still tens of KB)
        try:
            fig.savefig(b, format='png', dpi=fig.dpi * 2, pil_kwargs={'compress_level': 1})
        except TypeError:  # matplotlib < 3.3 has no pil_kwargs for PNG
            b = io.BytesIO()
            fig.savefig(b, format='png', dpi=fig.dpi * 2)
    except Exception as e:
        strip(e, set())
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__)
        return
    png = b.getvalue()
    data['image/png'] = b64(png)
    md['image/png'] = {'width': round(int.from_bytes(png[16:20], 'big') / 2),
                       'height': round(int.from_bytes(png[20:24], 'big') / 2)}


def encode(data, md):
    """The bundle as JSON text, within options.max_output_bytes (its data as sent)."""
    cap = option('max_output_bytes', 20 * MIB)
    parts = []
    for k, x in data.items():
        try:
            parts.append('%s:%s' % (ESC(k), x if type(x) is RawJSON else DUMPS(x)))
        except (TypeError, ValueError) as e:
            warn('%s cannot be sent as JSON (%s): left out' % (k, e))
    d = '{%s}' % ','.join(parts)
    n = len(d)
    if n * 4 > cap:  # could be over: measure the UTF-8 exactly
        n = len(d.encode('utf-8', 'replace'))
    if n > cap:
        d, md = '{"text/plain":%s}' % ESC('output left out: %s is over the %s cap of one output'
                                          % (size_text(n), size_text(cap))), {}
    try:
        m = DUMPS(md)
    except (TypeError, ValueError) as e:
        warn('metadata cannot be sent as JSON (%s): left out' % e)
        m = '{}'
    return RawJSON('{"data":%s,"metadata":%s}' % (d, m))


def value_bundle(v, r=None):
    return encode(*fmt(v, r=r))


def send_display(bundle, display_id, update):
    line = '{"type":"display","ref":%s,"bundle":%s,"display_id":%s,"update":%s}' % (
        cur, bundle, 'null' if display_id is None else ESC(display_id), 'true' if update else 'false')
    flush_all()  # text printed before the display goes before it
    if CAPK:  # in the stdout pipe, in its place (docs/protocol.md, output capture)
        b, stop = memoryview(MARK + b'd' + line.encode('utf-8', 'replace') + b'\n'), None
        while b:
            try:
                b = b[W(CAP1, b):]
            except KeyboardInterrupt as e:  # finish the line first: half a marker would swallow later output
                stop = e
            except OSError:  # manager gone
                die()
        if stop is not None:
            raise stop
    else:
        with OL:
            drain()
            send(('\x1e%s\n' % line).encode('utf-8', 'replace'))


class DisplayHandle:
    """What display(..., display_id=...) returns (IPython's DisplayHandle)."""
    def __init__(self, display_id=None):
        self.display_id = display_id or os.urandom(16).hex()

    def __repr__(self):
        return '<DisplayHandle display_id=%s>' % self.display_id

    def display(self, obj, **kw):
        show_objects((obj,), display_id=self.display_id, **kw)

    def update(self, obj, **kw):
        show_objects((obj,), display_id=self.display_id, update=True, **kw)


def show_objects(objs, include=None, exclude=None, metadata=None, transient=None, display_id=None, raw=False,
                 clear=False, update=False, **_):
    if transient and transient.get('display_id') is not None:
        display_id = transient['display_id']
    if display_id is True:
        display_id = os.urandom(16).hex()
    elif display_id is not None:
        display_id = str(display_id)
    for o in objs:
        if raw:  # o is a bundle's data already
            data, md = {}, {}
            for k, x in dict(o).items():
                put(data, md, k, x, 'raw display')
            data.setdefault('text/plain', '[%s output]' % ', '.join(data))
        else:
            data, md = fmt(o, include, exclude)
        md.update(metadata or {})
        send_display(encode(data, md), display_id, update)
    if display_id is not None and not update:
        return DisplayHandle(display_id)


def publish_display_data(data, metadata=None, source=None, *, transient=None, **kw):
    show_objects((data,), metadata=metadata, transient=transient, raw=True, update=kw.get('update', False))


def ipython_install(module):  # IPython's display functions print when no shell runs: route them to us
    module.display = display
    module.update_display = update_display
    module.publish_display_data = publish_display_data


# --- matplotlib: a backend like Jupyter's inline one. Figures are drawn with Agg and shown as PNG by show()
# and at the end of a cell, then closed. The module exists only in this process (see mpl_before). ---
class MplFinder:
    def find_spec(self, name, path=None, target=None):
        if name == 'runyard_matplotlib':
            return type(sys.__spec__)(name, self)  # a ModuleSpec, without importing importlib.machinery

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.backend_bases import FigureManagerBase
        module.FigureCanvas, module.FigureManager, module.show = FigureCanvasAgg, FigureManagerBase, mpl_show


def mpl_install():
    sys.meta_path.append(MplFinder())


def figures_shown(value=None):
    """Shows every open pyplot figure (but the cell's value, shown as the value), then closes them all."""
    mpl = sys.modules.get('matplotlib')
    plt = sys.modules.get('matplotlib.pyplot')
    if mpl is None or plt is None or dict.get(mpl.rcParams, 'backend') != MPL:
        return
    try:
        for m in plt._pylab_helpers.Gcf.get_all_fig_managers():
            if m.canvas.figure is not value:
                show_objects((m.canvas.figure,))
    finally:
        plt.close('all')


def mpl_show(*_, **__):
    figures_shown()
'''
_RN = sys._getframe().f_lineno - 2 - _R.count('\n')  # its line numbers are this file's too
_M = r'''
# IPython syntax (docs/ipython-syntax.md), compiled by magic() into the agent's globals the first time a cell
# that does not compile has a % or ! in it: cells without them never pay for it. Same layout rules as _B.
import re, builtins
ASSIGN = re.compile(r'([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*([!%])(.*)$', re.S)
NAME = re.compile(r'[A-Za-z_]\w*')
FIELD = re.compile(r'(.*?)(?:!([rsa]))?(?::([^{}]*))?$', re.S)
OPT = re.compile(r'-([nrp])\s*(\d+)\s*|-([qotc])(?:\s+|$)')
UNITS = (('s', 1), ('ms', 1e3), ('\xb5s', 1e6), ('ns', 1e9))
SECRET = ('key', 'token', 'secret')  # %env hides these values when listing, as IPython 8 does
DISPLAYS = {'html': 'text/html', 'markdown': 'text/markdown', 'latex': 'text/latex', 'svg': 'image/svg+xml'}
oldpwd = None


class UsageError(Exception):
    """A magic Runyard does not have, or one used wrongly (IPython's UsageError)."""


def translate(code):
    """The cell with its IPython syntax turned into calls of _runyard_magic_, line for line so that tracebacks
    and error marks point at the cell's own lines; None if it has none."""
    lines = code.split('\n')
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].lstrip().startswith('%%'):  # a cell magic: the rest of the cell is its body
        name, arg = split_magic(lines[i].lstrip()[2:])
        rest = len(lines) - i - 1
        lines[i:] = ['_runyard_magic_(%r, %r, %r, %r)' % ('%%', name, arg, '\n'.join(lines[i + 1:]))] + [''] * rest
        return '\n'.join(lines)
    found = False
    depth, quote, cont = 0, None, False
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.lstrip()
        at_start = not depth and quote is None and not cont
        call = line_call(s) if at_start and (s[:1] in ('!', '%') or '=' in s) else None
        if call is None:
            depth, quote, cont = scan(line, depth, quote)
            i += 1
            continue
        j = i
        while s.endswith('\\') and j + 1 < len(lines):  # a magic continued on the next lines: one call
            j += 1
            s = s[:-1].rstrip() + ' ' + lines[j].strip()
            lines[j] = ''
        call = call if j == i else line_call(s)
        if s.rstrip().endswith(';'):  # IPython's `;` after a magic hides its value too (see silenced)
            call += ';'
        lines[i] = line[:len(line) - len(line.lstrip())] + call
        found = True
        i = j + 1
    return '\n'.join(lines) if found else None


def line_call(s):
    if s.startswith('!'):
        two = s.startswith('!!')  # !!cmd: its output lines as the value
        return '_runyard_magic_(%r, None, %r)' % ('!!' if two else '!', s[2 if two else 1:])
    if s.startswith('%'):
        return '_runyard_magic_(%r, %r, %r)' % (('%',) + split_magic(s[1:]))
    m = ASSIGN.match(s)
    if m is None:
        return None
    target, kind, rest = m.groups()
    return '%s = %s' % (target, line_call('!!' + rest[rest[:1] == '!':] if kind == '!' else kind + rest))


def split_magic(s):
    parts = s.split(None, 1)
    return (parts[0], parts[1].strip() if len(parts) > 1 else '') if parts else ('', '')


def scan(line, depth, quote):
    """Brackets and strings open at the end of a line: the next line starts a statement only if none is."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote is not None:
            if c == '\\':
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c == '#':
            break
        elif c in '([{':
            depth += 1
        elif c in ')]}':
            depth = max(0, depth - 1)
        elif c in '\'"':
            quote = c * 3 if line.startswith(c * 3, i) else c
            i += len(quote)
            continue
        i += 1
    cont = line.endswith('\\')
    if quote in ('"', "'") and not cont:  # an unclosed one-line string: a syntax error Python will report
        quote = None
    return depth, quote, cont


def expand(s, f):
    """IPython's expansion in shell commands and magic arguments: {expr} and $name (or $name.attr) are
    replaced by their values; $$ is $, {{ and }} are braces; what does not evaluate is left as written
    (so $HOME still reaches the shell), and so is $ in single quotes."""
    if '$' not in s and '{' not in s and '}' not in s:
        return s
    out, i, n, sq = [], 0, len(s), False
    while i < n:
        c = s[i]
        if c == "'":
            sq = not sq
        elif c == '$' and not sq:
            if s.startswith('$$', i):
                out.append('$')
                i += 2
                continue
            m = NAME.match(s, i + 1)
            if m is not None:
                ends, k = [m.end()], m.end()
                while k < n and s[k] == '.' and NAME.match(s, k + 1):
                    k = NAME.match(s, k + 1).end()
                    ends.append(k)
                for e in reversed(ends):  # the longest dotted name that evaluates: $f.txt is f's value, then .txt
                    try:
                        v = str(eval(s[i + 1:e], f.f_globals, f.f_locals))
                    except Exception:
                        continue
                    out.append(v)
                    i = e
                    break
                else:
                    out.append(s[i:m.end()])
                    i = m.end()
                continue
        elif c == '{':
            if s.startswith('{{', i):
                out.append('{')
                i += 2
                continue
            j, d = i + 1, 1
            while j < n and d:
                d += {'{': 1, '}': -1}.get(s[j], 0)
                j += 1
            if not d:
                out.append(field(s[i + 1:j - 1], f, s[i:j]))
                i = j
                continue
        elif c == '}' and s.startswith('}}', i):
            out.append('}')
            i += 2
            continue
        out.append(c)
        i += 1
    return ''.join(out)


def field(text, f, written):
    """{expr}, or as in str.format {expr!r} and {expr:>8}; what does not evaluate stays as written."""
    try:
        return str(eval(text, f.f_globals, f.f_locals))
    except Exception:
        pass
    m = FIELD.match(text)
    try:
        v = eval(m.group(1), f.f_globals, f.f_locals)
        v = {'r': repr, 's': str, 'a': ascii}[m.group(2)](v) if m.group(2) else v
        return format(v, m.group(3) or '')
    except Exception:
        return written


def run_magic(kind, name, arg, body=None):
    """What the translated lines call. sys._getframe(1) is the cell's (or a function's) frame."""
    f = sys._getframe(1)
    if kind != '%%' and kind != '%':
        return system(expand(arg, f), f, capture=kind == '!!')
    fn = (CELL if kind == '%%' else LINE).get(name)
    if fn is None:
        if kind == '%' and name.startswith('%'):
            raise UsageError('Cell magic `%%%s` must be on the first line of its cell.' % name)
        if kind == '%' and name in CELL:
            raise UsageError('Line magic function `%%%s` not found (but cell magic `%%%%%s` exists: '
                             'put it on the first line of a cell).' % (name, name))
        raise UsageError(('Cell magic `%%%%%s` not found.' if kind == '%%' else
                          'Line magic function `%%%s` not found.') % name
                         + ' Runyard supports the IPython syntax listed in docs/ipython-syntax.md.')
    if name not in ('time', 'timeit'):
        arg = expand(arg, f)
    return fn(arg, f) if body is None else fn(arg, body, f)


def spawn(argv, f, capture=False, data=None):
    """Runs a command with the cell's output pipes as its stdout/stderr (so its output lands in order with
    prints), in its own process group, which an interrupt stops. Returns (exit code, captured bytes)."""
    global CHILD, hold
    import subprocess
    flush_all()
    p = None
    try:
        hold = 1  # an interrupt inside Popen() would lose the child's pid: on_sigint holds it until p is known
        try:
            p = subprocess.Popen(argv, shell=type(argv) is str, stdin=None if data is None else subprocess.PIPE,
                                 stdout=subprocess.PIPE if capture else None,
                                 stderr=subprocess.STDOUT if capture else None, start_new_session=True)
        finally:
            held, hold = hold, 0
        p._sigint_wait_secs = 0  # no terminal sent the child our SIGINT: stop() signals its group at once
        CHILD = p.pid
        if held == 2:
            raise KeyboardInterrupt
        out = p.communicate(data)[0]
    except BaseException:
        while p is not None:
            try:
                stop(p, subprocess)
                break
            except KeyboardInterrupt:  # a repeated interrupt that came in between: stop all the same
                pass
        raise
    finally:
        CHILD = 0
    f.f_globals['_exit_code'] = p.returncode
    return p.returncode, out


def stop(p, subprocess):
    """As a terminal's ^C would: SIGINT to the command's process group; what is left after 0.5 s (a shell's
    background jobs ignore SIGINT) is killed. SIGINT is held meanwhile: a repeated one must not cut it short."""
    mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, (_signal.SIGINT,))
    try:
        for sig, wait in ((_signal.SIGINT, 0.5), (_signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                pass
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)


def system(cmd, f, capture=False):
    if not cmd.strip():
        return [] if capture else None
    rc, out = spawn(cmd, f, capture)
    if capture:  # IPython's SList, as a plain list of lines (stderr included, as in IPython)
        return out.decode('utf-8', 'replace').splitlines()


def script(program):
    def cell(arg, body, f):  # IPython's %%bash: the body on the program's stdin; failing makes the cell fail
        import shlex
        opts = shlex.split(arg)
        rc, _ = spawn([program] + [o for o in opts if o != '--no-raise-error'], f, data=body.encode())
        if rc and '--no-raise-error' not in opts:
            import subprocess
            raise subprocess.CalledProcessError(rc, body)
    return cell


def script_cell(arg, body, f):  # %%script PROGRAM [ARGS]
    import shlex
    argv = shlex.split(arg)
    if not argv:
        raise UsageError('%%script needs a program: %%script bash')
    return script(argv[0])(' '.join(map(shlex.quote, argv[1:])), body, f)


def format_time(t, precision=3):
    """IPython's _format_time."""
    if t >= 60.0:
        parts, left = [], t
        for suffix, length in (('d', 86400), ('h', 3600), ('min', 60), ('s', 1)):
            v = int(left / length)
            if v > 0:
                left = left % length
                parts.append('%d%s' % (v, suffix))
            if left < 1:
                break
        return ' '.join(parts)
    import math
    order = min(-int(math.floor(math.log10(t)) // 3), 3) if t > 0.0 else 3
    return '%.*g %s' % (precision, t * UNITS[order][1], UNITS[order][0])


def timed(src, f, line):
    """%time / %%time: runs src (starting at the cell's line `line`) in the frame's namespace, prints IPython's
    CPU and wall times and returns the value of a last expression."""
    import resource
    file = f.f_code.co_filename
    src = translate(src) or src
    tree = compile('\n' * (line - 1) + src, file, 'exec', _ast.PyCF_ONLY_AST, True)
    body = tree.body
    last = body.pop().value if body and isinstance(body[-1], _ast.Expr) else None
    code = compile(_ast.Module(body, []), file, 'exec', 0, True)
    ec = None if last is None else compile(_ast.Expression(last), file, 'eval', 0, True)
    g, l = f.f_globals, f.f_locals
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    exec(code, g, l)
    v = None if ec is None else eval(ec, g, l)
    w1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    u, s = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    print('CPU times: user %s, sys: %s, total: %s' % (format_time(u), format_time(s), format_time(u + s)))
    print('Wall time: %s' % format_time(w1 - w0))
    return v


class TimeitResult:
    """What %timeit -o returns (IPython's TimeitResult)."""
    def __init__(self, loops, repeat, all_runs, precision):
        self.loops, self.repeat, self.all_runs, self._precision = loops, repeat, all_runs, precision
        self.timings = [t / loops for t in all_runs]
        self.best, self.worst = min(self.timings), max(self.timings)
        self.average = sum(self.timings) / len(self.timings)
        self.stdev = (sum((t - self.average) ** 2 for t in self.timings) / len(self.timings)) ** 0.5

    def __str__(self):
        return '%s \xb1 %s per loop (mean \xb1 std. dev. of %d run%s, %s loop%s each)' % (
            format_time(self.average, self._precision), format_time(self.stdev, self._precision), self.repeat,
            '' if self.repeat == 1 else 's', '{:,}'.format(self.loops), '' if self.loops == 1 else 's')

    def __repr__(self):
        return '<TimeitResult : %s>' % self


def timeit_magic(arg, f, body=None):
    """%timeit [-n N] [-r R] [-p P] [-q] [-o] STATEMENT, %%timeit [options] [SETUP] with the body timed."""
    import timeit
    number, repeat, precision, quiet, ret = 0, 7, 3, False, False
    while True:
        m = OPT.match(arg)
        if m is None:
            break
        o, v, flag = m.groups()
        if o:
            if o == 'n':
                number = int(v)
            elif o == 'r':
                repeat = int(v)
            else:
                precision = int(v)
        quiet = quiet or flag == 'q'
        ret = ret or flag == 'o'
        arg = arg[m.end():]
    stmt, setup = (arg, 'pass') if body is None else (body, arg or 'pass')
    if not stmt.strip():
        raise UsageError('%timeit needs a statement to time, as in: %timeit sum(range(100))')
    if number < 0 or repeat < 1:
        raise UsageError('%timeit: -n must be at least 1 and -r at least 1')
    ns = f.f_globals
    if f.f_locals is not ns:
        ns = dict(ns)
        ns.update(f.f_locals)
    t = timeit.Timer(stmt, setup, globals=ns)
    if number == 0:  # IPython's auto-ranging: 1, 10, 100, ... loops until one run takes 0.2 s
        for k in range(10):
            number = 10 ** k
            if t.timeit(number) >= 0.2:
                break
    r = TimeitResult(number, repeat, t.repeat(repeat, number), precision)
    if not quiet:
        if r.worst > 4 * r.best and r.best > 0 and r.worst > 1e-6:
            print('The slowest run took %0.2f times longer than the fastest. This could mean that an '
                  'intermediate result is being cached.' % (r.worst / r.best))
        print(r)
    return r if ret else None


def cd(arg, f):
    global oldpwd
    d = arg.strip()
    if d[:3] == '-q ':
        d = d[3:].strip()
    if len(d) > 1 and d[0] == d[-1] and d[0] in '\'"':
        d = d[1:-1]
    if d == '-':
        if oldpwd is None:
            raise UsageError('%cd -: no previous directory')
        d = oldpwd
    old = os.getcwd()
    os.chdir(os.path.expanduser(d or '~'))
    oldpwd = old
    if not arg.startswith('-q'):
        print(os.getcwd())


def env(arg, f):
    a = arg.strip()
    if not a:
        return {k: '<hidden>' if any(s in k.lower() for s in SECRET) else v for k, v in os.environ.items()}
    if '=' not in a and len(a.split()) == 1:
        if a not in os.environ:
            raise UsageError('Environment does not have key: %s' % a)
        return os.environ[a]
    name, v = a.split('=', 1) if '=' in a.split(None, 1)[0] else a.split(None, 1)
    name, v = name.strip(), v.strip()
    os.environ[name] = v
    print('env: %s=%s' % (name, v))


def pip(arg, f):  # into this runtime's own environment, whatever pip is on PATH
    import shlex, importlib
    # Not spelled with blanks around: pyenv's shim stops exec'ing a python whose arguments (this source) hold that.
    system(' '.join((shlex.quote(sys.executable), '-m', 'pip', arg)), f)
    importlib.invalidate_caches()
    print('Note: you may need to restart the runtime to use updated packages.')


def conda(arg, f):
    import shlex, importlib
    exe = os.environ.get('CONDA_EXE') or next((p for p in (os.path.join(d, 'conda') for d in os.environ.get(
        'PATH', '').split(os.pathsep) if d) if os.access(p, os.X_OK)), None)
    if not exe:
        raise UsageError('%conda: conda was not found (CONDA_EXE is not set and there is no conda on PATH)')
    args = shlex.split(arg)
    extra = []
    if args and args[0] in ('install', 'update', 'upgrade', 'remove', 'uninstall'):
        if not {'-p', '--prefix', '-n', '--name'} & set(args):
            extra += ['--prefix', sys.prefix]  # this runtime's environment, not conda's active one
        if not {'-y', '--yes'} & set(args):
            extra.append('--yes')  # nobody can answer a prompt
    system(' '.join(map(shlex.quote, [exe] + args[:1] + extra + args[1:])), f)
    importlib.invalidate_caches()
    print('Note: you may need to restart the runtime to use updated packages.')


def writefile(arg, body, f):
    import shlex
    a = shlex.split(arg)
    append = bool(a) and a[0] in ('-a', '--append')
    a = a[1:] if append else a
    if len(a) != 1:
        raise UsageError('%%%%writefile [-a] FILE: one file name expected, got %r' % arg)
    name = os.path.expanduser(a[0])
    print(('Appending to %s' if append else 'Overwriting %s') % name if os.path.exists(name) else 'Writing %s' % name)
    with open(name, 'a' if append else 'w', encoding='utf-8') as fh:
        fh.write(body if not body or body.endswith('\n') else body + '\n')


def load_ext(arg, f):
    raise UsageError('Line magic function `%%load_ext` is not supported: IPython extensions (here %s) need '
                     "IPython's shell, which Runyard's Python runtime does not run." % (arg or 'none named'))


def display_cell(mime):
    def cell(arg, body, f):
        display({mime: body}, raw=True)
    return cell


LINE = {'time': lambda arg, f: timed(arg, f, f.f_lineno), 'timeit': timeit_magic, 'cd': cd, 'env': env,
        'pwd': lambda arg, f: os.getcwd(), 'pip': pip, 'conda': conda, 'load_ext': load_ext,
        'matplotlib': lambda arg, f: None}  # plots show inline whatever the backend named
CELL = {'time': lambda arg, body, f: timed(body, f, f.f_lineno + 1),
        'timeit': lambda arg, body, f: timeit_magic(arg, f, body),
        'bash': script('bash'), 'sh': script('sh'), 'script': script_cell, 'writefile': writefile}
CELL.update((k, display_cell(v)) for k, v in DISPLAYS.items())
builtins._runyard_magic_ = run_magic
'''
_MN = sys._getframe().f_lineno - 2 - _M.count('\n')  # its line numbers are this file's too
_C = r'''
# Completion and documentation (docs/protocol.md: complete, inspect), compiled by assist() on the helper thread at
# the first request, into a namespace of its own (a copy of the agent's). Same layout rules as _B.
#
# The rule throughout: answering never runs user code. No property, no descriptor's __get__, no __getattr__, no
# __dir__ (pandas' adds a frame's columns: they are not offered) and no __repr__ of a user object: names and values
# are read from dicts as they are: the context's snapshot, the instance's own __dict__, the __dict__s of its
# classes (what object.__dir__ would list, found without calling anything). An attribute that only code could
# give a value (a property, a C getset, a cached_property) is offered as a property but never read, so nothing
# is completed after it. Signatures are worked out (inspect.signature) only for functions, methods, builtins and
# classes whose metaclass defines no __getattr__/__getattribute__: that reads their code objects, defaults and
# annotations as stored (unevaluated), and never calls them; defaults are shown by repr only for literals.
# Importing is running code too: `import x.` lists submodules found on disk, without importing x.
import re, keyword, inspect, types, linecache
import builtins as BI
MAXM = 500        # matches per answer
MAXDOC = 65536    # characters of documentation per answer
MAXCODE = 1000000  # longer code gets an empty answer
BUDGET = 0.025    # seconds of signature work per answer: the matches after it go without one
MISSING = object()
GETSET, MEMBER = types.GetSetDescriptorType, types.MemberDescriptorType
TDICT = type.__dict__['__dict__'].__get__      # a class's own namespace, whatever its metaclass says
TMRO = type.__dict__['__mro__'].__get__
TQUAL = type.__dict__['__qualname__'].__get__
CMETHODS = (types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType)
SAFE_FN = (types.BuiltinFunctionType, types.MethodWrapperType) + CMETHODS
DOC_SAFE = (types.FunctionType, property, staticmethod, classmethod, GETSET, MEMBER) + SAFE_FN
LIT = (type(None), bool, int, float, complex, str, bytes)
KEYWORDS = sorted(set(keyword.kwlist) | set(getattr(keyword, 'softkwlist', ())))
SIGARGS = {}
if sys.version_info >= (3, 14):  # annotations are evaluated lazily from 3.14: keep them as text
    import annotationlib
    SIGARGS['annotation_format'] = annotationlib.Format.STRING
ID_END = re.compile(r'[^\W\d]\w*$')
WORD_END = re.compile(r'\w+$')
WORD = re.compile(r'\w*')
CHAIN = re.compile(r'(?<![\w.])([^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*)\s*$')
DOT_END = re.compile(r'\.\s*$')
KEY_AT = re.compile(r'(?<![\w.])([^\W\d]\w*(?:\s*\.\s*[^\W\d]\w*)*)\s*\[\s*$')
FROM_MOD = re.compile(r'\s*from\s+([\w.]*)$')
FROM_NAME = re.compile(r'\s*from\s+(\w[\w.]*)\s+import\s+\(?\s*(?:\w+(?:\s+as\s+\w+)?\s*,\s*)*(\w*)$')
IMPORT = re.compile(r'\s*import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*([\w.]*)$')
GIVEN = re.compile(r'([^\W\d]\w*)\s*=(?!=)')
TOKEN = re.compile(r'[#\'"]')
BRACKET = re.compile(r'[()\[\]{}]')
STRING = {}
for q in '\'"':  # a string from its opening quote; group 1 is its closing quote, None while it is open
    STRING[q] = re.compile(r'%s(?:[^%s\\\n]|\\.)*(%s)?' % (q, q, q), re.S)
    STRING[q * 3] = re.compile(r'%s(?:[^%s\\]|\\.|%s(?!%s))*(%s)?' % (q * 3, q, q, q * 2, q * 3), re.S)
SIGS = {}         # (id of the callable, bound) -> (callable, signature text): pandas has hundreds
TOP = [None, set()]  # (sys.path and its directories' mtimes, top-level module names found there)
SUBS = {}         # package path -> names of its submodules


def serve():
    """Answers requests in order; of those that piled up meanwhile only the newest of each kind is worked out,
    the others get an empty answer (their asker only wants the newest)."""
    while True:
        asked = [ASKED.get()]
        while True:
            try:
                asked.append(ASKED.get(False))
            except Exception:
                break
        newest = {}
        for m in asked:
            newest[m.get('type') if type(m) is dict else None] = m
        for m in asked:
            answer_query(m, newest.get(m.get('type')) is not m)


def answer_query(m, superseded=False):
    t, qid = m.get('type'), m.get('id')
    if type(qid) is not int:
        return log('warn', 'malformed %s command: no integer id' % t)
    code, cur = m.get('code'), m.get('cursor')
    valid = type(code) is str and type(cur) is int and 0 <= cur <= len(code) <= MAXCODE
    here = cur if valid else 0
    if valid:
        try:  # lone surrogates (JSON allows \ud800) are no code anyone typed
            code.encode('utf-8')
        except UnicodeEncodeError:
            valid = False
    try:
        if t == 'complete':
            start, end, found = (here, here, [])
            if valid and not superseded:
                start, end, found = complete(code, cur, context(m))
            return msg({'type': 'completions', 'id': qid, 'start': start, 'end': end, 'matches': listed(found)})
        text = document(code, cur, m.get('detail') == 1, context(m)) if valid and not superseded else None
    except Exception as e:  # an agent bug: still one answer
        log('warn', '%s failed: %r' % (t, e))
        if t == 'complete':
            return msg({'type': 'completions', 'id': qid, 'start': here, 'end': here, 'matches': []})
        text = None
    msg({'type': 'documentation', 'id': qid, 'found': text is not None,
         'bundle': {'data': {'text/plain': text or ''}, 'metadata': {}}})


def context(m):
    """The names an evaluation chained from `prev` would start with: its snapshot. While that evaluation is still
    running (or was never stored), its container's live namespace, read as it is."""
    c, prev = m.get('container'), m.get('prev')
    if prev is None:
        return FRESH
    pc = m.get('prev_container') or c
    snap = SNAP.get((pc, prev)) if type(pc) is str and type(prev) is str else None
    if snap is not None:
        return snap
    mod = MODS.get(pc) if type(pc) is str else None
    if mod is None and type(c) is str:
        mod = MODS.get(c)
    return FRESH if mod is None else mod.__dict__


def lex(s):
    """How the text before the cursor ends: ('code' | 'comment' | 'string', the brackets still open as
    (position, bracket), where that string or comment starts)."""
    stack, i, n = [], 0, len(s)
    while True:
        m = TOKEN.search(s, i)
        j = n if m is None else m.start()
        for b in BRACKET.finditer(s, i, j):
            if b.group() in '([{':
                stack.append((b.start(), b.group()))
            elif stack:
                stack.pop()
        if m is None:
            return 'code', stack, 0
        if s[j] == '#':
            k = s.find('\n', j)
            if k < 0:
                return 'comment', stack, j
            i = k
            continue
        q = s[j] * 3 if s.startswith(s[j] * 3, j) else s[j]
        sm = STRING[q].match(s, j)
        if sm.group(1) is None and sm.end() >= n:
            return 'string', stack, j
        i = max(sm.end(), j + 1)


def complete(code, cur, ns):
    """(start, end, [(text, kind, value)]) for the cursor at `cur`."""
    before = code[:cur]
    state, stack, at = lex(before)
    if state == 'comment':
        return cur, cur, []
    if state == 'string':
        return key_matches(before, at, ns, cur)
    m = ID_END.search(before)
    prefix = m.group() if m else ''
    if not prefix and WORD_END.search(before):  # in a number (1.5, 0x1f): nothing to offer
        return cur, cur, []
    start = cur - len(prefix)
    rest = before[:start]
    head = before[before.rfind('\n') + 1:]
    head = head[head.rfind(';') + 1:]
    m = FROM_NAME.match(head)
    if m:
        return start, cur, from_matches(m.group(1), prefix)
    m = FROM_MOD.match(head) or IMPORT.match(head)
    if m:
        pkg, _, pre = m.group(1).rpartition('.')
        return cur - len(pre), cur, module_matches(pkg, pre)
    d = DOT_END.search(rest)
    if d:
        c = CHAIN.search(rest, 0, d.start())
        o = MISSING if c is None else resolve(ns, c.group(1))
        return start, cur, [] if o is MISSING else attr_matches(o, prefix)
    found = []
    if stack and stack[-1][1] == '(':  # keyword arguments of the call, where an argument starts
        pos = stack[-1][0]
        args = before[pos + 1:start]
        c = CHAIN.search(before, 0, pos)
        if c is not None and (not args.strip() or args.rstrip().endswith(',')):
            found += param_matches(resolve(ns, c.group(1)), prefix, set(GIVEN.findall(args)))
    if not prefix and stack and stack[-1][1] == '[':  # d[ : its keys, quoted
        c = KEY_AT.search(rest)
        if c is not None:
            found += [(repr(k), 'key', MISSING) for k in keys_of(resolve(ns, c.group(1)))
                      if type(k) in (str, int)][:MAXM]
    return start, cur, found + name_matches(ns, prefix)


def key_matches(before, at, ns, cur):
    """d["ab| : the dictionary's string keys that start so, without their quotes."""
    typed = before[at + 1:]
    c = KEY_AT.search(before, 0, at)
    if c is None or before.startswith(before[at] * 3, at) or '\\' in typed:
        return cur, cur, []
    keys = [(k, 'key', MISSING) for k in keys_of(resolve(ns, c.group(1)))
            if type(k) is str and k.startswith(typed)]
    return cur - len(typed), cur, keys


def keys_of(d):
    if not issubclass(type(d), dict):  # a mapping of another kind answers only by running its code
        return []
    return list(dict.keys(d))[:100000]  # the stored keys, even of a dict subclass that overrides keys()


def visible(name, prefix):
    return type(name) is str and name.startswith(prefix) and (name[:1] != '_' or prefix[:1] == '_')


def name_matches(ns, prefix):
    found, seen = [], set()
    for d in (ns, BI.__dict__):
        for k in list(d):
            if k not in seen and visible(k, prefix):
                seen.add(k)
                v = d.get(k, MISSING)
                found.append((k, kind_of(v, 'variable'), v))
    return found + [(k, 'keyword', MISSING) for k in KEYWORDS if k.startswith(prefix) and k not in seen]


def kind_of(v, default):
    t = type(v)
    if issubclass(t, types.ModuleType):
        return 'module'
    if issubclass(t, type):
        return 'class'
    if callable(v):  # the type's call slot: nothing runs
        return 'function'
    return default


def mro(t):
    try:
        return TMRO(t)
    except Exception:
        return (t,)


def has(t, name):
    return any(name in TDICT(k) for k in mro(t))


def own(o):
    """The instance's own __dict__, through its class's __dict__ slot (a C getter), or None: a __dict__ that is
    something else (a property) is not read."""
    for k in mro(type(o)):
        d = TDICT(k).get('__dict__')
        if d is not None:
            if type(d) is not GETSET and type(d) is not MEMBER:
                return None
            try:
                r = d.__get__(o)
            except Exception:
                return None
            return r if type(r) is dict else None
    return None


def view(o):
    """(the instance's own __dict__ or None, the attributes its classes give it, nearest first)."""
    t = type(o)
    if issubclass(t, types.ModuleType):
        return own(o) or {}, {}
    attrs = {}
    for k in reversed(mro(o if issubclass(t, type) else t)):
        attrs.update(TDICT(k))
    return (None if issubclass(t, type) else own(o)), attrs


def attr_of(o, name, mine=None, attrs=None):
    """o.name as Python would find it, without running anything: (value, kind, known). `known` is False for an
    attribute whose value only running code gives (the value is then its descriptor); MISSING if there is none
    without __getattr__."""
    if attrs is None:
        mine, attrs = view(o)
    t = type(o)
    cv = attrs.get(name, MISSING)
    if issubclass(t, type):  # a class attribute: functions as they are, static and class methods unwrapped
        if cv is MISSING:
            return MISSING, None, False
        ct = type(cv)
        if ct is staticmethod:
            cv = cv.__func__
        elif ct is classmethod:
            return types.MethodType(cv.__func__, o), 'function', True
        elif ct not in (types.FunctionType,) + CMETHODS and has(ct, '__get__') and not issubclass(ct, type):
            return cv, 'property', False
        return cv, kind_of(cv, 'attribute'), True
    if cv is not MISSING and (has(type(cv), '__set__') or has(type(cv), '__delete__')):  # data descriptors win
        if type(cv) is MEMBER:  # a __slots__ slot: reading it is a pointer read
            try:
                v = cv.__get__(o, t)
            except Exception:
                return MISSING, None, False
            return v, kind_of(v, 'attribute'), True
        return cv, 'property', False
    if mine is not None and name in mine:
        v = mine.get(name, MISSING)
        return v, kind_of(v, 'attribute'), v is not MISSING
    if cv is MISSING:
        return MISSING, None, False
    ct = type(cv)
    if ct is types.FunctionType:
        return types.MethodType(cv, o), 'function', True
    if ct is staticmethod:
        return cv.__func__, kind_of(cv.__func__, 'function'), True
    if ct is classmethod:
        return types.MethodType(cv.__func__, t), 'function', True
    if ct in CMETHODS:  # list.append and the like: binding them is C
        try:
            return cv.__get__(o, t), 'function', True
        except Exception:
            return cv, 'function', False
    if has(ct, '__get__') and not issubclass(ct, type):  # cached_property, partialmethod, ...: code decides
        return cv, 'property', False
    return cv, kind_of(cv, 'attribute'), True


def attr_matches(o, prefix):
    mine, attrs = view(o)
    found = []
    for k in set(mine or ()) | set(attrs):
        if visible(k, prefix):
            v, kind, known = attr_of(o, k, mine, attrs)
            found.append((k, kind or 'attribute', v if known else MISSING))
    return found


def lookup(ns, chain):
    """The object a dotted name names in the context: (value, kind, known), as attr_of."""
    parts = re.sub(r'\s+', '', chain).split('.')
    v = ns.get(parts[0], MISSING)
    if v is MISSING:
        v = BI.__dict__.get(parts[0], MISSING)
    if v is MISSING:
        return MISSING, None, False
    kind, known = kind_of(v, 'variable'), True
    for p in parts[1:]:
        if not known:
            return MISSING, None, False
        v, kind, known = attr_of(v, p)
        if v is MISSING:
            return MISSING, None, False
    return v, kind, known


def resolve(ns, chain):
    v, _, known = lookup(ns, chain)
    return v if known else MISSING


def safe_callable(v, depth=0):
    """Whether inspect.signature can read v's signature without calling into user code (see the top)."""
    t = type(v)
    if t is types.MethodType:
        return safe_callable(v.__func__, depth)
    if t is types.FunctionType:
        w = v.__dict__.get('__wrapped__', None)  # functools.wraps: the chain is followed
        return w is None or (depth < 20 and safe_callable(w, depth + 1))
    if t in SAFE_FN:
        return True
    if issubclass(t, type):
        return not any(k is not type and k is not object and ('__getattr__' in TDICT(k) or
                       '__getattribute__' in TDICT(k)) for k in mro(t))
    return False


def signature(v):
    key = v.__func__ if type(v) is types.MethodType else v  # bound methods are made afresh each time
    k = (id(key), type(v) is types.MethodType)
    e = SIGS.get(k)
    if e is not None and e[0] is key:
        return e[1]
    text = None
    if safe_callable(v):
        try:
            text = sig_text(inspect.signature(v, **SIGARGS))
        except Exception:  # builtins without a text signature, odd callables
            pass
    if len(SIGS) > 8192:
        SIGS.clear()
    SIGS[k] = (key, text)
    return text


def sig_text(sig):
    """str(sig), with defaults shown by repr only when they are literals (any other repr is user code)."""
    P = inspect.Parameter
    parts, slash, star = [], False, True
    for p in sig.parameters.values():
        k = p.kind
        if k == P.POSITIONAL_ONLY:
            slash = True
        elif slash:
            parts.append('/')
            slash = False
        if k == P.VAR_POSITIONAL:
            star = False
        elif k == P.KEYWORD_ONLY and star:
            parts.append('*')
            star = False
        s = ('*' if k == P.VAR_POSITIONAL else '**' if k == P.VAR_KEYWORD else '') + p.name
        if p.annotation is not P.empty:
            s += ': ' + annotation(p.annotation)
        if p.default is not P.empty:
            s += (' = ' if p.annotation is not P.empty else '=') + value_text(p.default)
        parts.append(s)
    if slash:
        parts.append('/')
    r = '(%s)' % ', '.join(parts)
    if sig.return_annotation is not sig.empty:
        r += ' -> ' + annotation(sig.return_annotation)
    return r


def type_name(t):
    m = TDICT(t).get('__module__')
    q = TQUAL(t)
    return q if m == 'builtins' or type(m) is not str else '%s.%s' % (m, q)


def annotation(a):
    t = type(a)
    if t is str:
        return a
    if issubclass(t, type):
        return type_name(a)
    if TDICT(t).get('__module__') in ('typing', 'types', 'typing_extensions', 'collections.abc'):
        try:
            return repr(a).replace('typing.', '')
        except Exception:
            pass
    return '...'


def value_text(v, depth=0):
    t = type(v)
    try:
        if t in LIT or v is Ellipsis:
            r = repr(v)
        elif (t is tuple or t is list) and depth < 2 and len(v) <= 6:
            r = ', '.join(value_text(x, depth + 1) for x in v)
            r = '[%s]' % r if t is list else '(%s)' % (r + ',' if len(v) == 1 else r)
        elif issubclass(t, type) or t is types.FunctionType or t is types.BuiltinFunctionType:
            r = TQUAL(v) if issubclass(t, type) else v.__qualname__
        elif any(TQUAL(k) == 'Enum' and TDICT(k).get('__module__') == 'enum' for k in mro(t)):
            r = '%s.%s' % (TQUAL(t), (own(v) or {}).get('_name_'))
        else:
            r = '<%s>' % TQUAL(t)
    except Exception:
        r = '...'
    return r if len(r) <= 60 else r[:59] + '\u2026'


def param_matches(f, prefix, given):
    if f is MISSING or not safe_callable(f):
        return []
    try:
        sig = inspect.signature(f, **SIGARGS)
    except Exception:
        return []
    P = inspect.Parameter
    return [(p.name + '=', 'parameter', MISSING) for p in sig.parameters.values()
            if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY) and p.name.startswith(prefix)
            and p.name not in given]


def top_modules():
    """Top-level modules importable here: found once on sys.path (pkgutil), again when sys.path or one of its
    directories changed (a %pip install), and those already imported."""
    import pkgutil
    key = []
    for p in list(sys.path):
        try:
            key.append((p, os.stat(p or '.').st_mtime_ns))
        except (OSError, TypeError, ValueError):
            key.append((p, 0))
    if TOP[0] != key:
        names = set(sys.builtin_module_names)
        for mi in pkgutil.iter_modules():
            names.add(mi.name)
        TOP[:] = [key, names]
    return TOP[1] | {k for k in list(sys.modules) if type(k) is str and '.' not in k}


def package_path(name):
    """Where a package's submodules are, found without importing it (importing runs its code)."""
    from importlib.machinery import PathFinder
    path, parts = None, name.split('.')
    for i in range(len(parts)):
        full = '.'.join(parts[:i + 1])
        m = sys.modules.get(full)
        if m is not None:
            p = (own(m) or {}).get('__path__')
        else:
            spec = PathFinder.find_spec(full, path)
            p = None if spec is None else spec.submodule_search_locations
        if p is None:
            return None
        try:
            path = [x for x in list(p) if type(x) is str]
        except Exception:
            return None
    return path


def submodules(pkg):
    path = package_path(pkg)
    if not path:
        return set()
    key = tuple(path)
    if key not in SUBS:
        import pkgutil
        if len(SUBS) > 256:
            SUBS.clear()
        SUBS[key] = {mi.name for mi in pkgutil.iter_modules(path)}
    return SUBS[key]


def module_matches(pkg, pre):
    if pkg.startswith('.') or '..' in pkg:  # relative imports: where they point is the file's, not ours
        return []
    names = submodules(pkg) if pkg else top_modules()
    return [(n, 'module', MISSING) for n in names if visible(n, pre)]


def from_matches(mod, prefix):
    found = module_matches(mod, prefix)
    m = sys.modules.get(mod)
    if m is not None:  # what an imported module has; one not imported yet would have to run to tell
        seen = {f[0] for f in found}
        for k, v in list((own(m) or {}).items()):
            if k not in seen and visible(k, prefix):
                found.append((k, kind_of(v, 'variable'), v))
    return found


def order(item):
    text, kind, _ = item
    return (kind != 'parameter', kind != 'key', text.startswith('__'), text.startswith('_'), text.lower(), text)


def listed(found):
    """The protocol's matches: sorted, deduplicated, at most MAXM, signatures within the time budget."""
    found.sort(key=order)
    out, seen, t0 = [], set(), time.perf_counter()
    for text, kind, v in found:
        if text in seen:
            continue
        seen.add(text)
        d = {'text': text, 'kind': kind}
        if v is not MISSING and kind in ('function', 'class') and time.perf_counter() - t0 < BUDGET:
            s = signature(v)
            if s:
                d['signature'] = s
        out.append(d)
        if len(out) == MAXM:
            break
    return out


def document(code, cur, detail, ns):
    """The documentation of the name under the cursor (or of the call the cursor is in), as text; None if there
    is none."""
    before = code[:cur]
    state, stack, at = lex(before)
    if state != 'code':
        return None
    left = WORD_END.search(before)
    left = left.group() if left else ''
    word = left + WORD.match(code, cur).group()
    if word and not word[0].isdigit():
        chain, rest = word, before[:cur - len(left)]
        d = DOT_END.search(rest)
        if d:
            c = CHAIN.search(rest, 0, d.start())
            if c is None:
                return None
            chain = c.group(1) + '.' + word
    elif stack and stack[-1][1] == '(':
        c = CHAIN.search(before, 0, stack[-1][0])
        if c is None:
            return None
        chain = c.group(1)
    else:
        return None
    chain = re.sub(r'\s+', '', chain)
    if keyword.iskeyword(chain):
        return None
    v, kind, known = lookup(ns, chain)
    if v is MISSING:
        return None
    lines = []
    sig = signature(v) if known and kind in ('function', 'class') else None
    if sig:
        lines.append('Signature: %s%s' % (chain, sig))
    lines.append('Type:      %s' % type_name(type(v)))
    t = type(v)
    if known and (t in LIT or t in (list, tuple, dict, set, frozenset)):
        if t in (str, bytes, list, tuple, dict, set, frozenset):
            lines.append('Length:    %d' % len(v))
        if t in LIT:
            r = repr(v)
            lines.append('Value:     %s' % (r if len(r) <= 200 else r[:199] + '\u2026'))
    f = file_of(v)
    if f:
        lines.append('File:      %s' % f)
    doc = doc_of(v)
    lines.append('Docstring:\n' + doc if doc else 'Docstring: <no docstring>')
    if detail:
        src = source_of(v)
        if src:
            lines.append('Source:\n' + src)
    text = '\n'.join(lines)
    return text if len(text) <= MAXDOC else text[:MAXDOC - 1] + '\u2026'


def class_doc(c):
    for k in mro(c):
        if k is object:
            break
        d = TDICT(k).get('__doc__')
        if type(d) is str:
            return d
    return None


def doc_of(v):
    t = type(v)
    if t is types.MethodType:
        return doc_of(v.__func__)
    if t in DOC_SAFE:
        d = v.__doc__  # these types' __doc__ is a stored string
    elif issubclass(t, types.ModuleType):
        d = (own(v) or {}).get('__doc__')
    elif issubclass(t, type):
        d = class_doc(v)
    else:  # an instance: its class's
        d = class_doc(t)
    return inspect.cleandoc(d) if type(d) is str and d.strip() else None


def code_of(v):
    if type(v) is types.MethodType:
        v = v.__func__
    return v.__code__ if type(v) is types.FunctionType else None


def file_of(v):
    c = code_of(v)
    if c is not None:
        return c.co_filename
    t = type(v)
    if issubclass(t, types.ModuleType):
        f = (own(v) or {}).get('__file__')
        return f if type(f) is str else None
    if issubclass(t, type):
        m = sys.modules.get(TDICT(v).get('__module__'))
        f = (own(m) or {}).get('__file__') if m is not None else None
        return f if type(f) is str else None
    return None


def source_of(v):
    """A function's source (cells' too: linecache has them), or a module's file; read, never imported."""
    c = code_of(v)
    try:
        if c is not None:
            sync_linecache()
            lines = linecache.getlines(c.co_filename)
            if lines:
                return ''.join(inspect.getblock(lines[c.co_firstlineno - 1:]))
        elif issubclass(type(v), types.ModuleType):
            f = file_of(v)
            if f and f.endswith('.py'):
                with open(f, encoding='utf-8', errors='replace') as fh:
                    return fh.read(MAXDOC)
    except Exception:
        return None
    return None
'''
_CN = sys._getframe().f_lineno - 2 - _C.count('\n')  # its line numbers are this file's too
for _b in _B.split('\n\n\n'):
    exec(compile('\n' * _n + _b, '<runyard-agent>', 'exec'))
    _n += _b.count('\n') + 3
