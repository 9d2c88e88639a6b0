#!/usr/bin/env python3
"""Relay-fd check for agent-host.sh: give xenvm-exec a socketpair end as fd 11 with PMI_FD=11,
as slurmstepd does under srun --mpi=pmi2, and talk PMI-1 style through it both ways."""
import os, socket, subprocess, sys

exe, sock = sys.argv[1], sys.argv[2]
a, b = socket.socketpair()
os.dup2(b.fileno(), 11)
b.close()
env = dict(os.environ, PMI_FD="11")
# In the guest: read a line from fd 11, answer on fd 11, report what fd 11 is.
script = ('read l <&11; echo "got:$l" >&11; '
          'case $(readlink /proc/self/fd/11) in socket:*) echo fd11=socket;; *) echo fd11=other;; esac')
p = subprocess.Popen([exe, "--socket", sock, "--", os.environ.get("RELAY_SH", "bash"), "-c", script], pass_fds=(11,), env=env,
                     stdout=subprocess.PIPE)
os.close(11)
a.sendall(b"cmd=init pmi_version=1\n")
a.settimeout(20)
reply = b""
while not reply.endswith(b"\n"):
    chunk = a.recv(4096)
    if not chunk:
        break
    reply += chunk
out, _ = p.communicate(timeout=20)
print(reply.decode().strip(), out.decode().strip())
sys.exit(p.returncode)
