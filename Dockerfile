# syntax=docker/dockerfile:1
# Alpes in a small image: the admin app is built with Node.js, the binary with Rust
# (the app embedded in it), and the runtime image holds only the binary, running as a
# user without privileges.
#
#   docker build -t alpes --build-arg ALPES_GIT_REVISION=$(git rev-parse --short=12 HEAD) .
#   docker run -p 8000:8000 -v alpes-data:/data alpes

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
COPY schema.graphql /src/schema.graphql
RUN npm run build

FROM rust:1-bookworm AS build
ARG ALPES_GIT_REVISION=
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
# The admin app was built in the stage above: build.rs embeds web/dist as it is.
ENV ALPES_SKIP_WEB_BUILD=1 ALPES_GIT_REVISION=${ALPES_GIT_REVISION}
RUN cargo build --release --locked -p alpes && strip target/release/alpes

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin alpes \
    && mkdir -p /data && chown alpes /data
COPY --from=build /src/target/release/alpes /usr/local/bin/alpes
USER alpes
WORKDIR /data
ENV ALPES_ADDR=0.0.0.0:8000 ALPES_DATA_DIR=/data ALPES_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8000
# The binary answers its own health check (no curl in the image).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["alpes", "health", "--url", "http://127.0.0.1:8000/ready"]
ENTRYPOINT ["alpes"]
CMD ["serve"]
