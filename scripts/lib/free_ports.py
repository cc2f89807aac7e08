#!/usr/bin/env python3
"""free_ports.py N: print N distinct TCP ports free on 127.0.0.1, space separated.

Picked below the kernel's ephemeral port range (ip_local_port_range), so that the local port of
some outgoing connection cannot take a stopped service's port before it is started again; each
is checked by binding it (all are held until all are chosen). Falls back to binding port 0.
"""
import random
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
held, ports = [], []
cands = list(range(20000, max(20001, lo)))
random.shuffle(cands)
for p in cands[:2000]:
    if len(ports) == n:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(p)
while len(ports) < n:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
    ports.append(s.getsockname()[1])
print(" ".join(map(str, ports)))
