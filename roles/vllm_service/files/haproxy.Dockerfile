# The load balancer of a multi-instance service: Debian's haproxy, built where no registry serves
# the vendor's harbor.vastaitech.com/ai_deliver/haproxy image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
LABEL org.opencontainers.image.title="vacc.qwen3 load balancer" \
      org.opencontainers.image.description="Debian haproxy in front of vllm_vacc instances"
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
