# The door of a server (and the fleet gateway): Debian's haproxy, built where no registry serves the
# vendor's harbor.vastaitech.com/ai_deliver/haproxy image. No socat, as in the published haproxy image: the
# runtime API is reached with perl-base (vacc.qwen3.haproxy_server).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
LABEL org.opencontainers.image.title="vacc.qwen3 door" \
      org.opencontainers.image.description="Debian haproxy in front of vllm_vacc instances"
# SIGUSR1: a soft stop, in-flight requests finish; SIGUSR2 to PID 1 reloads the configuration.
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
