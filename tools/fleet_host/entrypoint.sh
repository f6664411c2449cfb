#!/bin/sh
# The job of PID 1 (docker-init, `docker run --init`) in a fleet lab host: sshd in the foreground.
# No systemd: the host runs nothing else; its engines are sibling containers on the machine's engine.
set -eu
# A host key of its own for each host, made at its first start (never baked into the shared image).
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e
