# syntax=docker/dockerfile:1
# The service as one self-contained executable on a distroless base: no shell, no package
# manager, no runtime besides the one `bun build --compile` embeds.
#
#   docker build -t electric-ts .
#   docker run -e DATABASE_URL=... -e PG_PROXY_PASSWORD=... -p 5133:5133 electric-ts

# Dependencies come from npm so package-lock.json is honoured exactly (`npm ci`); Bun would
# only migrate the lock file, not verify it.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1 AS build
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The whole context, filtered by .dockerignore: package.json, bunfig.toml, src/, proto/ (which
# may be empty) and the rest, without a COPY that fails on a missing or empty directory.
COPY . .
RUN bun build --compile --minify --sourcemap src/main.ts --outfile /app/electric

# The executable links only glibc (checked with ldd); cc-debian12 provides it with libgcc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app/electric /electric
# HTTP/WebSocket, migrations proxy, logical replication publisher.
EXPOSE 5133 65432 5433
USER nonroot
ENTRYPOINT ["/electric"]
