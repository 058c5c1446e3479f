"""One sweep per results directory at a time.

A sweep holds ``<sweep dir>/sweep.lock`` while it plans, submits and waits: a JSON file naming the host, the pid,
the process's start time and when the sweep began. A second sweep on the same directory refuses in one line naming
that holder, or with ``--wait`` waits until the directory is free.

What it relies on, so that it also holds on a SLURM cluster's shared file system (NFS v3 or later, Lustre, GPFS):
- creating a file with ``O_CREAT | O_EXCL`` is atomic: of two sweeps, exactly one creates the lock;
- ``rename`` within a directory is atomic: of two sweeps taking over the same stale lock, one moves it aside;
- the holder's heartbeat, rewriting the lock's modification time every ``HEARTBEAT_S`` seconds, is visible to
  other hosts. Ages are measured on the file server's clock (against the time stamp of a file written just
  before), so the hosts' clocks need not agree.

A lock is stale, and is taken over with one line saying so, when its holder ran on this host and its process is
gone (or its pid now belongs to another process), or, from another host, when its heartbeat is older than
``STALE_AFTER_S`` seconds.
"""
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid

LOCK = "sweep.lock"
HEARTBEAT_S = 30
STALE_AFTER_S = 300
POLL_S = 5


def process_start(pid):
    """The kernel's start time of a process (clock ticks since boot), or None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return start is None or process_start(pid) in (None, start)


def describe(holder):
    return f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, started {holder.get('started', '?')}"


class SweepLock:
    def __init__(self, directory, wait=False, poll_s=POLL_S, stale_after_s=STALE_AFTER_S, heartbeat_s=HEARTBEAT_S):
        self.directory, self.path = directory, os.path.join(directory, LOCK)
        self.wait, self.poll_s, self.stale_after_s, self.heartbeat_s = wait, poll_s, stale_after_s, heartbeat_s
        self.token = uuid.uuid4().hex
        self.stop = threading.Event()
        self.heartbeat = None

    def __enter__(self):
        self.acquire()
        self.heartbeat = threading.Thread(target=self.beat, daemon=True)
        self.heartbeat.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.heartbeat.join()
        if self.read(self.path).get("token") == self.token:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def acquire(self):
        from seq_cli import UsageError

        waiting = False
        while True:
            if self.create():
                return
            holder = self.read(self.path)
            why = self.stale(holder)
            if why:
                self.take_over(holder, why)
            elif self.wait:
                if not waiting:
                    print(f"sweep: waiting for {self.directory}, in use by another sweep ({describe(holder)})",
                          file=sys.stderr)
                    waiting = True
                time.sleep(self.poll_s)
            else:
                raise UsageError(f"{self.directory} is in use by another sweep ({describe(holder)}); "
                                 f"--wait to wait for it, or use another --name")

    def create(self):
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "process_start": process_start(os.getpid()),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "token": self.token}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(holder) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return True

    @staticmethod
    def read(path):
        """The holder a lock file names; {} if it is gone or not yet written in full."""
        try:
            with open(path) as lock:
                return json.loads(lock.read())
        except (OSError, ValueError):
            return {}

    def age(self):
        """Seconds since the lock was last written, on the file server's clock."""
        probe = os.path.join(self.directory, f".{LOCK}.probe-{self.token}")
        with open(probe, "w"):
            pass
        try:
            return os.stat(probe).st_mtime - os.stat(self.path).st_mtime
        except FileNotFoundError:
            return 0.0
        finally:
            os.remove(probe)

    def stale(self, holder):
        """Why the lock's holder is gone, or None while it may be alive."""
        if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
            if not process_alive(holder["pid"], holder.get("process_start")):
                return "its process is gone"
            return None
        age = self.age()
        if age > self.stale_after_s:
            return f"no heartbeat for {age:.0f} s"
        return None

    def take_over(self, holder, why):
        """Move the stale lock aside; if what was moved is not the lock judged stale (another sweep took it over
        in between and holds a fresh one), put it back."""
        aside = f"{self.path}.stale-{self.token}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another sweep moved it first
        moved = self.read(aside)
        if holder and moved.get("token") != holder.get("token"):
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)  # only if no newer lock exists
            os.remove(aside)
            return
        os.remove(aside)
        print(f"sweep: took over the lock of {self.directory} from a sweep that is no longer running "
              f"({describe(holder)}: {why})", file=sys.stderr)

    def beat(self):
        while not self.stop.wait(self.heartbeat_s):
            with contextlib.suppress(OSError):
                os.utime(self.path)
