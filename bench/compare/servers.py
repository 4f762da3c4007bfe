"""The servers under comparison, each a small class: start on loopback ports,
say which workloads it can serve, report its root pid, stop.

Every server runs in its own session (process group) so that stopping it
reaches every process it forked, and nothing is left behind.
"""

import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
MAIL_DOMAIN = "example.test"  # every test address is in this domain


def free_port():
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_greeting(port, proc=None, deadline_s=20.0):
    """Until the port answers with a 220 greeting; the server is then ready to
    accept (for ringmx this follows its event=ready log line). Fails at once
    if the server process has exited."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before "
                               f"answering on {HOST}:{port}")
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                line = s.recv(512)
                if line.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last = line
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"no 220 greeting on {HOST}:{port} within {deadline_s}s ({last!r})")


def _raise_nofile():
    """Room for the idle-connection test (tens of thousands of sockets). The
    hard limit can be raised only with CAP_SYS_RESOURCE; otherwise the soft
    limit goes up to the hard one. Runs in the child before exec."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(hard, NOFILE)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


NOFILE = 131072


class Server:
    name = "?"
    # protocol -> port, filled by start(); "smtp", "lmtp", "starttls".
    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.ports = {}

    def serves(self, workload):
        return workload.protocol_key() in self.offered()

    def offered(self):
        raise NotImplementedError

    @property
    def pid(self):
        return self.proc.pid

    def _spawn(self, argv, log_name, **kw):
        self.log_name = log_name
        log = open(os.path.join(self.workdir, log_name), "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_raise_nofile, **kw)
        log.close()

    def log_tail(self, lines=3):
        path = os.path.join(self.workdir, self.log_name)
        try:
            with open(path, errors="replace") as f:
                return " | ".join(l.strip() for l in f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Forked workers (Postfix) may outlive the root for a moment.
        for _ in range(100):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class SmtpSink(Server):
    """Postfix's smtp-sink: a single process that answers every command and
    throws the message away. The reference for ringmx in discard mode. It
    speaks SMTP or LMTP (-L) per instance, and has no TLS."""

    name = "smtp-sink"

    def __init__(self, workdir, lmtp=False, backlog=4096):
        super().__init__(workdir)
        self.lmtp = lmtp
        self.backlog = backlog

    def offered(self):
        return {"lmtp"} if self.lmtp else {"smtp"}

    def start(self):
        port = free_port()
        # -m: sessions served at once (default 256; the burst and the idle
        # test hold thousands).
        argv = ["smtp-sink", "-u", "nobody", "-h", f"sink.{MAIL_DOMAIN}", "-m", "60000"]
        if self.lmtp:
            argv.append("-L")
        argv += [f"{HOST}:{port}", str(self.backlog)]
        self._spawn(argv, "smtp-sink.log")
        self.ports = {("lmtp" if self.lmtp else "smtp"): port}
        wait_greeting(port, self.proc)


# Postfix daemons needed to receive and queue; chroot off (column 5 'n') so
# no copy of /etc is needed under the queue directory.
POSTFIX_MASTER_CF = """\
{smtp_bind} inet n - n - - smtpd
{tls_bind} inet n - n - - smtpd -o smtpd_tls_security_level=may
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

# A private instance: its own config, queue and data directories, loopback
# only. Mail for example.test is accepted, written to the queue (cleanup
# fsyncs the queue file before smtpd answers 250) and then put ON HOLD by
# smtpd_data_restrictions, so the queue manager never delivers it: what is
# measured is receive + queue write + fsync, the same work ringmx's spool
# does before its 250, and no delivery work ringmx does not do. Nothing can
# leave the machine: held mail is never scheduled, and every transport is
# discard: anyway. Logging goes to a file through postlogd, as Postfix logs
# in production (one line per event, like ringmx's logfmt on stderr).
POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.{domain}
mydomain = {domain}
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination = {domain}, localhost
local_recipient_maps =
alias_maps =
alias_database =
local_transport = discard:
default_transport = discard:
relay_transport = discard:
smtpd_data_restrictions = check_client_access static:HOLD
syslog_name = postfix-compare
maillog_file_prefixes = {root}
maillog_file = {data}/maillog
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = none
# As ringmx's session.data.limits.size default, so 10 MiB messages fit.
message_size_limit = 104857600
"""


class Postfix(Server):
    """A real Postfix (Debian's 3.7) as a private instance in a temporary
    directory; /etc/postfix and port 25 are never touched. Two smtpd
    listeners: plain, and one offering STARTTLS (security level may)."""

    name = "postfix"

    def __init__(self, workdir, cert, key):
        super().__init__(workdir)
        self.cert, self.key = cert, key

    def offered(self):
        return {"smtp", "starttls"}

    def _make_dirs(self, root):
        # What `postfix set-permissions create-missing` would make, done here
        # directly so a start costs milliseconds and reads no default main.cf.
        pf = pwd.getpwnam("postfix")
        etc, queue, data = (os.path.join(root, d) for d in ("etc", "queue", "data"))
        os.makedirs(etc)
        os.makedirs(data)
        os.chmod(root, 0o755)  # the postfix user must reach its queue
        os.chown(data, pf.pw_uid, 0)
        for sub in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                    "incoming", "saved", "trace", "private"):
            path = os.path.join(queue, sub)
            os.makedirs(path, 0o700)
            os.chown(path, pf.pw_uid, 0)
        for sub, mode in (("maildrop", 0o730), ("public", 0o710)):
            path = os.path.join(queue, sub)
            os.makedirs(path)
            os.chmod(path, mode)
            shutil.chown(path, "postfix", "postdrop")
        os.makedirs(os.path.join(queue, "pid"), 0o755)
        return etc, queue, data

    def start(self):
        root = os.path.join(self.workdir, f"postfix-{time.monotonic_ns()}")
        etc, queue, data = self._make_dirs(root)
        self.root, self.queue = root, queue
        smtp, tls = free_port(), free_port()
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN_CF.format(etc=etc, queue=queue, data=data, root=root,
                                           domain=MAIL_DOMAIN, cert=self.cert, key=self.key))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(smtp_bind=f"{HOST}:{smtp}", tls_bind=f"{HOST}:{tls}"))
        # -d: stay in the foreground, so this process is the tree's root.
        self._spawn(["/usr/lib/postfix/sbin/master", "-c", etc, "-d"], "postfix-master.log")
        self.ports = {"smtp": smtp, "starttls": tls}
        wait_greeting(smtp, self.proc)
        wait_greeting(tls, self.proc)

    def queued(self):
        """Messages now in the hold queue (each one durable on disk)."""
        count = 0
        for _, _, files in os.walk(os.path.join(self.queue, "hold")):
            count += len(files)
        return count

    def stop(self):
        super().stop()
        if getattr(self, "root", None):
            shutil.rmtree(self.root, ignore_errors=True)


RINGMX_CONFIG = """\
[server]
hostname = "ringmx.{domain}"
shards = {shards}
connection-steering = "{steering}"
# Above the default 8192, for the idle-connection test.
max-connections = 100000

[server.listener."smtp"]
bind = "{host}:{smtp}"
{backlog}

[server.listener."lmtp"]
bind = "{host}:{lmtp}"
protocol = "lmtp"

[server.listener."submission"]
bind = "{host}:{tls}"
tls.enable = true
tls.certificate = "bench"

[certificate."bench"]
cert = "file://{cert}"
private-key = "file://{key}"

[session]
# Above the default 250 MB per session: bulk runs send many 10 MiB messages
# over one session (Postfix has no such limit).
transfer-limit = 1099511627776

[session.data.limits]
# smtp-source -d sends every message of a sender thread over one session.
messages = {max_messages}

[delivery]
mode = "{mode}"

[spool]
path = "{spool}"
"""


class Ringmx(Server):
    """ringmx with one listener per protocol. mode "discard" is compared with
    smtp-sink, mode "spool" (write + fsync before 250) with Postfix."""

    def __init__(self, workdir, binary, mode, cert, key, shards=0, max_messages=1000000,
                 backlog=None, steering="cpu"):
        super().__init__(workdir)
        self.steering = steering
        self.backlog = backlog
        self.binary, self.mode = binary, mode
        self.cert, self.key = cert, key
        self.shards, self.max_messages = shards, max_messages
        self.name = f"ringmx-{mode}"

    def offered(self):
        return {"smtp", "lmtp", "starttls"}

    def start(self):
        root = os.path.join(self.workdir, f"{self.name}-{time.monotonic_ns()}")
        os.makedirs(root)
        self.root = root
        ports = {"smtp": free_port(), "lmtp": free_port(), "starttls": free_port()}
        config = os.path.join(root, "ringmx.toml")
        with open(config, "w") as f:
            f.write(RINGMX_CONFIG.format(
                domain=MAIL_DOMAIN, host=HOST, shards=self.shards, steering=self.steering,
                smtp=ports["smtp"],
                lmtp=ports["lmtp"], tls=ports["starttls"], cert=self.cert, key=self.key,
                max_messages=self.max_messages, mode=self.mode,
                backlog=f"socket.backlog = {self.backlog}" if self.backlog else "",
                spool=os.path.join(root, "spool")))
        self._spawn([self.binary, "--config", config], f"{self.name}.log", cwd=root)
        self.ports = ports
        for port in ports.values():
            wait_greeting(port, self.proc)

    def stop(self):
        super().stop()
        if getattr(self, "root", None):
            shutil.rmtree(self.root, ignore_errors=True)


def make_cert(workdir, kind="ec"):
    """A self-signed certificate for both TLS servers: kind "ec" is ECDSA
    P-256, "rsa" is RSA 2048."""
    prefix = "" if kind == "ec" else f"{kind}-"
    cert = os.path.join(workdir, f"{prefix}cert.pem")
    key = os.path.join(workdir, f"{prefix}key.pem")
    newkey = {"ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
              "rsa": ["-newkey", "rsa:2048"]}[kind]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "2", "-subj",
                    f"/CN=mx.{MAIL_DOMAIN}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)  # Postfix reads it as root, ringmx may run as anyone
    return cert, key
