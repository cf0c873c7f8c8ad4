//! How the Python agent reaches a host that has nothing of Runyard's: a
//! bootstrap small enough for a command line reads the agent from stdin,
//! then forks a watchdog that outlives nothing.
//!
//! The manager writes a preamble before any frame: a line `HEADER_LEN
//! SOURCE_LEN\n`, the header (node name, init token, then `NAME=VALUE`
//! environment entries, NUL-separated), then the agent's source. The
//! token and the environment travel there, not on the remote command line,
//! which every user of that host can read.
//!
//! The bootstrap forks: the child runs the agent; the parent becomes the
//! watchdog, a child subreaper (through ctypes, where the host has it) that
//! waits for the agent to end or for the connection to go (its copy of
//! stdout reports a hang-up once sshd or slurmstepd closes the other end),
//! and then kills the agent's process group and everything left below it,
//! including processes that called `setsid()`. Runyard's own supervisor
//! cannot be delivered to a host of unknown architecture; this is its
//! stand-in there (see docs/remote.md).

/// The bootstrap, run as `python3 -c BOOTSTRAP`. No single quotes, so that
/// it can be single-quoted for a remote shell as it is.
pub const BOOTSTRAP: &str = r#"import os,sys
def r(n):
 b=b""
 while len(b)<n:
  c=os.read(0,n-len(b))
  if not c:os._exit(0)
  b+=c
 return b
h=b""
while h[-1:]!=b"\n":h+=r(1)
a,n=map(int,h.split())
f=r(a).decode().split("\0")
s=r(n)
sys.argv=["-c",f[0],f[1]]
for e in f[2:]:
 k,_,v=e.partition("=");os.environ[k]=v
 if k=="PYTHONPATH":sys.path[1:1]=[x for x in v.split(os.pathsep) if x]
os.environ.pop("RUNYARD_CAPTURE",None)
p=os.fork()
if not p:
 del r,h,a,n,f
 exec(compile(s,"<runyard agent>","exec"))
 os._exit(0)
os.close(0)
import select,time,_signal
q,w=os.pipe();os.set_blocking(w,False)
_signal.signal(_signal.SIGCHLD,lambda*x:None);_signal.set_wakeup_fd(w)
try:
 import ctypes;ctypes.CDLL(None).prctl(36,1,0,0,0)
except Exception:pass
P=select.poll();P.register(1,0);P.register(q,select.POLLIN)
st=None
while 1:
 try:x,y=os.waitpid(p,os.WNOHANG)
 except ChildProcessError:x,y=p,0
 if x:st=y;break
 if any(d==1 for d,v in P.poll()):break
 os.read(q,4096)
def kids():
 m=str(os.getpid());o=[]
 try:
  for d in os.listdir("/proc"):
   if d.isdigit():
    try:
     t=open("/proc/"+d+"/stat").read()
     if t[t.rindex(")")+2:].split()[1]==m:o.append(int(d))
    except (OSError,ValueError,IndexError):pass
 except OSError:pass
 return o
try:os.killpg(p,9)
except OSError:pass
for i in range(100):
 k=kids()
 if not k:break
 for c in k:
  for f in (os.killpg,os.kill):
   try:f(c,9)
   except OSError:pass
 while 1:
  try:x,y=os.waitpid(-1,os.WNOHANG)
  except ChildProcessError:break
  if not x:break
  if x==p and st is None:st=y
 time.sleep(0.05)
if st is None:os._exit(255)
os._exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128+os.WTERMSIG(st))
"#;

/// What the manager writes to the bootstrap's stdin before any frame. The
/// environment is set before the agent runs, so it reaches the code and what
/// it starts; of the interpreter's start-up variables only `PYTHONPATH` is
/// applied by hand (to `sys.path`), the others were read before.
pub fn preamble(node: &str, token: &str, env: &[(String, String)], source: &str) -> Vec<u8> {
    let mut header = vec![node.to_string(), token.to_string()];
    header.extend(
        env.iter()
            .filter(|(name, value)| !name.contains('\0') && !value.contains('\0'))
            .map(|(name, value)| format!("{name}={value}")),
    );
    let header = header.join("\0");
    let mut out = format!("{} {}\n", header.len(), source.len()).into_bytes();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(source.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_can_be_single_quoted() {
        assert!(!BOOTSTRAP.contains('\''));
    }

    #[test]
    fn the_preamble_counts_bytes_not_characters() {
        let env = [("GREETING".to_string(), "grüße".to_string())];
        let preamble = preamble("python-x", "tok", &env, "print('é')\n");
        let text = String::from_utf8(preamble).unwrap();
        let (line, rest) = text.split_once('\n').unwrap();
        let (a, n) = line.split_once(' ').unwrap();
        let (a, n): (usize, usize) = (a.parse().unwrap(), n.parse().unwrap());
        assert_eq!(&rest.as_bytes()[..a], "python-x\0tok\0GREETING=grüße".as_bytes());
        assert_eq!(&rest.as_bytes()[a..a + n], "print('é')\n".as_bytes());
        assert_eq!(rest.len(), a + n);
    }
}
