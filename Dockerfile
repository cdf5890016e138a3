# A Numax node, built from the packed runtime (docs/install.md#container):
#   npm pack && docker build -t numax .
#   docker run -v "$PWD/app.wasm:/app/app.wasm:ro" -v numax-data:/data -p 9101:9101 numax \
#     run /app/app.wasm --listen 0.0.0.0:9101 --tls-cert ... --tls-key ... --tls-ca ...
# test/install/dockerfile.test.ts checks the properties below (and builds it where docker runs).
FROM node:26-slim

COPY numax-*.tgz /tmp/
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/numax-*.tgz \
  && rm /tmp/numax-*.tgz \
  && npm cache clean --force \
  && mkdir /data \
  && chown node:node /data

# The store lives on a volume; /ready is served on all interfaces for the health check (and
# for an orchestrator's readiness probe).
ENV NX_DATASTORE_PATH=/data \
  NX_OBSERVABILITY_LISTEN=0.0.0.0:9100
VOLUME ["/data"]
EXPOSE 9100

# The official image's unprivileged user.
USER node
WORKDIR /home/node

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.NX_OBSERVABILITY_LISTEN.split(':').pop() + '/ready', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form: numax is PID 1 and receives `docker stop`'s SIGTERM itself (a shell would not pass
# it on), shutting down gracefully within --shutdown-timeout (30 s by default, docker stop's
# default grace is 10 s: pass `docker stop -t 40`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["numax"]
CMD ["--help"]
