"""A real single-node SLURM cluster on this host, for the SLURM path of tools/sweep.py.

    python -m tests.slurm_cluster    # start one, print the SLURM_CONF to export, stop it on Enter

Installs Debian's slurm-wlm and munge with apt-get when they are missing, writes a munge key and a minimal
slurm.conf into a work directory (own ports, sockets and state, so a real installation is left alone), starts
munged, slurmctld and slurmd in the foreground on loopback, and stops exactly those three processes by pid.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

PACKAGES = ["slurm-wlm", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "squeue", "sinfo", "scancel", "scontrol"]
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # daemons live in sbin


def which(name):
    return shutil.which(name, path=SEARCH_PATH)


def ensure_installed():
    """Install the packages when a program is missing. Returns None, or why they cannot be had."""
    if all(which(name) for name in DAEMONS + CLIENTS):
        return None
    if not which("apt-get"):
        return "slurm-wlm and munge are missing and there is no apt-get to install them"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:  # a stale package index is the usual cause: refresh it once
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        return f"{' '.join(install)} failed: {lines[-1]}"
    missing = [name for name in DAEMONS + CLIENTS if not which(name)]
    return f"installed {' '.join(PACKAGES)} but {', '.join(missing)} are still missing" if missing else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb():
    with open("/proc/meminfo") as f:
        total_kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return int(total_kb / 1024 * 0.9)  # slurmd drains a node that has less than it is said to have


class Cluster:
    def __init__(self, workdir):
        self.workdir = os.path.abspath(workdir)
        self.conf = os.path.join(self.workdir, "slurm.conf")
        self.munge_socket = os.path.join(self.workdir, "munge", "munge.socket")
        self.node = socket.gethostname()
        self.processes = []
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def write_munge_key(self):
        key = self.path("munge", "munge.key")
        if not os.path.exists(key):
            with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o400), "wb") as f:
                f.write(os.urandom(1024))
        return key

    def write_conf(self):
        lines = [
            "ClusterName=seqplugins",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={self.path('state')}",
            f"SlurmdSpoolDir={self.path('spool')}",
            f"SlurmctldPidFile={self.path('slurmctld.pid')}",
            f"SlurmdPidFile={self.path('slurmd.pid')}",
            f"SlurmctldLogFile={self.path('slurmctld.log')}",
            f"SlurmdLogFile={self.path('slurmd.log')}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "MailProg=/bin/true",
            "KillWait=5",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory_mb()} State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def spawn(self, name, args):
        log = open(self.path(f"{name}.out"), "ab")
        process = subprocess.Popen([which(name), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                   cwd=self.workdir)
        log.close()
        self.processes.append(process)
        return process

    def start(self, timeout=90):
        for sub in ("munge", "state", "spool"):
            os.makedirs(self.path(sub), mode=0o700, exist_ok=True)
        key = self.write_munge_key()
        self.write_conf()
        # --force: munged refuses a key below a world-writable directory such as /tmp otherwise
        self.spawn("munged", ["-F", "--force", f"--key-file={key}", f"--socket={self.munge_socket}",
                              f"--pid-file={self.path('munge', 'munged.pid')}",
                              f"--log-file={self.path('munge', 'munged.log')}",
                              f"--seed-file={self.path('munge', 'munged.seed')}"])
        self.wait_for(lambda: os.path.exists(self.munge_socket), "munged to open its socket", timeout)
        self.spawn("slurmctld", ["-D", "-i"])
        self.spawn("slurmd", ["-D", "-N", self.node])
        self.wait_for(lambda: self.node_state() == "idle", "the node to be idle in sinfo", timeout)

    def node_state(self):
        result = subprocess.run([which("sinfo"), "-h", "-n", self.node, "-o", "%T"], capture_output=True,
                                text=True, env=self.env)
        return result.stdout.strip().rstrip("*~#")

    def wait_for(self, condition, what, timeout):
        deadline = time.time() + timeout
        while not condition():
            dead = [p for p in self.processes if p.poll() is not None]
            if dead or time.time() > deadline:
                self.stop()
                reason = f"{os.path.basename(dead[0].args[0])} exited" if dead else f"timed out after {timeout}s"
                raise RuntimeError(f"waiting for {what}: {reason}; logs in {self.workdir}")
            time.sleep(0.5)

    def stop(self):
        """Cancel this cluster's jobs, then stop the daemons started here, newest first, by pid."""
        if any(p.poll() is None for p in self.processes[1:]):
            subprocess.run([which("scancel"), "--full", "--quiet", "--user", pwd.getpwuid(os.getuid()).pw_name],
                           env=self.env, capture_output=True)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes = []


if __name__ == "__main__":
    reason = ensure_installed()
    if reason:
        raise SystemExit(reason)
    import tempfile

    cluster = Cluster(tempfile.mkdtemp(prefix="slurm-"))
    cluster.start()
    try:
        input(f"cluster up: export SLURM_CONF={cluster.conf}\npress Enter to stop it ")
    finally:
        cluster.stop()
