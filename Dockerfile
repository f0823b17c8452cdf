# Heirloom: one container, everything it keeps in /data.
#
#   docker build -t heirloom .
#   docker run -d --name heirloom -p 8080:8080 -v heirloom-data:/data heirloom
#
# (or, easier, compose.yaml; see docs/install.md). The build downloads nothing but npm and Debian packages:
# better-sqlite3 is compiled here against the base image's own Node headers.
#
# Node 24 (LTS, supported until April 2028): better-sqlite3 12 supports it, and it is the newest LTS line
# our dependencies are known to work on. Node 20 reached its end of life in April 2026.

# ---- build: production dependencies, better-sqlite3, the browser bundle, the server as JavaScript ------
FROM node:24-bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# node-gyp uses the headers that ship with the image's Node (/usr/local/include/node) instead of
# downloading them; prebuild-install is told not to fetch a prebuilt binary from GitHub.
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

COPY package.json package-lock.json ./
# Only production dependencies: the browser build needs only esbuild and htmx.org, which are production
# dependencies. package.json's allowScripts lets better-sqlite3's and esbuild's install scripts run under
# npm 11; npm 10 runs them anyway.
RUN test -f /usr/local/include/node/node.h \
 && npm ci --omit=dev \
 && cd node_modules/better-sqlite3 \
 && find build -mindepth 1 -not -path build/Release -not -path build/Release/better_sqlite3.node -delete \
 && rm -rf deps src \
 && cd /app \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" \
 && npm cache clean --force

COPY . .
# The browser bundle, then the server, the admin CLI, the rescue tool and the migrations compiled from
# TypeScript to JavaScript in dist/ (scripts/build-server.mjs says how and why).
RUN npm run build \
 && npm run build:server \
 && test -f dist/server/main.js -a -f dist/scripts/admin.js -a -f dist/scripts/rescue.js \
 && chmod 0755 bin/*

# ---- runtime: compiled JavaScript, no compilers, no dev dependencies, not root --------------------------
FROM node:24-bookworm-slim

# tini (Debian's, the static build: no apt run needed in this stage) passes docker stop's SIGTERM on to the
# server and reaps zombies.
COPY --from=build /usr/bin/tini-static /usr/bin/tini

ENV NODE_ENV=production \
    HEIRLOOM_DATA_DIR=/data

WORKDIR /app
# The code stays owned by root, so the server cannot change it; only /data is writable for it. No
# TypeScript source comes along: bin/heirloom-admin and bin/heirloom-rescue run the compiled scripts.
COPY --from=build /app/package.json /app/package-lock.json /app/README.md ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/views views
COPY --from=build /app/public public
COPY --from=build /app/bin bin
COPY --from=build /app/docs docs
COPY --from=build /app/dist/ ./

# /data owned by `node` (uid 1000) and private to it (0700) before VOLUME, so a new named volume starts
# out writable for it and closed to everyone else. The two --help runs load every module the compiled code
# imports, so an image that could not start its tools fails to build.
RUN mkdir -p /data \
 && chown node:node /data \
 && chmod 0700 /data \
 && ln -s /app/bin/heirloom-admin /usr/local/bin/heirloom-admin \
 && ln -s /app/bin/heirloom-rescue /usr/local/bin/heirloom-rescue \
 && heirloom-admin --help >/dev/null \
 && heirloom-rescue --help >/dev/null

USER node
VOLUME /data
EXPOSE 8080

# /healthz answers 200 when the database does. Node's fetch, because slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEIRLOOM_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# tini (-s: also fine under `docker run --init` / compose's `init: true`) forwards SIGTERM to node, which
# closes connections and the database and exits. node runs the compiled server directly, not through npm,
# which would swallow signals.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "--enable-source-maps", "server/main.js"]
